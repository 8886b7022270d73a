"""The model as v5.12 (with the thread's proposals on top) has it: one test per divergence fixed."""

from __future__ import annotations

import pytest

from stress.anomalies import PageBug
from stress.model import (
    PS_FREE,
    PS_LEAKED,
    add_to_swap_cache,
    alloc_page,
    delete_from_swap_cache,
    get_page,
    page_pool_alloc_pages,
    page_pool_destroy,
    page_pool_inflight,
    page_pool_release_page,
    page_ref_count,
    page_ref_freeze,
    page_ref_unfreeze,
    put_page,
)
from stress.model import flags as F
from stress.model.lru import lru_cache_add

# free_pcp_prepare: check_free_page runs before the flags are cleared only on debug kernels.


def test_page_checks_free_reports_a_stale_owner_priv_1(harness) -> None:
    """page checks with the option: the flag is seen at free, a bad page."""
    h = harness(scheme="driver_ref", check_owner_priv_1_at_free=True)
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_pinned)
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"] and h.pstate(p) == PS_LEAKED


def test_without_page_checks_the_flags_are_cleared_unchecked(harness) -> None:
    """No page checks: the deferred check_free_page sees the flags already cleared; freed."""
    h = harness(scheme="driver_ref", check_owner_priv_1_at_free=True, page_checks=False)
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_pinned)
    F.set_page_flag(h.m, p, F.PG_private)  # in PAGE_FLAGS_CHECK_AT_FREE itself
    put_page(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE and h.page(p)["flags"] == 0


def test_without_page_checks_the_other_checks_still_run(harness) -> None:
    """No page checks: a mapped page is still bad when the pcp list is flushed."""
    h = harness(page_checks=False)
    p = alloc_page(h.m)
    h.arena.pages["mapping"][p] = 3
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == "non-NULL mapping"


def test_a_vm_bug_on_kills_the_operation_only_with_page_checks(harness) -> None:
    """get_page on a free page: PageBug with page checks; without, reported and incremented."""
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)
    with pytest.raises(PageBug):
        get_page(h.m, p)
    assert page_ref_count(h.m, p) == 0
    h2 = harness(page_checks=False)
    get_page(h2.m, p)
    assert h2.kinds() == ["get-on-free"] and page_ref_count(h2.m, p) == 1


def test_page_ref_unfreeze_stores_the_count_when_its_check_fires(harness) -> None:
    """Without page checks the VM_BUG_ON is gone: the count is stored, the harness reports it."""
    h = harness(page_checks=False)
    p = alloc_page(h.m)
    page_ref_unfreeze(h.m, p, 3)  # not frozen: refcount is 1
    assert h.kinds() == ["freeze-violation"] and page_ref_count(h.m, p) == 3
    h2 = harness()
    q = alloc_page(h2.m)
    with pytest.raises(PageBug):
        page_ref_unfreeze(h2.m, q, 3)
    assert page_ref_count(h2.m, q) == 1
    assert page_ref_freeze(h2.m, q, 1)
    page_ref_unfreeze(h2.m, q, 2)
    assert page_ref_count(h2.m, q) == 2


# __page_cache_release: the LRU flags go only with PG_lru (__clear_page_lru_flags).


def test_lru_flags_of_a_page_not_on_the_lru_reach_the_free_check(harness) -> None:
    """PG_active without PG_lru survives __page_cache_release: a bad page at free."""
    h = harness()
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_active)
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"


def test_a_page_on_the_lru_loses_its_lru_flags_and_waiters(harness) -> None:
    """PG_lru, PG_active and PG_waiters are all cleared on the final put: freed clean."""
    h = harness()
    p = alloc_page(h.m)
    lru_cache_add(h.m, p)
    F.set_page_flag(h.m, p, F.PG_active)
    q = alloc_page(h.m)
    F.set_page_flag(h.m, q, F.PG_waiters)  # not on an LRU: PG_waiters still goes
    put_page(h.m, p)
    put_page(h.m, q)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE and h.pstate(q) == PS_FREE


# 5.12's page_pool_release_page under driver_ref.


def test_a_released_pool_page_is_an_ordinary_page(harness) -> None:
    """Released before it leaves for the stack: the stack's put frees it, nothing in flight."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_release_page(h.m, 0, p)
    assert page_pool_inflight(h.m, 0) == 0 and h.page(p)["pp"] == 0
    put_page(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE
    assert page_pool_destroy(h.m, 0) == 0


def test_an_unreleased_pool_page_through_put_page_stalls_shutdown(harness) -> None:
    """Freed by put_page without the release: the harness sees it, the pool never drains."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    put_page(h.m, p)
    assert h.kinds() == ["misrouted-free"] and h.pstate(p) == PS_FREE
    assert page_pool_destroy(h.m, 0) == 1  # what the supervisor reports as stalled


# The swap cache: page_ref_sub, and PageSwapBacked required.


def test_swap_cache_removal_is_never_the_final_put(harness) -> None:
    """delete_from_swap_cache drops the cache's reference with page_ref_sub; the caller frees."""
    h = harness()
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_swapbacked)
    add_to_swap_cache(h.m, p)
    assert page_ref_count(h.m, p) == 2
    delete_from_swap_cache(h.m, p)
    assert page_ref_count(h.m, p) == 1 and not F.test_page_flag(h.m, p, F.PG_swapcache)
    put_page(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE


def test_swap_cache_dropping_the_last_reference_is_reported(harness) -> None:
    """A caller without its own reference: page_ref_sub takes the count to 0, nobody frees."""
    h = harness(page_checks=False)
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_swapbacked)
    add_to_swap_cache(h.m, p)
    put_page(h.m, p)  # only the cache's reference left
    delete_from_swap_cache(h.m, p)
    assert h.kinds() == ["refcount-underflow"] and page_ref_count(h.m, p) == 0
    assert "without a free" in h.anomalies[0].reason and h.pstate(p) != PS_FREE


def test_add_to_swap_cache_requires_swapbacked(harness) -> None:
    """VM_BUG_ON_PAGE(!PageSwapBacked): a flags-violation that kills the operation."""
    h = harness()
    p = alloc_page(h.m)
    with pytest.raises(PageBug):
        add_to_swap_cache(h.m, p)
    assert h.kinds() == ["flags-violation"] and page_ref_count(h.m, p) == 1
