"""The network page pool (net/core/page_pool.c), shared by every scheme.

A pool hands pages to its driver from the owner's alloc cache, then its
ptr_ring, then the page allocator.  Pages come back two ways: the explicit
`page_pool_put_page` (refcount 1 means the pool owns it: 5.12's drivers, the
skb return of pp_magic), or the free path routing a page at refcount 0
(`page_pool_put_free_page`: a scheme's `put_page_route`).  What a scheme marks
on a page it takes from the allocator, and clears when it gives it back, is
its `page_pool_set_pp_info` / `page_pool_clear_pp_info`.
"""

from __future__ import annotations

from typing import Final

import stress.model.swap as swap
from stress.anomalies import Kind
from stress.memory.layout import (
    FLAGS,
    G_NR_LEAKED,
    GEN,
    POOL_CACHE_COUNT,
    POOL_HOLD_CNT,
    POOL_ID,
    POOL_RECYCLE_RELEASED,
    POOL_RECYCLED_CACHE,
    POOL_RECYCLED_RING,
    POOL_RELEASE_CNT,
    POOL_RELEASED_SHARED,
    POOL_RING_FULL,
    PP,
)
from stress.model import flags as F
from stress.model.machine import (
    PS_ALLOCATED,
    PS_LEAKED,
    PS_POOLED,
    PSTATE_NAMES,
    Machine,
    Op,
)
from stress.model.memcontrol import mem_cgroup_uncharge
from stress.model.page_alloc import alloc_page, free_pages_prepare
from stress.model.page_ref import page_ref_count, set_page_count
from stress.model.ptr_ring import ptr_ring_consume, ptr_ring_produce

PP_SIGNATURE: Final = F.PP_SIGNATURE
_PP_POOL: Final = (1 << 32) - 1


def pp_encode(pool: int) -> int:
    return PP_SIGNATURE | (pool + 1)


def pp_pool(pp: int) -> int:
    """The pool id a `pp` word names, or -1 if it carries no signature."""
    if pp & ~_PP_POOL != PP_SIGNATURE or not pp & _PP_POOL:
        return -1
    return (pp & _PP_POOL) - 1


def page_pool_init(m: Machine, pool: int, owner: int) -> None:
    """Create pool `pool` whose alloc cache belongs to worker `owner` (its NAPI context)."""
    base = m.L.pool(pool)
    m.sys.store(base + POOL_ID, owner)


def _inflight_check(m: Machine, pool: int, p: int, op: str) -> None:
    base = m.L.pool(pool)
    hold = m.sys.load(base + POOL_HOLD_CNT)
    release = m.sys.load(base + POOL_RELEASE_CNT)
    if hold - release < 0:
        m.report(Kind.POOL_INFLIGHT_NEGATIVE, p, op, reason=f"hold_cnt {hold} - release_cnt "
                 f"{release} < 0", pool=pool)


def page_pool_alloc_pages(m: Machine, pool: int) -> int:
    """A page for the driver, refcount 1; -1 when the allocator is out of pages too."""
    base = m.L.pool(pool)
    sys = m.sys
    p = -1
    if m.worker == sys.load(base + POOL_ID):
        n = sys.load(base + POOL_CACHE_COUNT)
        if n > 0:
            p = sys.load(m.L.pool_cache(pool) + n - 1)
            sys.store(base + POOL_CACHE_COUNT, n - 1)
    if p < 0:
        p = ptr_ring_consume(sys, m.L.pool_ring(pool), m.L.config.pool_ring_size)
    if p >= 0:
        state = sys.cas(m.L.pstate + p, PS_POOLED, PS_ALLOCATED)
        if state != PS_POOLED:
            m.report(Kind.DOUBLE_FREE, p, "page_pool_alloc_pages", pool=pool,
                     reason=f"pool handed out a page that is {PSTATE_NAMES.get(state, state)}")
        sys.fetch_add(m.page(p) + GEN, 1)
        want = m.pool_free_refcount
        rc = page_ref_count(m, p)
        if rc != want and m.checks:
            # The kernel does not recheck here (net/core/page_pool.c, 5.12 and 6.8); the
            # harness does, since the driver is about to DMA into a page that someone else
            # still references.  Its own kind: the kernel's refcnt violation is at destroy.
            m.report(Kind.POOL_ALLOC_REFCOUNT, p, "page_pool_alloc_pages", refcount=rc,
                     reason=f"pool handed out a page at refcount {rc}, not {want}", pool=pool)
        if want == 0:
            set_page_count(m, p, 1)  # no recheck, as in the kernel
        if m.tracing:
            m.trace(Op.page_pool_alloc, p, want, 1, pool, 0)
        return p
    p = alloc_page(m)
    if p < 0:
        return -1
    m.mem.store(m.page(p) + PP, pp_encode(pool))
    m.scheme.page_pool_set_pp_info(m, p, pool)
    sys.fetch_add(base + POOL_HOLD_CNT, 1)
    return p


