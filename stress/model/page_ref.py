"""Reference counting: include/linux/page_ref.h and the get/put of include/linux/mm.h."""

from __future__ import annotations

from stress.anomalies import HARNESS, Kind
from stress.memory.layout import PAGE_WORDS, REFCOUNT
from stress.model.machine import Machine, Op


def page_ref_count(m: Machine, p: int) -> int:
    return m.mem.load(m.pages + p * PAGE_WORDS + REFCOUNT)


def set_page_count(m: Machine, p: int, v: int) -> None:
    m.mem.store(m.pages + p * PAGE_WORDS + REFCOUNT, v)


def page_ref_zero_or_close_to_overflow(v: int) -> bool:
    return -127 <= v <= 0


def get_page(m: Machine, p: int) -> None:
    """Take another reference; the caller must already hold one (VM_BUG_ON_PAGE)."""
    slot = m.pages + p * PAGE_WORDS + REFCOUNT
    if m.checks:
        v = m.mem.load(slot)
        if page_ref_zero_or_close_to_overflow(v):
            m.report(Kind.GET_ON_FREE, p, "get_page", refcount=v,
                     reason="page_ref_zero_or_close_to_overflow")
    old = m.mem.fetch_add(slot, 1)
    if m.tracing:
        m.trace(Op.get_page, p, old, old + 1, 0, 0)


def page_ref_add_unless(m: Machine, p: int, nr: int, u: int) -> bool:
    """Add nr unless the count is u; the building block of every lockless tryget."""
    old = m.mem.add_unless(m.pages + p * PAGE_WORDS + REFCOUNT, nr, u)
    if m.tracing:
        m.trace(Op.get_page_unless_zero, p, old, old if old == u else old + nr, old != u, 0)
    return old != u


def get_page_unless_zero(m: Machine, p: int) -> bool:
    """The lockless tryget: any page index, held or not, may be tried."""
    return page_ref_add_unless(m, p, 1, 0)


folio_try_get = get_page_unless_zero


def put_page_testzero(m: Machine, p: int) -> bool:
    """Drop a reference; True for whoever takes the count to zero.

    include/linux/mm.h (5.12, 6.8): VM_BUG_ON_PAGE(page_ref_count(page) == 0), then
    page_ref_dec_and_test.  The kernel looks only for 0: a put of a negative count is
    the harness's finding, and goes on.
    """
    slot = m.pages + p * PAGE_WORDS + REFCOUNT
    if m.checks:
        v = m.mem.load(slot)
        if v == 0:
            m.report(Kind.REFCOUNT_UNDERFLOW, p, "put_page", refcount=v,
                     reason="put of a free page")
        elif v < 0:
            m.report(Kind.REFCOUNT_UNDERFLOW, p, "put_page", refcount=v,
                     reason="put of a negative refcount", origin=HARNESS,
                     says="VM_BUG_ON_PAGE looks only for 0: the kernel goes on")
    old = m.mem.fetch_add(slot, -1)
    if m.tracing:
        m.trace(Op.put_page, p, old, old - 1, 0, 0)
    if old <= 0 and m.checks:
        # Lost a race with another put between the check and the decrement.
        m.report(Kind.REFCOUNT_UNDERFLOW, p, "put_page", refcount=old - 1,
                 reason="refcount went negative", origin=HARNESS,
                 says="the check ran before the decrement: the kernel goes on")
    return old == 1


def page_ref_sub(m: Machine, p: int, nr: int, op: str = "page_ref_sub") -> None:
    """Drop nr references that can never be the last (include/linux/page_ref.h).

    A plain atomic_sub: the kernel has no check, and a count taken to 0 here is a page
    nobody will ever free.  The harness reports it as the underflow it is.
    """
    old = m.mem.fetch_add(m.pages + p * PAGE_WORDS + REFCOUNT, -nr)
    if m.tracing:
        m.trace(Op.put_page, p, old, old - nr, 0, nr)
    if old <= nr and m.checks:
        m.report(Kind.REFCOUNT_UNDERFLOW, p, op, refcount=old - nr,
                 reason=f"page_ref_sub({nr}) of refcount {old}: the last reference went "
                        "without a free", origin=HARNESS,
                 says="page_ref_sub checks nothing (include/linux/page_ref.h): the page is "
                      "never freed")


def page_ref_freeze(m: Machine, p: int, count: int) -> bool:
    """Refcount count -> 0, only if it is exactly count."""
    old = m.mem.cas(m.pages + p * PAGE_WORDS + REFCOUNT, count, 0)
    if m.tracing:
        m.trace(Op.page_ref_freeze, p, old, 0 if old == count else old, old == count, count)
    return old == count


def page_ref_unfreeze(m: Machine, p: int, count: int) -> None:
    """A frozen page (refcount 0) gets its count back; count must not be 0."""
    slot = m.pages + p * PAGE_WORDS + REFCOUNT
    v = m.mem.load(slot)
    if v != 0 or count == 0:
        m.report(Kind.FREEZE_VIOLATION, p, "page_ref_unfreeze", refcount=v,
                 reason=f"unfreeze to {count} of refcount {v}")
    m.mem.store(slot, count)
    if m.tracing:
        m.trace(Op.page_ref_unfreeze, p, v, count, 0, 0)
