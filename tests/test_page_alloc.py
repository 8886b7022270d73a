"""The page allocator: prep checks, free checks with kernel wording, leaks, PG_owner_priv_1."""

from __future__ import annotations

import pytest

from stress.model import (
    PS_ALLOCATED,
    PS_FREE,
    PS_LEAKED,
    __free_pages,
    alloc_page,
    free_pages_prepare,
    nr_free_pages,
    put_page,
)
from stress.model import flags as F
from stress.model.lru import lru_cache_add


def test_alloc_sets_refcount_and_bumps_generation(harness) -> None:
    """alloc_page hands out refcount 1 and a new generation, taken off the free list."""
    h = harness()
    n = nr_free_pages(h.m)
    p = alloc_page(h.m)
    assert h.page(p)["refcount"] == 1 and h.page(p)["gen"] == 1
    assert h.pstate(p) == PS_ALLOCATED and nr_free_pages(h.m) == n - 1
    put_page(h.m, p)
    assert alloc_page(h.m) == p and h.page(p)["gen"] == 2  # LIFO, like the pcp lists


def test_allocator_runs_dry(harness) -> None:
    """When every page is out, alloc_page returns -1."""
    h = harness()
    got = {alloc_page(h.m) for _ in range(h.m.npages)}
    assert len(got) == h.m.npages and alloc_page(h.m) == -1


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("mapcount", 0, "nonzero mapcount"),
        ("mapping", 9, "non-NULL mapping"),
        ("memcg", 1, "page still charged to cgroup"),
    ],
)
def test_free_checks_use_kernel_wording(harness, field: str, value: int, reason: str) -> None:
    """A page freed in a bad state is a bad-page with the kernel's reason, and is leaked."""
    h = harness()
    p = alloc_page(h.m)
    h.arena.pages[field][p] = value
    free_before = nr_free_pages(h.m)
    put_page(h.m, p) if field != "memcg" else _put_without_uncharge(h, p)
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == reason
    assert h.pstate(p) == PS_LEAKED and nr_free_pages(h.m) == free_before


def _put_without_uncharge(h, p: int) -> None:
    # __put_page uncharges first; the still-charged check is free_pages_prepare's own.
    h.arena.pages["refcount"][p] = 0
    free_pages_prepare(h.m, p)


def test_page_freed_with_pg_lru_via_free_pages_is_bad(harness) -> None:
    """PG_lru is in PAGE_FLAGS_CHECK_AT_FREE: a direct free with it set is a bad page."""
    h = harness()
    p = alloc_page(h.m)
    lru_cache_add(h.m, p)
    __free_pages(h.m, p)
    assert h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"
    assert "lru" in h.anomalies[0].detail["flags"] and h.pstate(p) == PS_LEAKED


def test_put_page_clears_lru_before_the_check(harness) -> None:
    """The final put_page takes the page off the LRU first, so PG_lru is no bad page there."""
    h = harness()
    p = alloc_page(h.m)
    lru_cache_add(h.m, p)
    F.set_page_flag(h.m, p, F.PG_active)
    put_page(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE and h.page(p)["flags"] == 0


def test_stale_pg_checked_is_cleared_silently(harness) -> None:
    """Without the option, a stale PG_owner_priv_1 passes free_pages_prepare and is cleared."""
    h = harness(scheme="driver_ref")
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_pinned)
    __free_pages(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE and h.page(p)["flags"] == 0


def test_owner_priv_1_in_check_at_free_catches_it(harness) -> None:
    """With PG_owner_priv_1 added to PAGE_FLAGS_CHECK_AT_FREE the allocator reports it (C4)."""
    h = harness(scheme="driver_ref", check_owner_priv_1_at_free=True)
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_pinned)
    __free_pages(h.m, p)
    assert h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"


def test_free_of_a_free_page_is_double_free(harness) -> None:
    """Running the free path for a page already free is a double-free, not a corrupt list."""
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)
    n = nr_free_pages(h.m)
    free_pages_prepare(h.m, p)
    assert h.kinds() == ["double-free"] and nr_free_pages(h.m) == n


def test_alloc_skips_a_bad_free_page(harness) -> None:
    """check_new_page: a free page in a bad state is reported, leaked, and another taken."""
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)
    h.arena.pages["mapping"][p] = 5  # corrupted while free
    q = alloc_page(h.m)
    assert q != p and h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "non-NULL mapping" and h.pstate(p) == PS_LEAKED


def test_free_with_a_nonzero_refcount_is_bad(harness) -> None:
    """free_pages_prepare of a page someone still references: "nonzero _refcount", leaked."""
    h = harness()
    p = alloc_page(h.m)
    free_pages_prepare(h.m, p)  # refcount is still 1
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == "nonzero _refcount"
    assert h.pstate(p) == PS_LEAKED


def test_alloc_of_a_free_page_with_a_flag_set_is_bad(harness) -> None:
    """check_new_page: any flag on a free page is "PAGE_FLAGS_CHECK_AT_PREP flag(s) set"."""
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)
    h.arena.pages["flags"][p] = 1 << F.PG_dirty  # not in CHECK_AT_FREE, but in AT_PREP
    assert alloc_page(h.m) != p
    assert h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "PAGE_FLAGS_CHECK_AT_PREP flag(s) set"


def test_bad_reason_is_the_last_failing_check_as_in_the_kernel(harness) -> None:
    """page_bad_reason runs every check and the last that fails names the page: mapped,
    with a mapping and still charged is "page still charged to cgroup" (mm/page_alloc.c)."""
    h = harness()
    p = alloc_page(h.m)
    h.arena.pages["mapcount"][p] = 0
    h.arena.pages["mapping"][p] = 9
    h.arena.pages["memcg"][p] = 1
    _put_without_uncharge(h, p)
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == "page still charged to cgroup"
