"""The page allocator: mm/page_alloc.c's free list, prep and free checks, bad_page."""

from __future__ import annotations

import numpy as np

from stress.anomalies import Kind
from stress.memory.arena import Arena
from stress.memory.layout import (
    FL_COUNT,
    FL_HEAD,
    FL_HEAD_INDEX,
    FLAGS,
    FREELIST_HDR,
    G_NR_LEAKED,
    GEN,
    MAPCOUNT,
    MAPPING,
    MEMCG,
    PP,
    REFCOUNT,
)
from stress.model import flags as F
from stress.model.machine import PS_ALLOCATED, PS_FREE, PS_LEAKED, PSTATE_NAMES, Machine, Op
from stress.model.page_ref import page_ref_count, put_page_testzero, set_page_count
from stress.model.ptr_ring import ptr_ring_init


def mem_init(arena: Arena) -> None:
    """Boot: every page free, mapcount -1, all on the free list, every ring empty.

    Vectorised, before any worker starts.
    """
    L = arena.layout
    for k in range(L.config.npools):
        ptr_ring_init(arena.words, L.pool_ring(k), L.config.pool_ring_size)
    for k in range(L.config.nqueues):
        ptr_ring_init(arena.words, L.queue(k), L.config.queue_size)
    n = L.config.npages
    arena.pages["mapcount"] = -1
    for name in ("refcount", "flags", "mapping", "memcg", "pp", "dtor", "gen", "lru"):
        arena.pages[name] = 0
    arena.words[L.pstate:L.pstate + n] = PS_FREE
    nxt = L.freelist + FREELIST_HDR
    # Page k links to k+1 (stored +1, 0 ends the list); head is page 0, tag 0.
    arena.words[nxt:nxt + n] = np.arange(2, n + 2, dtype=np.int64)
    arena.words[nxt + n - 1] = 0
    arena.words[L.freelist + FL_HEAD] = 1
    arena.words[L.freelist + FL_COUNT] = n


def _free_list_pop(m: Machine) -> int:
    """Pop a page index from the tagged Treiber stack, or -1 when empty."""
    sys, head_slot = m.sys, m.L.freelist + FL_HEAD
    nxt = m.L.freelist + FREELIST_HDR
    head = sys.load(head_slot)
    while True:
        top = head & FL_HEAD_INDEX
        if top == 0:
            return -1
        new = ((head >> 32) + 1) << 32 | sys.load(nxt + top - 1)
        seen = sys.cas(head_slot, head, new)
        if seen == head:
            sys.fetch_add(m.L.freelist + FL_COUNT, -1)
            return top - 1
        head = seen


def _free_list_push(m: Machine, p: int) -> None:
    sys, head_slot = m.sys, m.L.freelist + FL_HEAD
    nxt = m.L.freelist + FREELIST_HDR
    head = sys.load(head_slot)
    while True:
        sys.store(nxt + p, head & FL_HEAD_INDEX)
        seen = sys.cas(head_slot, head, ((head >> 32) + 1) << 32 | (p + 1))
        if seen == head:
            sys.fetch_add(m.L.freelist + FL_COUNT, 1)
            return
        head = seen


def nr_free_pages(m: Machine) -> int:
    return m.sys.load(m.L.freelist + FL_COUNT)


def bad_page(m: Machine, p: int, reason: str, op: str) -> None:
    """Report and leak: a bad page is never handed out again (mm/page_alloc.c)."""
    m.sys.store(m.L.pstate + p, PS_LEAKED)
    m.sys.fetch_add(m.L.globals + G_NR_LEAKED, 1)
    base = m.page(p)
    if m.tracing:
        m.trace(Op.bad_page, p, 0, 0, 0, 0)
    m.report(Kind.BAD_PAGE, p, op, refcount=page_ref_count(m, p), reason=reason,
             flags=F.flag_names(m.mem.load(base + FLAGS)))


def page_bad_reason(m: Machine, p: int, flags: int, flags_reason: str,
                    pool_leak: bool = False) -> str | None:
    """Why a page about to be allocated or freed is bad (mm/page_alloc.c), or None.

    As in the kernel every check runs and the last one that fails names the reason,
    so a page both mapped and charged is reported as "page still charged to cgroup".
    `pool_leak`: v6.8's last test, a page still carrying the page pool's signature
    (`(page->pp_magic & ~0x3UL) == PP_SIGNATURE`), overrides every other reason.
    """
    base = m.page(p)
    mem = m.mem
    reason = None
    if mem.load(base + MAPCOUNT) != -1:
        reason = "nonzero mapcount"
    if mem.load(base + MAPPING) != 0:
        reason = "non-NULL mapping"
    if mem.load(base + REFCOUNT) != 0:
        reason = "nonzero _refcount"
    if mem.load(base + FLAGS) & flags:
        reason = flags_reason
    if mem.load(base + MEMCG) != 0:
        reason = "page still charged to cgroup"
    if pool_leak and mem.load(base + PP) >> 32 == F.PP_SIGNATURE >> 32:
        reason = "page_pool leak"
    return reason


