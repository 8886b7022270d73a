"""Lockless lookups: load a slot, tryget the page it names, re-load the slot.

The pattern of `filemap_get_entry` (xas_load, folio_try_get, xas_reload) and of
GUP-fast (gup_pte_range: try_grab_folio, then recheck the PTE).  Slots hold
page + 1, 0 for empty.  Until the recheck passes, a changed identity is not a
bug: the speculative reference is dropped and the lookup retried, and that
drop may well be the final put of whatever the page has become.
"""

from __future__ import annotations

import stress.model.swap as swap
from stress.model.machine import Machine, spin
from stress.model.page_ref import get_page_unless_zero


def lockless_get(m: Machine, slot: int, recheck: bool = True) -> int:
    """A referenced page from the slot, or -1 if empty (or still racing after the retries)."""
    sys = m.sys
    for _ in range(m.cfg.lookup_retries):
        v = sys.load(slot)
        if v == 0:
            return -1
        p = v - 1
        if m.delay_lookup_tryget:
            spin(m.delay_lookup_tryget)
        if not get_page_unless_zero(m, p):
            continue  # frozen or freed under us
        if recheck and sys.load(slot) != v:
            swap.put_page(m, p)
            continue
        return p
    return -1
