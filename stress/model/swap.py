"""put_page and the free path's routing (mm/swap.c: __put_page, __put_single_page).

Where the final put sends a page is what the schemes disagree on: `__put_page`
asks the scheme (`Scheme.put_page_route`); everything after is the page
allocator's `free_pages_prepare`.
"""

from __future__ import annotations

from stress.anomalies import Kind
from stress.memory.layout import FLAGS, PAGE_WORDS, PP
from stress.model import flags as F
from stress.model import page_pool
from stress.model.machine import Machine, Op
from stress.model.memcontrol import mem_cgroup_uncharge
from stress.model.page_alloc import free_pages_prepare
from stress.model.page_ref import put_page_testzero


def put_page(m: Machine, p: int) -> None:
    """Drop a reference; the final put, whoever makes it, runs `__put_page`."""
    if put_page_testzero(m, p):
        __put_page(m, p)


def __put_page(m: Machine, p: int) -> None:
    """The free path at refcount 0: the scheme may take the page; else the allocator does."""
    if not m.scheme.put_page_route(m, p):
        __put_single_page(m, p)


def __page_cache_release(m: Machine, p: int) -> None:
    """Off the LRU (mm/swap.c): the LRU flags go only with PG_lru, PG_waiters always.

    __clear_page_lru_flags runs under `if (PageLRU(page))`: a page that is not on an
    LRU keeps PG_active or PG_unevictable, and free_pages_prepare calls it bad.
    """
    slot = m.pages + p * PAGE_WORDS + FLAGS
    clear = 1 << F.PG_waiters
    if m.mem.load(slot) & 1 << F.PG_lru:
        clear |= F.LRU_FLAGS
    m.mem.fetch_and(slot, ~clear)  # one atomic: nobody else touches a page at refcount 0


def __put_single_page(m: Machine, p: int) -> None:
    __page_cache_release(m, p)
    mem_cgroup_uncharge(m, p)
    base = m.pages + p * PAGE_WORDS
    pp = m.mem.load(base + PP)
    if pp and not m.pool_page_checked_at_free:
        # The allocator does not look, but the pool still counts this page in flight.
        if m.tracing:
            m.trace(Op.misroute, p, 0, 0, 0, pp)
        m.report(Kind.MISROUTED_FREE, p, "__put_page", refcount=0,
                 reason="page-pool page reached the page allocator through put_page",
                 pool=page_pool.pp_pool(pp))
        m.mem.store(base + PP, 0)
    free_pages_prepare(m, p, "__put_page")
