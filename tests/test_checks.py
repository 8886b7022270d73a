"""Each audit invariant, shown firing on a deliberately broken arena and quiet on a sane one."""

from __future__ import annotations

import pytest

from stress.checks import audit, final_audit, live_scan
from stress.checks.verdict import verdict
from stress.memory.layout import FL_COUNT, G_NR_LEAKED, POOL_RELEASE_CNT, W_LEDGER_LEN
from stress.model import (
    PS_POOLED,
    add_to_page_cache_lru,
    alloc_page,
    get_page_unless_zero,
    page_pool_alloc_pages,
    page_pool_destroy,
    page_pool_put_page,
    put_page,
    vm_insert_page,
)
from stress.scenario import Expect


def publish(h, pages: list[int], worker: int = 0) -> None:
    """Write a worker ledger, as a parked worker does."""
    L = h.arena.layout
    for k, p in enumerate(pages):
        h.arena.words[L.ledger(worker) + k] = p
    h.arena.words[L.worker(worker) + W_LEDGER_LEN] = len(pages)


def kinds(result) -> dict[str, int]:
    return result.counts


def test_consistent_arena_audits_clean(harness) -> None:
    """Pages held by a ledger, the page cache and a PTE all add up: nothing to report."""
    h = harness()
    a, b, c = alloc_page(h.m), alloc_page(h.m), alloc_page(h.m)
    add_to_page_cache_lru(h.m, b, 1)
    put_page(h.m, b)  # only the cache holds b
    vm_insert_page(h.m, c, pte=2, memcg=1)
    publish(h, [a, c])
    assert kinds(audit(h.arena, h.m.scheme)) == {}


def test_unaccounted_reference_is_lost_update(harness) -> None:
    """A refcount above what every holder accounts for is a lost update."""
    h = harness()
    a = alloc_page(h.m)
    publish(h, [])  # the ledger forgets the reference
    r = audit(h.arena, h.m.scheme)
    assert r.counts == {"lost-update": 1} and r.anomalies[0].page == a
    assert r.anomalies[0].reason == "refcount 1, holders account for 0"


def test_negative_refcount_is_underflow_in_audit_and_scan(harness) -> None:
    """A negative count is reported by the live scan and by the audit."""
    h = harness()
    h.arena.pages["refcount"][9] = -1
    assert list(live_scan(h.arena)) == [9]
    assert audit(h.arena, h.m.scheme).counts.get("refcount-underflow") == 1


@pytest.mark.parametrize(
    ("corrupt", "reason"),
    [
        (lambda h: h.arena.words.__setitem__(h.arena.layout.freelist + FL_COUNT,
                                             h.arena.words[h.arena.layout.freelist + FL_COUNT] - 1),
         "free list holds"),
        (lambda h: h.arena.words.__setitem__(h.arena.layout.pstate + 3, PS_POOLED),
         "pools hold 0, 1 pages are pooled"),
        (lambda h: h.arena.words.__setitem__(h.arena.layout.globals + G_NR_LEAKED, 2),
         "2 pages reported leaked, 0 are"),
        (lambda h: h.arena.words.__setitem__(h.arena.layout.pstate + 3, 0),
         "!= 64"),
    ],
    ids=["free-list", "pools", "leaked", "total"],
)
def test_each_conservation_clause_fires(harness, corrupt, reason: str) -> None:
    """Free list, pools, leak count and the total each break conservation on their own."""
    h = harness()
    corrupt(h)
    r = audit(h.arena, h.m.scheme)
    conservation = [a for a in r.anomalies if a.kind == "conservation"]
    assert r.counts["conservation"] == 1 and reason in conservation[0].reason


def test_ring_page_with_extra_reference_is_pool_refcnt_violation(harness) -> None:
    """driver_ref: a tryget on a ring page leaves it at 2, which the audit reports."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)
    assert get_page_unless_zero(h.m, p)
    publish(h, [p])
    assert audit(h.arena, h.m.scheme).counts == {"pool-refcnt-violation": 1}


def test_pool_hands_out_a_referenced_page(harness) -> None:
    """driver_ref: allocation from a ring page someone still references is reported at once."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)
    assert get_page_unless_zero(h.m, p)
    assert page_pool_alloc_pages(h.m, 0) == p
    assert h.kinds() == ["pool-alloc-refcount"]


def test_release_counter_above_hold_is_inflight_negative(harness) -> None:
    """A pool whose release_cnt exceeds hold_cnt is reported by the audit."""
    h = harness()
    h.arena.words[h.arena.layout.pool(1) + POOL_RELEASE_CNT] = 1
    assert audit(h.arena, h.m.scheme).counts == {"pool-inflight-negative": 1}


def test_memcg_counter_disagreement_is_memcg_mismatch(harness) -> None:
    """A cgroup counter that disagrees with the pages charged to it is reported."""
    h = harness(memcg="lifetime")
    p = alloc_page(h.m)
    vm_insert_page(h.m, p, pte=0, memcg=2)
    publish(h, [p])
    assert audit(h.arena, h.m.scheme).counts == {}
    h.arena.words[h.arena.layout.memcg + 2] += 1
    assert audit(h.arena, h.m.scheme).counts == {"memcg-mismatch": 1}


def test_page_still_in_use_after_drain_is_a_leak(harness) -> None:
    """After the final drain, an allocated page nobody holds is a page leak."""
    h = harness()
    p = alloc_page(h.m)
    h.arena.pages["refcount"][p] = 0  # its holder vanished without a put
    r = final_audit(h.arena, h.m.scheme)
    assert r.counts == {"page-leak": 1} and r.anomalies[0].page == p


def test_drained_pools_leave_nothing(harness) -> None:
    """Pages recycled into a pool are returned by destroy; the final audit is clean."""
    h = harness(scheme="pg_network")
    pages = [page_pool_alloc_pages(h.m, 0) for _ in range(5)]
    for p in pages:
        put_page(h.m, p)
    assert page_pool_destroy(h.m, 0) == 0
    assert final_audit(h.arena, h.m.scheme).counts == {}


def test_verdicts() -> None:
    """pass/fail/error from the expectation, ignoring health kinds for the model's verdict."""
    clean, buggy = Expect(clean=True), Expect(detect=("misrouted-free",), forbid=("bad-page",))
    assert verdict(clean, {}, False) == "pass"
    assert verdict(clean, {"lost-update": 1}, False) == "fail"
    assert verdict(buggy, {"misrouted-free": 3}, False) == "pass"
    assert verdict(buggy, {"misrouted-free": 3, "bad-page": 1}, False) == "fail"
    assert verdict(buggy, {}, False) == "fail"
    assert verdict(clean, {}, True) == "error"
