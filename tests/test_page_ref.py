"""Reference counting rules of docs/model.md section 2: get, tryget, put, freeze."""

from __future__ import annotations

import pytest

from stress.anomalies import Kind, PageBug
from stress.model import (
    PS_FREE,
    alloc_page,
    get_page,
    get_page_unless_zero,
    page_ref_count,
    page_ref_freeze,
    page_ref_unfreeze,
    put_page,
)


def test_get_page_on_a_free_page_is_get_on_free(harness) -> None:
    """get_page on refcount 0 is a VM_BUG_ON: reported, and the count is left alone."""
    h = harness()
    with pytest.raises(PageBug) as bug:
        get_page(h.m, 5)
    assert bug.value.anomaly.kind is Kind.GET_ON_FREE
    assert h.kinds() == ["get-on-free"] and page_ref_count(h.m, 5) == 0


@pytest.mark.parametrize("count", [-127, -1])
def test_get_page_close_to_overflow_is_get_on_free(harness, count: int) -> None:
    """The whole [-127, 0] range is page_ref_zero_or_close_to_overflow."""
    h = harness()
    h.arena.pages["refcount"][5] = count
    with pytest.raises(PageBug):
        get_page(h.m, 5)
    assert h.kinds() == ["get-on-free"]


def test_get_page_on_a_held_page_increments(harness) -> None:
    """A holder's get_page adds one."""
    h = harness()
    p = alloc_page(h.m)
    get_page(h.m, p)
    assert page_ref_count(h.m, p) == 2 and h.kinds() == []


def test_tryget_on_zero_fails_and_leaves_zero(harness) -> None:
    """get_page_unless_zero on a free page fails without touching the count."""
    h = harness()
    assert not get_page_unless_zero(h.m, 7)
    assert page_ref_count(h.m, 7) == 0 and h.kinds() == []


def test_tryget_on_a_live_page_takes_a_reference(harness) -> None:
    """Anyone may tryget any live page, holder or not."""
    h = harness()
    p = alloc_page(h.m)
    assert get_page_unless_zero(h.m, p)
    assert page_ref_count(h.m, p) == 2


def test_put_page_on_zero_is_refcount_underflow(harness) -> None:
    """put_page on refcount 0 is a VM_BUG_ON and leaves the count at 0."""
    h = harness()
    with pytest.raises(PageBug):
        put_page(h.m, 3)
    assert h.kinds() == ["refcount-underflow"] and page_ref_count(h.m, 3) == 0


def test_final_put_frees_the_page(harness) -> None:
    """Whoever takes the count to 0 runs the free path: the page is back on the free list."""
    h = harness()
    p = alloc_page(h.m)
    get_page_unless_zero(h.m, p)  # a stranger's speculative reference
    put_page(h.m, p)  # the owner's put is not the final one
    assert h.pstate(p) != PS_FREE
    put_page(h.m, p)  # the stranger's is
    assert h.pstate(p) == PS_FREE and h.kinds() == []


def test_freeze_only_at_the_exact_count(harness) -> None:
    """page_ref_freeze(p, n) succeeds only when the count is exactly n."""
    h = harness()
    p = alloc_page(h.m)
    get_page(h.m, p)
    assert not page_ref_freeze(h.m, p, 1) and page_ref_count(h.m, p) == 2
    assert not page_ref_freeze(h.m, p, 3) and page_ref_count(h.m, p) == 2
    assert page_ref_freeze(h.m, p, 2) and page_ref_count(h.m, p) == 0
    assert not get_page_unless_zero(h.m, p)  # a frozen page cannot be tried
    page_ref_unfreeze(h.m, p, 2)
    assert page_ref_count(h.m, p) == 2 and h.kinds() == []


def test_unfreeze_of_a_live_page_is_a_freeze_violation(harness) -> None:
    """Unfreezing a page that is not frozen is a VM_BUG_ON."""
    h = harness()
    p = alloc_page(h.m)
    with pytest.raises(PageBug):
        page_ref_unfreeze(h.m, p, 1)
    assert h.kinds() == ["freeze-violation"]


def test_unfreeze_to_zero_is_a_freeze_violation(harness) -> None:
    """Unfreezing to a count of 0 is a VM_BUG_ON too."""
    h = harness()
    p = alloc_page(h.m)
    assert page_ref_freeze(h.m, p, 1)
    with pytest.raises(PageBug):
        page_ref_unfreeze(h.m, p, 0)
    assert h.kinds() == ["freeze-violation"]


class LyingLoad:
    """The memory interface as a put sees it when another put lands between load and add."""

    def __init__(self, mem, slot: int, seen: int) -> None:
        self._mem, self._slot, self._seen = mem, slot, seen

    def __getattr__(self, name: str):
        return getattr(self._mem, name)

    def load(self, i: int) -> int:
        return self._seen if i == self._slot else self._mem.load(i)


def test_put_that_loses_the_race_to_zero_is_underflow(harness) -> None:
    """The pre-check saw 1, another put won the race: negative, the harness's finding only.

    put_page_testzero's VM_BUG_ON ran before the decrement and passed, so the kernel goes
    on: no PageBug, and the report says it is the harness's.
    """
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)  # the other put: the page is free, refcount 0
    h.m.attach(LyingLoad(h.m.mem, h.m.page(p), seen=1), h.m.sys)  # what this put read before
    put_page(h.m, p)
    assert h.kinds() == ["refcount-underflow"]
    assert h.anomalies[0].reason == "refcount went negative"
    assert h.anomalies[0].voice().origin == "harness"