def _recycle(m: Machine, pool: int, p: int, allow_direct: bool, op: str) -> bool:
    """Into the owner's cache or the ring; False (nothing changed) when both are full."""
    sys = m.sys
    state = sys.cas(m.L.pstate + p, PS_ALLOCATED, PS_POOLED)
    if state != PS_ALLOCATED:
        m.report(Kind.DOUBLE_FREE, p, op, pool=pool, refcount=page_ref_count(m, p),
                 reason=f"returned to the pool a page that is {PSTATE_NAMES.get(state, state)}")
        return True  # swallowed: the page is not recycled a second time
    if m.cfg.memcg != "none":
        mem_cgroup_uncharge(m, p)  # a pooled page belongs to no cgroup
    base = m.L.pool(pool)
    if allow_direct and m.worker == sys.load(base + POOL_ID):
        n = sys.load(base + POOL_CACHE_COUNT)
        if n < m.L.config.pool_cache_size:
            sys.store(m.L.pool_cache(pool) + n, p)
            sys.store(base + POOL_CACHE_COUNT, n + 1)
            sys.fetch_add(base + POOL_RECYCLED_CACHE, 1)
            if m.tracing:
                m.trace(Op.page_pool_recycle, p, 0, 0, 1, pool)
            return True
    if ptr_ring_produce(sys, m.L.pool_ring(pool), m.L.config.pool_ring_size, p):
        sys.fetch_add(base + POOL_RECYCLED_RING, 1)
        if m.tracing:
            m.trace(Op.page_pool_recycle, p, 0, 0, 2, pool)
        return True
    sys.store(m.L.pstate + p, PS_ALLOCATED)
    sys.fetch_add(base + POOL_RING_FULL, 1)
    return False


def page_pool_release_page(m: Machine, pool: int, p: int,
                           op: str = "page_pool_release_page") -> None:
    """The pool lets go of a page it handed out: DMA unmap, release_cnt += 1, clear pp.

    net/core/page_pool.c (5.12); gone as an export by v6.6 (6.8 keeps only the internal
    __page_pool_release_page_dma, which page_pool_return_page calls), so a role that calls
    it is refused under `kernel = "6.8"`.  A driver calls it before a page leaves for the stack
    with no way back to the pool; the holder's reference becomes an ordinary one, and the
    page is freed by put_page like any other.  A pool page that reaches put_page without
    it is still counted in flight: the pool's shutdown stalls.
    """
    m.sys.fetch_add(m.L.pool(pool) + POOL_RELEASE_CNT, 1)
    _inflight_check(m, pool, p, op)
    m.mem.store(m.page(p) + PP, 0)
    m.scheme.page_pool_clear_pp_info(m, p)


def page_pool_return_page(m: Machine, pool: int, p: int) -> None:
    """Give a page back to the page allocator: release it, then drop the pool's reference."""
    page_pool_release_page(m, pool, p, "page_pool_return_page")
    rc = page_ref_count(m, p)
    if m.tracing:
        m.trace(Op.page_pool_release, p, rc, 0, 0, pool)
    if rc == 0:
        # Pooled at refcount 0 (freed into the pool by the free path): nothing left to put.
        mem_cgroup_uncharge(m, p)
        free_pages_prepare(m, p, "page_pool_return_page")
    else:
        swap.put_page(m, p)


