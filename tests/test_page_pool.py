"""The page pool under each scheme, and where the final put routes a page."""

from __future__ import annotations

import pytest

from stress.memory.layout import POOL_RECYCLE_RELEASED, POOL_RECYCLED_RING
from stress.model import (
    PS_ALLOCATED,
    PS_FREE,
    PS_LEAKED,
    PS_POOLED,
    __free_pages,
    add_to_page_cache_lru,
    alloc_page,
    delete_from_page_cache,
    get_page_unless_zero,
    page_pool_alloc_pages,
    page_pool_destroy,
    page_pool_inflight,
    page_pool_put_page,
    page_ref_count,
    put_page,
    skb_frag_unref,
)
from stress.model import flags as F
from stress.model.page_pool import page_pool_return_page, pp_pool


def test_driver_ref_recycles_at_refcount_one(harness) -> None:
    """driver_ref: the driver's put at refcount 1 keeps the page in the pool at 1."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    assert pp_pool(h.page(p)["pp"]) == 0 and page_pool_inflight(h.m, 0) == 1
    page_pool_put_page(h.m, 0, p, allow_direct=True)
    assert h.pstate(p) == PS_POOLED and page_ref_count(h.m, p) == 1
    assert page_pool_alloc_pages(h.m, 0) == p and h.kinds() == []


def test_driver_ref_releases_a_page_someone_else_holds(harness) -> None:
    """driver_ref: a transient reference makes the pool give the page up (a lost recycle)."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    assert get_page_unless_zero(h.m, p)  # a stray speculative reference
    page_pool_put_page(h.m, 0, p)
    assert h.words_at(0, POOL_RECYCLE_RELEASED) == 1
    assert h.page(p)["pp"] == 0 and page_pool_inflight(h.m, 0) == 0
    put_page(h.m, p)  # the stranger's put frees it to the allocator
    assert h.pstate(p) == PS_FREE and h.kinds() == []


def test_destroy_reports_a_ring_page_at_refcount_two(harness) -> None:
    """C8: a tryget on a ring page leaves it at 2; destroy reports the refcnt violation."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)
    assert h.words_at(0, POOL_RECYCLED_RING) == 1
    assert get_page_unless_zero(h.m, p)  # succeeds: refcount 1 looks like a live page
    page_pool_destroy(h.m, 0)
    assert h.kinds() == ["pool-refcnt-violation"]
    assert h.anomalies[0].reason == "page_pool refcnt 2 violation"


def test_double_return_is_reported(harness) -> None:
    """Returning the same page twice is a double-free, never a page in the ring twice."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)
    page_pool_put_page(h.m, 0, p)
    assert h.kinds() == ["double-free"]


def test_release_count_above_hold_is_inflight_negative(harness) -> None:
    """A page released twice drives hold_cnt - release_cnt below zero."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    get_page_unless_zero(h.m, p)
    page_pool_return_page(h.m, 0, p)
    page_pool_return_page(h.m, 0, p)
    assert "pool-inflight-negative" in h.kinds()


def test_pg_network_feeds_the_final_put_back_at_zero(harness) -> None:
    """pg_network: the refcount really reaches 0 and __put_page returns the page to its pool."""
    h = harness(scheme="pg_network")
    p = page_pool_alloc_pages(h.m, 1)
    assert F.test_page_flag(h.m, p, F.PG_network)
    assert get_page_unless_zero(h.m, p)  # a stray reference
    put_page(h.m, p)  # the driver's
    assert h.pstate(p) == PS_ALLOCATED
    put_page(h.m, p)  # the stray's is the final put: still routed correctly
    assert h.pstate(p) == PS_POOLED and page_ref_count(h.m, p) == 0
    assert not get_page_unless_zero(h.m, p)  # a tryget on a pooled page fails
    assert page_pool_alloc_pages(h.m, 1) == p and page_ref_count(h.m, p) == 1
    assert h.page(p)["gen"] == 2 and h.kinds() == []


def test_pg_network_destroy_returns_pages_to_the_allocator(harness) -> None:
    """Destroying a pg_network pool frees its pooled pages and nothing is in flight."""
    h = harness(scheme="pg_network")
    p = page_pool_alloc_pages(h.m, 0)
    put_page(h.m, p)
    assert page_pool_destroy(h.m, 0) == 0
    assert h.pstate(p) == PS_FREE and h.page(p)["flags"] == 0 and h.kinds() == []


def test_stale_pg_checked_is_misrouted_to_a_pool(harness) -> None:
    """C3: truncate leaving PG_checked, the final put reads it as PG_network."""
    for check in (False, True):
        h = harness(scheme="pg_network", truncate_leaves_checked=True,
                    check_owner_priv_1_at_free=check)
        p = alloc_page(h.m)
        assert add_to_page_cache_lru(h.m, p, 3)
        F.set_page_flag(h.m, p, F.PG_checked)
        assert delete_from_page_cache(h.m, 3, p)
        put_page(h.m, p)
        assert h.kinds() == ["misrouted-free"], check
        assert h.pstate(p) == PS_LEAKED
        h.arena.pages["flags"][p] = 0


def test_truncate_clearing_pg_checked_frees_normally(harness) -> None:
    """With a correct truncate the same sequence is clean under pg_network."""
    h = harness(scheme="pg_network")
    p = alloc_page(h.m)
    add_to_page_cache_lru(h.m, p, 3)
    F.set_page_flag(h.m, p, F.PG_checked)
    delete_from_page_cache(h.m, 3, p)
    put_page(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE


def test_free_pages_of_a_pinned_page_bypasses_routing(harness) -> None:
    """__free_pages does not route: a PG_pinned page is not fed to a pool even under pg_network."""
    h = harness(scheme="pg_network")
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_pinned)
    __free_pages(h.m, p)
    assert h.kinds() == [] and h.pstate(p) == PS_FREE


def test_dtor_ref1_sets_the_destructor_when_sole_owner(harness) -> None:
    """dtor_ref1: the network put that sees refcount 1 sets dtor and the page goes home."""
    h = harness(scheme="dtor_ref1")
    p = page_pool_alloc_pages(h.m, 0)
    skb_frag_unref(h.m, p)
    assert h.pstate(p) == PS_POOLED and h.page(p)["dtor"] == 0 and h.kinds() == []


def test_dtor_ref1_stray_reference_misroutes(harness) -> None:
    """C2: a tryget held across the network put makes it set nothing; the stray's put misroutes."""
    h = harness(scheme="dtor_ref1")
    p = page_pool_alloc_pages(h.m, 0)
    assert get_page_unless_zero(h.m, p)
    skb_frag_unref(h.m, p)  # sees 2: no destructor
    put_page(h.m, p)  # the stray's final put sends a pool page to the allocator
    assert h.kinds() == ["misrouted-free"] and h.pstate(p) == PS_FREE


