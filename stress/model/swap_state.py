"""The swap cache (mm/swap_state.c): the cache's reference and PG_swapcache."""

from __future__ import annotations

from stress.model import flags as F
from stress.model.machine import Machine, spin
from stress.model.page_ref import get_page
from stress.model.swap import put_page


def add_to_swap_cache(m: Machine, p: int) -> None:
    """The caller holds the page; the swap cache takes its own reference."""
    get_page(m, p)
    F.set_page_flag(m, p, F.PG_swapbacked)
    F.set_page_flag(m, p, F.PG_swapcache)


def delete_from_swap_cache(m: Machine, p: int) -> None:
    """Clear PG_swapcache, then drop the cache's reference (the fault reverses them)."""
    if m.cfg.swapcache_put_before_clear:
        put_page(m, p)
        if m.delay_swapcache_put_clear:
            spin(m.delay_swapcache_put_clear)
        F.clear_page_flag(m, p, F.PG_swapcache)
    else:
        F.clear_page_flag(m, p, F.PG_swapcache)
        if m.delay_swapcache_put_clear:
            spin(m.delay_swapcache_put_clear)
        put_page(m, p)