def page_pool_put_page(m: Machine, pool: int, p: int, allow_direct: bool = False) -> None:
    """The driver returns its reference: recycle at refcount 1, else release the page.

    net/core/page_pool.c (5.12) __page_pool_put_page: `if (likely(page_ref_count(page) ==
    1 && !page_is_pfmemalloc(page)))` recycle; otherwise page_pool_release_page and
    put_page, without a word: a recycle lost to whoever else holds the page.
    """
    rc = page_ref_count(m, p)
    if m.tracing:
        m.trace(Op.page_pool_put_page, p, rc, rc, rc == 1, pool)
    if rc == 1:
        if m.delay_pool_check_recycle:
            m.spin(m.delay_pool_check_recycle)
        if _recycle(m, pool, p, allow_direct, "page_pool_put_page"):
            return
    else:
        m.sys.fetch_add(m.L.pool(pool) + POOL_RELEASED_SHARED, 1)
    m.sys.fetch_add(m.L.pool(pool) + POOL_RECYCLE_RELEASED, 1)
    page_pool_return_page(m, pool, p)


def page_pool_put_free_page(m: Machine, p: int, pool: int = -1) -> None:
    """The free path feeds a page at refcount 0 back to its pool (or the pool `pp` names)."""
    base = m.page(p)
    if pool < 0:
        pool = pp_pool(m.mem.load(base + PP))
    if pool < 0 or pool >= m.L.config.npools:
        # "The network destructor would crash on a non-network page": the pool's own
        # sanity check is the only thing that sees a stale PG_owner_priv_1 here.
        m.sys.store(m.L.pstate + p, PS_LEAKED)
        m.sys.fetch_add(m.L.globals + G_NR_LEAKED, 1)
        if m.tracing:
            m.trace(Op.misroute, p, 0, 0, 1, 0)
        m.report(Kind.MISROUTED_FREE, p, "page_pool_put_free_page", refcount=0,
                 reason="non-network page fed to a page pool (stale PG_owner_priv_1)",
                 flags=F.flag_names(m.mem.load(base + FLAGS)))
        return
    if not _recycle(m, pool, p, True, "page_pool_put_free_page"):
        m.sys.fetch_add(m.L.pool(pool) + POOL_RECYCLE_RELEASED, 1)
        page_pool_return_page(m, pool, p)


def page_pool_destroy(m: Machine, pool: int) -> int:
    """Drain the cache and the ring; return the pages still in flight.

    net/core/page_pool.c (5.12, 6.8): page_pool_empty_alloc_cache_once returns the alloc
    cache's pages unchecked; page_pool_empty_ring checks each ring page, `if
    (!(page_ref_count(page) == 1)) pr_crit("%s() page_pool refcnt %d violation")`, and
    only the pool as 5.12's drivers use it holds its pages at 1: under a scheme whose
    pooled pages sit at 0 that check is the scheme's own "free in pool" count.
    """
    sys = m.sys
    base = m.L.pool(pool)
    want = m.pool_free_refcount
    cached = [sys.load(m.L.pool_cache(pool) + k)
              for k in range(sys.load(base + POOL_CACHE_COUNT))]
    sys.store(base + POOL_CACHE_COUNT, 0)
    for p in cached:
        sys.store(m.L.pstate + p, PS_ALLOCATED)
        page_pool_return_page(m, pool, p)
    ring, size = m.L.pool_ring(pool), m.L.config.pool_ring_size
    while (p := ptr_ring_consume(sys, ring, size)) >= 0:
        rc = page_ref_count(m, p)
        if rc != want:
            m.report(Kind.POOL_REFCNT_VIOLATION, p, "page_pool_empty_ring", refcount=rc,
                     reason=f"page_pool refcnt {rc} violation", pool=pool)
        sys.store(m.L.pstate + p, PS_ALLOCATED)
        page_pool_return_page(m, pool, p)
    return page_pool_inflight(m, pool)


def page_pool_inflight(m: Machine, pool: int) -> int:
    base = m.L.pool(pool)
    return m.sys.load(base + POOL_HOLD_CNT) - m.sys.load(base + POOL_RELEASE_CNT)
