"""The two final-put paths of mm/swap.c (v5.12): put_page -> __put_page, and release_pages.

Where the final put sends a page is what the schemes disagree on.  The kernel has two
doors to the free path, and a design must watch both:

- `put_page` -> `__put_page` -> `__put_single_page` (one page; the scheme's
  `put_page_route` is asked first);
- `release_pages`, the batched path munmap (mmu_gather -> `tlb_batch_pages_flush` ->
  `free_pages_and_swap_cache`) and truncate (`pagevec_release`) take: it runs
  `put_page_testzero` itself, takes pages off the LRU, uncharges the batch with
  `mem_cgroup_uncharge_list` and frees it with `free_unref_page_list`, and never calls
  `__put_page` (the scheme's `release_page_route`, Johannes's `__release_page`, is asked).

Both end in `free_unref_page`: the page allocator's `free_pages_prepare`.
"""

from __future__ import annotations

from typing import Final

from stress.anomalies import Kind
from stress.memory.layout import FLAGS, PAGE_WORDS, PP
from stress.model import flags as F
from stress.model import page_pool
from stress.model.lru import del_page_from_lru_list
from stress.model.machine import Machine, Op
from stress.model.memcontrol import mem_cgroup_uncharge
from stress.model.page_alloc import free_pages_prepare
from stress.model.page_ref import put_page_testzero


def mark_page_accessed(m: Machine, p: int) -> None:
    """mm/swap.c (v5.12) mark_page_accessed, as filemap_read (mm/filemap.c) calls it on a
    page it holds a reference to but not the lock: the first access sets PG_referenced,
    the next one activates the page and clears PG_referenced again.  The model keeps no
    active list, so activation (PG_active, set at the pagevec's drain) is left out and the
    page keeps going round.  Lockless flag writes beside the page lock's: why every flag
    write is an atomic bitop."""
    if not F.test_page_flag(m, p, F.PG_referenced):
        F.set_page_flag(m, p, F.PG_referenced)
        set_it = 1
    elif not F.test_page_flag(m, p, F.PG_unevictable) and not F.test_page_flag(m, p, F.PG_active):
        F.clear_page_flag(m, p, F.PG_referenced)
        set_it = 0
    else:
        return
    if m.tracing:
        m.trace(Op.mark_page_accessed, p, 0, 0, set_it, 0)


def put_page(m: Machine, p: int) -> None:
    """Drop a reference; the final put, whoever makes it, runs `__put_page`."""
    if put_page_testzero(m, p):
        __put_page(m, p)


def __put_page(m: Machine, p: int) -> None:
    """The free path at refcount 0: the scheme may take the page; else the allocator does."""
    if not m.scheme.put_page_route(m, p):
        __put_single_page(m, p)


_ACTIVE_UNEVICTABLE: Final = 1 << F.PG_active | 1 << F.PG_unevictable


def __page_cache_release(m: Machine, p: int, op: str) -> None:
    """Off the LRU (mm/swap.c): the LRU flags go only with PG_lru, PG_waiters always.

    A PageLRU page leaves its list first (del_page_from_lru_list: list_del on lru.next).

    __clear_page_lru_flags (include/linux/mm_inline.h, 5.12) runs under
    `if (PageLRU(page))`: a page that is not on an LRU keeps PG_active or PG_unevictable,
    and free_pages_prepare calls it bad.  It clears PG_lru, then, "this shouldn't happen,
    so leave the flags to bad_page()", keeps PG_active and PG_unevictable when both are set.
    """
    slot = m.pages + p * PAGE_WORDS + FLAGS
    clear = 1 << F.PG_waiters
    flags = m.mem.load(slot)
    if flags & 1 << F.PG_lru:
        del_page_from_lru_list(m, p, op)
        clear |= 1 << F.PG_lru
        if flags & _ACTIVE_UNEVICTABLE != _ACTIVE_UNEVICTABLE:
            clear |= _ACTIVE_UNEVICTABLE
    m.mem.fetch_and(slot, ~clear)  # one atomic: nobody else touches a page at refcount 0


def __put_single_page(m: Machine, p: int) -> None:
    """mm/swap.c (5.12): __page_cache_release, mem_cgroup_uncharge, free_unref_page."""
    __page_cache_release(m, p, "__put_page")
    mem_cgroup_uncharge(m, p)
    free_unref_page(m, p, "__put_page")


def release_pages(m: Machine, pages: list[int]) -> None:
    """Drop one reference on each page; free those that reach 0, as one batch.

    mm/swap.c (5.12) release_pages: put_page_testzero on each; at 0, PageLRU pages leave
    the LRU (del_page_from_lru_list, __clear_page_lru_flags), __ClearPageWaiters, and the
    page joins pages_to_free; then mem_cgroup_uncharge_list and free_unref_page_list.
    `__put_page` is never called: a scheme that routes pages must say so here too
    (`release_page_route`, Johannes's "__release_page()").
    """
    to_free: list[int] = []
    for p in pages:
        if not put_page_testzero(m, p):
            continue
        if m.tracing:
            m.trace(Op.release_pages, p, 1, 0, 1, len(pages))
        if m.scheme.release_page_route(m, p):
            continue
        __page_cache_release(m, p, "release_pages")
        to_free.append(p)
    for p in to_free:  # mem_cgroup_uncharge_list
        mem_cgroup_uncharge(m, p)
    for p in to_free:  # free_unref_page_list
        free_unref_page(m, p, "release_pages")


def free_unref_page(m: Machine, p: int, op: str) -> None:
    """An order-0 page at refcount 0 to the page allocator (free_unref_page[_list]).

    A page-pool page that gets here unreleased is still counted in flight by its pool.
    From v6.8, with the page checks on, free_pages_prepare calls it bad ("page_pool
    leak"); otherwise the kernel frees it silently and the harness says so.
    """
    base = m.pages + p * PAGE_WORDS
    pp = m.mem.load(base + PP)
    if pp and not m.pool_page_checked_at_free:
        if m.tracing:
            m.trace(Op.misroute, p, 0, 0, 0, pp)
        m.report(Kind.MISROUTED_FREE, p, op, refcount=0,
                 reason=f"page-pool page reached the page allocator through {op}",
                 pool=page_pool.pp_pool(pp),
                 says="the kernel frees it silently: its pool still counts it in flight and "
                      "page_pool_release_retry warns \"stalled pool shutdown\" forever")
        m.mem.store(base + PP, 0)
    free_pages_prepare(m, p, op)
