"""Lockless lookups: load a slot, tryget the page it names, re-load the slot.

The pattern of `filemap_get_entry` (xas_load, folio_try_get, xas_reload) and of
GUP-fast (gup_pte_range: try_grab_folio, then recheck the PTE).  Slots hold
page + 1, 0 for empty.  Until the recheck passes, a changed identity is not a
bug: the speculative reference is dropped and the lookup retried, and that
drop may well be the final put of whatever the page has become.
"""

from __future__ import annotations

import stress.model.swap as swap
from stress.anomalies import Kind
from stress.model.machine import Machine, Op
from stress.model.page_ref import get_page_unless_zero, page_ref_count


def lockless_get(m: Machine, base: int, index: int, recheck: bool = True,
                 op: str = "lockless_get") -> int:
    """A referenced page from the slot, or -1 if empty (or still racing after the retries).

    The harness's identity oracle, for a lookup that does not recheck: it notes the
    page's `gen` after the slot load; a tryget that took a later generation of the page
    (freed and reused in between) which the slot no longer names is a stale tryget.  A
    reuse that put the page back in the same slot is the ABA the recheck would have let
    through too.  (After a passed recheck the page is the slot's: the held reference
    fixes it.)
    """
    sys, checks, slot = m.sys, m.checks, base + index
    for _ in range(m.cfg.lookup_retries):
        v = sys.load(slot)
        if v == 0:
            return -1
        p = v - 1
        if m.tracing:  # the read the tryget relies on: where a stale tryget's window opens
            m.trace(Op.slot_read, p, 0, 0, int(base != m.L.cache), index)
        seen = m.gen(p) if checks and not recheck else 0  # only the no-recheck path uses it
        if m.delay_lookup_tryget:
            m.spin(m.delay_lookup_tryget)
        if not get_page_unless_zero(m, p):
            continue  # frozen or freed under us
        if recheck:
            if sys.load(slot) != v:
                swap.put_page(m, p)
                continue
            return p  # the slot names it after the tryget: the page is the slot's
        if checks and (now := m.gen(p)) != seen and m.shadow.load(slot) != v:
            m.report(Kind.STALE_TRYGET, p, op, refcount=page_ref_count(m, p),
                     reason=f"the slot named the page at generation {seen}; the tryget took "
                            f"generation {now}, never rechecked", index=index, seen_gen=seen)
        return p
    return -1