def alloc_page(m: Machine) -> int:
    """Take a page off the free list, refcount 1, a new generation; -1 when out of memory.

    mm/page_alloc.c: rmqueue, then check_new_page and prep_new_page (set_page_refcounted).

    Bad pages are leaked and skipped; more of them than there are pages means the
    free list itself is damaged (a cycle through leaked pages), reported, not looped on.
    """
    for _ in range(m.npages + 1):
        p = _free_list_pop(m)
        if p < 0:
            return -1
        state = m.sys.cas(m.L.pstate + p, PS_FREE, PS_ALLOCATED)
        if state != PS_FREE:
            # Exclusion: a free-list entry has one taker.  Two pops of one page (an ABA on
            # the head, a push of a page still in use) hand it out twice: skip it.
            m.report(Kind.FREE_LIST_VIOLATION, p, "alloc_page",
                     refcount=page_ref_count(m, p),
                     reason=f"taken off the free list while {PSTATE_NAMES.get(state, state)}")
            continue
        if m.profile.alloc_checks:  # 6.8: check_new_pages only if is_check_pages_enabled()
            reason = page_bad_reason(m, p, F.PAGE_FLAGS_CHECK_AT_PREP,
                                     "PAGE_FLAGS_CHECK_AT_PREP flag(s) set",
                                     m.profile.pool_leak_check)
            if reason is not None:
                bad_page(m, p, reason, "alloc_page")
                continue
        base = m.page(p)
        m.sys.fetch_add(base + GEN, 1)
        set_page_count(m, p, 1)  # set_page_refcounted
        if m.tracing:
            m.trace(Op.alloc_page, p, 0, 1, 0, 0)
        return p
    m.report(Kind.RETRY_BOUND, -1, "alloc_page",
             reason=f"free list: more than {m.npages} pages taken off it were bad")
    return -1


def _check_free_page(m: Machine, p: int) -> str | None:
    """check_free_page (5.12) / free_page_is_bad (6.8) as an order-0 free runs it.

    5.12: with CONFIG_DEBUG_VM before the flags are cleared (free_pcp_prepare); without it
    when the pcp list is drained (bulkfree_pcp_prepare), after free_pages_prepare cleared
    them: the flags are never seen, the rest is.  6.8: only `if (is_check_pages_enabled())`,
    before clearing, and "page_pool leak" last.  The profile says which (model/profile.py).
    """
    prof = m.profile
    if not prof.free_checks_state:
        return None
    check = 0
    if prof.free_checks_flags:
        check = F.PAGE_FLAGS_CHECK_AT_FREE
        if m.cfg.check_owner_priv_1_at_free:
            check |= F.OWNER_PRIV_1
    return page_bad_reason(m, p, check, "PAGE_FLAGS_CHECK_AT_FREE flag(s) set",
                           prof.pool_leak_check)


def free_pages_prepare(m: Machine, p: int, op: str = "free_pages_prepare") -> bool:
    """Check a page at refcount 0 and put it on the free list; a bad one is leaked.

    mm/page_alloc.c: free_pages_prepare, then free_unref_page's pcp list (here the
    free list itself); `pstate` is the harness's guard against a second free.
    """
    state = m.sys.cas(m.L.pstate + p, PS_ALLOCATED, PS_FREE)
    if state != PS_ALLOCATED:
        m.report(Kind.DOUBLE_FREE, p, op, refcount=page_ref_count(m, p),
                 reason=f"free of a page that is {PSTATE_NAMES.get(state, state)}")
        return False
    reason = _check_free_page(m, p)
    if reason is not None:
        bad_page(m, p, reason, op)
        return False
    m.mem.store(m.page(p) + FLAGS, 0)  # every flag, a stale PG_owner_priv_1 included
    if m.tracing:
        m.trace(Op.free_pages_prepare, p, 0, 0, 1, 0)
    _free_list_push(m, p)
    return True


def __free_pages(m: Machine, p: int) -> None:
    """Direct free by an owner that does not go through __put_page: no routing."""
    if put_page_testzero(m, p):
        free_pages_prepare(m, p, "__free_pages")
