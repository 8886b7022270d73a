"""The swap cache (mm/swap_state.c): the cache's reference and PG_swapcache."""

from __future__ import annotations

from stress.anomalies import Kind
from stress.model import flags as F
from stress.model.machine import Machine, Op
from stress.model.page_ref import get_page, page_ref_count, page_ref_sub
from stress.model.swap import put_page


def add_to_swap_cache(m: Machine, p: int) -> None:
    """The caller holds the page, already PageSwapBacked; the swap cache takes a reference.

    mm/swap_state.c: VM_BUG_ON_PAGE(!PageSwapBacked(page)), page_ref_add, SetPageSwapCache.
    """
    if m.checks and not F.test_page_flag(m, p, F.PG_swapbacked):
        m.report(Kind.FLAGS_VIOLATION, p, "add_to_swap_cache", refcount=page_ref_count(m, p),
                 reason="VM_BUG_ON_PAGE(!PageSwapBacked(page))")
    get_page(m, p)
    F.set_page_flag(m, p, F.PG_swapcache)


def delete_from_swap_cache(m: Machine, p: int) -> None:
    """Clear PG_swapcache, then drop the cache's reference with page_ref_sub.

    mm/swap_state.c: __delete_from_swap_cache, then page_ref_sub(page, nr).  The caller
    holds its own reference (and the page lock), so this is never the final put.  The
    fault `swapcache_put_before_clear` is a removal written the other way round, dropping
    the cache's reference with put_page first: that put may be the final one.
    """
    put_first = m.cfg.swapcache_put_before_clear
    if m.tracing:
        m.trace(Op.swapcache_delete, p, 0, 0, int(put_first), 0)
    if put_first:
        put_page(m, p)
        if m.delay_swapcache_put_clear:
            m.spin(m.delay_swapcache_put_clear)
        _clear_swapcache(m, p)
    else:
        _clear_swapcache(m, p)
        if m.delay_swapcache_put_clear:
            m.spin(m.delay_swapcache_put_clear)
        page_ref_sub(m, p, 1, "delete_from_swap_cache")


def _clear_swapcache(m: Machine, p: int) -> None:
    F.clear_page_flag(m, p, F.PG_swapcache)
    if m.tracing:
        m.trace(Op.swapcache_clear, p, 0, 0, 1, 0)