def test_pp_magic_recycles_through_the_signature(harness) -> None:
    """pp_magic: skb frag release sees the signature and recycles at refcount 1."""
    h = harness(scheme="pp_magic")
    p = page_pool_alloc_pages(h.m, 0)
    skb_frag_unref(h.m, p)
    assert h.pstate(p) == PS_POOLED and h.kinds() == []


def test_pp_magic_pool_page_through_put_page_is_a_page_pool_leak(harness) -> None:
    """C11 on v6.8 with page checks: a signed pool page freed by put_page is "page_pool leak"."""
    h = harness(scheme="pp_magic", kernel="6.8")
    p = page_pool_alloc_pages(h.m, 0)
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == "page_pool leak"
    assert h.pstate(p) == PS_LEAKED


@pytest.mark.parametrize("options", [{"kernel": "5.12"}, {"kernel": "6.8", "page_checks": False}])
def test_pp_magic_without_the_6_8_check_is_misrouted(harness, options) -> None:
    """Before v6.8, or without its page checks, the allocator takes the pool page silently."""
    h = harness(scheme="pp_magic", **options)
    p = page_pool_alloc_pages(h.m, 0)
    put_page(h.m, p)
    assert h.kinds() == ["misrouted-free"] and h.pstate(p) == PS_FREE
    assert h.anomalies[0].voice().origin == "harness"


def test_pool_handing_out_a_page_it_does_not_hold_is_double_free(harness) -> None:
    """A ring entry for a page that is no longer pooled (a double return) is caught at alloc."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)  # pooled
    h.arena.words[h.arena.layout.pstate + p] = PS_ALLOCATED  # someone else took it meanwhile
    assert page_pool_alloc_pages(h.m, 0) == p
    assert h.kinds() == ["double-free"]
    assert h.anomalies[0].reason == "pool handed out a page that is in use"


def test_lost_recycles_are_judged_against_the_expectation() -> None:
    """lost_recycles = false fails on any lost recycle, true fails on none; unset, not judged."""
    from stress.checks.verdict import verdict
    from stress.scenario import Expect

    none = Expect(clean=True, lost_recycles=False)
    some = Expect(detect=("pool-alloc-refcount",), lost_recycles=True)
    seen = {"pool-alloc-refcount": 1}
    assert verdict(none, {}, False, lost_recycles=0) == "pass"
    assert verdict(none, {}, False, lost_recycles=3) == "fail"
    assert verdict(some, seen, False, lost_recycles=0) == "fail"
    assert verdict(some, seen, False, lost_recycles=3) == "pass"
    assert verdict(none, {}, False, lost_recycles=None) == "pass"  # the explorer counts none


def test_a_stray_tryget_makes_page_pool_put_page_lose_the_recycle(harness) -> None:
    """5.12 __page_pool_put_page: a page found shared is released and put, and counted."""
    from stress.memory.layout import POOL_RELEASED_SHARED
    from stress.model.page_ref import get_page_unless_zero

    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    assert get_page_unless_zero(h.m, p)  # a stray speculative reference
    page_pool_put_page(h.m, 0, p, allow_direct=True)
    assert h.words_at(0, POOL_RELEASED_SHARED) == 1 and h.kinds() == []
