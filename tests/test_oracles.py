"""Issue 10's oracles, each shown firing on a deliberately broken state or variant."""

from __future__ import annotations

import pytest
from pages import cached_page

from stress.checks import audit
from stress.memory.layout import FL_HEAD, FL_HEAD_INDEX, FLAGS, FREELIST_HDR, MAPCOUNT, PP
from stress.model import (
    PS_FREE,
    Machine,
    add_to_page_cache_lru,
    alloc_page,
    delete_from_page_cache,
    filemap_get_entry,
    get_user_pages_fast,
    mark_page_accessed,
    mem_cgroup_uncharge,
    page_memcg,
    page_pool_alloc_pages,
    page_pool_put_page,
    page_ref_count,
    put_page,
    vm_insert_page,
    zap_page,
)
from stress.model import flags as F
from stress.model.page_alloc import _free_list_push
from stress.model.page_pool import pp_encode
from stress.model.zerocopy import check_gup_identity
from stress.schemes import load_scheme


def other_worker(h, worker: int = 1) -> Machine:
    """A second machine over the same arena, as another worker process would have."""
    return Machine(h.arena, h.m.cfg, load_scheme(h.m.cfg.scheme), h.anomalies.append,
                   worker=worker)



# Exclusion: the page lock and the free list.


def test_correct_page_lock_is_silent(harness) -> None:
    """Lock, unlock, lock from another worker: no anomaly, and the audit agrees."""
    h = harness()
    p = alloc_page(h.m)
    assert F.trylock_page(h.m, p) and not F.trylock_page(other_worker(h), p)
    F.unlock_page(h.m, p)
    assert F.trylock_page(other_worker(h), p)
    F.unlock_page(other_worker(h), p)
    assert h.kinds() == [] and audit(h.arena, h.m.scheme).counts.get("page-lock-violation") is None


def test_two_holders_of_a_page_lock_are_reported(harness) -> None:
    """A lock whose bit was cleared behind its holder's back is taken twice: reported."""
    h = harness()
    p = alloc_page(h.m)
    assert F.trylock_page(h.m, p)
    F.clear_page_flag(h.m, p, F.PG_locked)  # a broken unlock path: the bit without the holder
    assert F.trylock_page(other_worker(h), p)
    assert h.kinds() == ["page-lock-violation"]
    assert h.anomalies[0].reason == "took the page lock that worker 0 holds"


def test_unlock_by_a_non_holder_is_reported(harness) -> None:
    """Worker 1 unlocking worker 0's page lock is a violation naming the holder."""
    h = harness()
    p = alloc_page(h.m)
    assert F.trylock_page(h.m, p)
    F.unlock_page(other_worker(h), p)
    assert h.kinds() == ["page-lock-violation"]
    assert "worker 0 holds" in h.anomalies[0].reason


def test_mark_page_accessed_beside_a_lock_holder_is_silent(harness) -> None:
    """A reader marks a page accessed twice (PG_referenced set, then cleared) while a
    truncater holds its lock: the lock bit survives, the unlock is clean."""
    h = harness()
    p = cached_page(h.m)
    truncater = other_worker(h)
    assert F.trylock_page(truncater, p)
    mark_page_accessed(h.m, p)
    assert F.test_page_flag(h.m, p, F.PG_referenced)
    mark_page_accessed(h.m, p)
    assert not F.test_page_flag(h.m, p, F.PG_referenced)
    assert F.test_page_flag(h.m, p, F.PG_locked)
    F.unlock_page(truncater, p)
    assert h.kinds() == []


def test_a_lock_bit_lost_under_its_holder_is_reported_at_unlock(harness) -> None:
    """A flag write that loads the word, then stores it back after a trylock (a
    non-atomic ClearPageReferenced) wipes PG_locked: the holder's unlock finds it clear."""
    h = harness()
    p = cached_page(h.m)
    mark_page_accessed(h.m, p)  # PG_referenced set: the next access clears it
    word = h.m.page(p) + FLAGS
    stale = h.m.mem.load(word)  # the reader's load ...
    truncater = other_worker(h)
    assert F.trylock_page(truncater, p)  # ... the truncater's lock in between ...
    h.m.mem.store(word, stale & ~(1 << F.PG_referenced))  # ... and the reader's store
    F.unlock_page(truncater, p)
    assert h.kinds() == ["page-lock-violation"]
    assert "PG_locked was already clear" in h.anomalies[0].reason


def test_audit_finds_a_lock_bit_without_holder(harness) -> None:
    """PG_locked set with no holder known (a SetPageLocked outside the lock API)."""
    h = harness()
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_locked)
    r = audit(h.arena, h.m.scheme)
    assert r.counts["page-lock-violation"] == 1 and r.anomalies[-1].page == p


def test_a_page_popped_twice_is_a_free_list_violation(harness) -> None:
    """A page pushed on the free list while in use (an ABA) is not handed out again."""
    h = harness()
    p = alloc_page(h.m)
    _free_list_push(h.m, p)  # what a lost race on an untagged head does
    q = alloc_page(h.m)
    assert q != p and h.kinds() == ["free-list-violation"]
    assert h.anomalies[0].reason == "taken off the free list while in use"
    assert page_ref_count(h.m, p) == 1  # the holder's page was not touched


@pytest.mark.parametrize("damage", ["cycle", "not-free", "missing"])
def test_audit_walks_the_free_list(harness, damage: str) -> None:
    """A cycle, a page on the list that is not free, a free page off the list: each found."""
    h = harness()
    L, words = h.arena.layout, h.arena.words
    nxt = L.freelist + FREELIST_HDR
    top = int(words[L.freelist + FL_HEAD]) & FL_HEAD_INDEX
    if damage == "cycle":
        words[nxt + top - 1] = top  # the head links to itself
    elif damage == "not-free":
        words[L.pstate + top - 1] = 2  # marked in use while still on the list
    else:
        words[L.freelist + FL_HEAD] = words[nxt + top - 1]  # the head page falls off
    r = audit(h.arena, h.m.scheme)
    assert r.counts.get("free-list-violation", 0) >= 1, r.counts


def test_free_list_audit_is_silent_on_a_healthy_arena(harness) -> None:
    """After allocations and frees the walk agrees with the page states."""
    h = harness()
    pages = [alloc_page(h.m) for _ in range(10)]
    for p in pages[::2]:
        put_page(h.m, p)
    assert audit(h.arena, h.m.scheme).counts.get("free-list-violation") is None


# Identity: pool contents, page-cache slots, PTEs, lockless lookups.


def test_pool_page_whose_pp_names_another_pool(harness) -> None:
    """A page in pool 0's cache whose pp word names pool 1 is a mapping-mismatch."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p, allow_direct=True)  # recycled into the cache
    assert audit(h.arena, h.m.scheme).counts == {}
    h.arena.words[h.m.page(p) + PP] = pp_encode(1)
    res = audit(h.arena, h.m.scheme)
    assert res.counts == {"mapping-mismatch": 1} and "does not name pool 0" in \
        res.anomalies[0].reason


def test_pool_page_twice_across_pools_is_double_free(harness) -> None:
    """One page in two pools' caches is a double free, however each got there."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p, allow_direct=True)
    L, words = h.arena.layout, h.arena.words
    words[L.pool_cache(1)] = p
    words[L.pool(1) + 3] = 1
    res = audit(h.arena, h.m.scheme)
    assert res.counts["double-free"] >= 1


def test_cache_slot_and_mapping_must_agree(harness) -> None:
    """A slot naming a page whose mapping says another index is a mapping-mismatch."""
    h = harness()
    p = cached_page(h.m, 3)
    assert audit(h.arena, h.m.scheme).counts.get("mapping-mismatch") is None
    h.arena.pages["mapping"][p] = 5
    res = audit(h.arena, h.m.scheme)
    assert res.counts["mapping-mismatch"] == 1
    assert "slot 3 names it, its mapping is 4" in res.anomalies[-1].reason


def test_mapcount_counts_the_ptes(harness) -> None:
    """A PTE that maps a page its mapcount does not count is a mapping-mismatch."""
    h = harness()
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, 2, 1)
    assert audit(h.arena, h.m.scheme).counts.get("mapping-mismatch") is None
    h.arena.words[h.arena.layout.pte + 7] = p + 1  # a second PTE, not counted
    res = audit(h.arena, h.m.scheme)
    assert res.counts["mapping-mismatch"] == 1 and "2 PTEs map it" in res.anomalies[-1].reason


def test_zap_of_a_pte_that_maps_another_page(harness) -> None:
    """munmap finds its PTE rewritten to another page: mapping-mismatch, PTE left alone."""
    h = harness()
    p, q = alloc_page(h.m), alloc_page(h.m)
    assert vm_insert_page(h.m, p, 4, 1)
    h.arena.words[h.arena.layout.pte + 4] = q + 1
    zap_page(h.m, p, 4)
    assert h.kinds() == ["mapping-mismatch"]
    assert h.anomalies[0].reason == f"PTE 4 maps page {q}, not the page mapped there"
    assert h.arena.words[h.arena.layout.pte + 4] == q + 1


def test_gup_rechecks_and_keeps_identity(harness) -> None:
    """GUP-fast raced by munmap, free and reuse retries: the recheck sees the PTE change."""
    h = harness(delays={"lookup_tryget": 1})
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, 1, 1)
    put_page(h.m, p)  # only the mapping's reference is left
    raced = []

    def munmap_and_reuse(_: float) -> None:
        if not raced:
            raced.append(1)
            zap_page(h.m, p, 1)  # the final put: p is freed
            q = alloc_page(h.m)  # and reused, now mapped elsewhere
            assert q == p and vm_insert_page(h.m, q, 6, 1)

    h.m.spin = munmap_and_reuse
    assert get_user_pages_fast(h.m, 1) == -1  # the PTE is empty after the retry
    assert h.kinds() == []


def test_lookup_without_recheck_is_a_stale_tryget_at_the_tryget(harness) -> None:
    """The tryget lands on the page after its free and reuse: reported by the lookup itself."""
    h = harness(lookup_skips_recheck=True, delays={"lookup_tryget": 1})
    p = cached_page(h.m, 6)
    gen = h.m.gen(p)

    def truncate_and_reuse(_: float) -> None:
        h.m.spin = lambda _: None
        assert delete_from_page_cache(h.m, 6, p)
        assert alloc_page(h.m) == p and add_to_page_cache_lru(h.m, p, 9)

    h.m.spin = truncate_and_reuse
    assert filemap_get_entry(h.m, 6) == p
    assert h.kinds() == ["stale-tryget"]
    a = h.anomalies[0]
    assert a.op == "filemap_get_entry" and a.detail["seen_gen"] == gen
    assert f"generation {gen}" in a.reason


def test_audit_is_silent_after_a_mixed_workload(harness) -> None:
    """Cache, PTEs, locks and frees in a row leave every structure audit clean."""
    h = harness()
    p = cached_page(h.m, 1)
    q = alloc_page(h.m)
    assert vm_insert_page(h.m, q, 3, 1)
    put_page(h.m, q)  # only the mapping holds it
    assert filemap_get_entry(h.m, 1) == p and F.trylock_page(h.m, p)
    assert delete_from_page_cache(h.m, 1, p)
    F.unlock_page(h.m, p)
    put_page(h.m, p)  # the truncater's reference: the final put
    zap_page(h.m, q, 3)  # the final put of q
    assert h.pstate(p) == PS_FREE and h.pstate(q) == PS_FREE and h.kinds() == []
    assert audit(h.arena, h.m.scheme).counts == {}


def test_a_ring_cell_not_handed_back_is_a_ring_violation(harness) -> None:
    """A consumed cell whose sequence was not advanced breaks the ring's invariant."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p)  # into the ring (not the owner's cache: allow_direct off)
    assert audit(h.arena, h.m.scheme).counts == {}
    L, words = h.arena.layout, h.arena.words
    base = L.pool_ring(0)
    assert page_pool_alloc_pages(h.m, 0) == p  # consumed: its cell is handed back
    words[base + 2] = 1  # ... as if the consumer had not advanced the sequence
    res = audit(h.arena, h.m.scheme)  # (the page the test took is nobody's: a lost-update)
    [ring] = [a for a in res.anomalies if a.kind == "ring-violation"]
    assert "pool 0's ring: cell 0 (empty" in ring.reason


def test_a_free_page_with_a_stale_destructor_is_bad(harness) -> None:
    """A page back on the free list still naming a destructor is reported by the audit."""
    h = harness(scheme="dtor_ref1")
    p = alloc_page(h.m)
    put_page(h.m, p)
    assert audit(h.arena, h.m.scheme).counts == {}
    h.arena.pages["dtor"][p] = 1
    res = audit(h.arena, h.m.scheme)
    assert res.counts == {"bad-page": 1}
    assert res.anomalies[0].reason == "a free page with a stale dtor (1)"


def test_a_pool_page_that_is_not_pooled_is_double_free(harness) -> None:
    """A pool's cache naming a page that is in use (handed out, still listed) is reported."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    L, words = h.arena.layout, h.arena.words
    words[L.pool_cache(0)] = p  # listed in the cache while the driver holds it
    words[L.pool(0) + 3] = 1  # POOL_CACHE_COUNT
    res = audit(h.arena, h.m.scheme)
    [a] = [x for x in res.anomalies if x.kind == "double-free"]
    assert a.page == p and a.reason == "in pool 0, but the page is not pooled"


@pytest.mark.parametrize("where", ["pool", "cache", "pte"])
def test_a_structure_naming_a_page_outside_the_arena(harness, where: str) -> None:
    """A damaged entry beyond the arena is one mapping-mismatch, never an IndexError."""
    h = harness(scheme="driver_ref")
    L, words = h.arena.layout, h.arena.words
    n = L.config.npages
    if where == "pool":
        words[L.pool_cache(1)] = n + 5
        words[L.pool(1) + 3] = 1  # POOL_CACHE_COUNT
        label = f"pool 1 holds {n + 5}"
    elif where == "cache":
        words[L.cache + 2] = n + 6  # page + 1
        label = f"the page cache holds {n + 5}"
    else:
        words[L.pte + 3] = n + 6
        label = f"the PTE table holds {n + 5}"
    res = audit(h.arena, h.m.scheme)
    # (a pool entry also counts in the pools' total: conservation says so too)
    assert res.counts == {"mapping-mismatch": 1} | ({"conservation": 1} if where == "pool"
                                                    else {})
    assert res.anomalies[0].reason == f"{label}: not a page of the arena"


def test_a_free_list_link_outside_the_arena(harness) -> None:
    """A next link past the last page ends the walk with a free-list-violation."""
    h = harness()
    L, words = h.arena.layout, h.arena.words
    top = int(words[L.freelist + FL_HEAD]) & FL_HEAD_INDEX
    words[L.freelist + FREELIST_HDR + top - 1] = L.config.npages + 10
    res = audit(h.arena, h.m.scheme)
    assert any(x.kind == "free-list-violation" and "outside the arena" in x.reason
               for x in res.anomalies)


def test_a_holder_without_the_lock_bit(harness) -> None:
    """PG_locked cleared behind the holder's back: the audit names the holder it still knows."""
    h = harness()
    p = alloc_page(h.m)
    assert F.trylock_page(h.m, p)
    F.clear_page_flag(h.m, p, F.PG_locked)
    res = audit(h.arena, h.m.scheme)
    [a] = [x for x in res.anomalies if x.kind == "page-lock-violation"]
    assert a.page == p and a.reason == "PG_locked clear, the harness knows holder token 2"


# GUP-fast's identity: a PTE that still names a page names that page, not a reuse of it.


def _munmap_without_clearing_the_pte(h, p: int) -> None:
    """A broken zap_pte_range: page_remove_rmap and the put, but the PTE left set."""
    h.arena.words[h.m.page(p) + MAPCOUNT] -= 1
    put_page(h.m, p)


def test_gup_through_a_correct_munmap_is_silent(harness) -> None:
    """Mapped, GUP-fast, unmapped, freed, reused and mapped again at the same PTE: no anomaly."""
    h = harness()
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=1)
    assert get_user_pages_fast(h.m, 0) == p
    put_page(h.m, p)
    zap_page(h.m, p, pte=0)
    put_page(h.m, p)  # the owner's: the page is free
    assert alloc_page(h.m) == p and vm_insert_page(h.m, p, pte=0, memcg=1)
    assert get_user_pages_fast(h.m, 0) == p
    assert h.kinds() == []


def test_gup_of_a_page_reused_under_its_pte_is_a_stale_tryget(harness) -> None:
    """A PTE left naming a freed, reused page: tryget and recheck pass, the oracle fires."""
    h = harness()
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=1)
    _munmap_without_clearing_the_pte(h, p)
    put_page(h.m, p)  # the owner's: the page is free, the PTE still names it
    assert alloc_page(h.m) == p  # reused by someone else
    assert get_user_pages_fast(h.m, 0) == p  # the kernel's recheck passes: same pte value
    assert h.kinds() == ["stale-tryget"]
    assert "freed and reused while still mapped" in h.anomalies[0].reason


def test_gup_after_a_remap_of_the_pte_says_nothing(harness) -> None:
    """The shadow names another page (the PTE was remapped): not this oracle's to judge."""
    h = harness()
    p, q = alloc_page(h.m), alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=1)
    assert get_user_pages_fast(h.m, 0) == p
    zap_page(h.m, p, pte=0)
    assert vm_insert_page(h.m, q, pte=0, memcg=1)
    assert check_gup_identity(h.m, p, 0) and h.kinds() == []


# memcg lifetime: a charge made for the page's lifetime lasts until it is freed.


def _escapes(h) -> int:
    """memcg-escapes a quiescent audit finds (the test's own reference is in no ledger)."""
    return audit(h.arena, h.m.scheme).counts.get("memcg-escape", 0)


def test_a_lifetime_charge_kept_to_the_free_is_silent(harness) -> None:
    """memcg=lifetime, mapped, unmapped, freed: uncharged at the free, no anomaly, audit clean."""
    h = harness(memcg="lifetime")
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=2)
    zap_page(h.m, p, pte=0)
    assert page_memcg(h.m, p) == 2 and _escapes(h) == 0
    put_page(h.m, p)
    assert page_memcg(h.m, p) == 0 and h.kinds() == []
    assert audit(h.arena, h.m.scheme).counts == {}


def test_a_lifetime_charge_ended_at_unmap_is_found_at_the_free(harness) -> None:
    """A lifetime page uncharged at its last unmap, in no pipe: its free reports it."""
    h = harness(memcg="lifetime")
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=2)
    zap_page(h.m, p, pte=0)
    mem_cgroup_uncharge(h.m, p, at_free=False)  # the broken unmap
    assert h.kinds() == []  # nobody reads the page: memcg-escape's old check never runs
    put_page(h.m, p)
    assert h.kinds() == ["memcg-escape"]
    assert "for its lifetime, found charged to none" in h.anomalies[0].reason


def test_the_audit_finds_a_lifetime_charge_gone_before_the_free(harness) -> None:
    """At a quiescent audit, a live page whose lifetime charge is gone is a memcg-escape."""
    h = harness(memcg="lifetime")
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=2)
    mem_cgroup_uncharge(h.m, p, at_free=False)
    r = audit(h.arena, h.m.scheme)
    assert r.counts["memcg-escape"] == 1
    assert [a.page for a in r.anomalies if a.kind.value == "memcg-escape"] == [p]


def test_a_socket_charge_is_not_held_to_the_free(harness) -> None:
    """memcg=unmap charges as socket memory and uncharges at the last unmap: no lifetime record."""
    h = harness(memcg="unmap")
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=2)
    zap_page(h.m, p, pte=0)
    assert page_memcg(h.m, p) == 0 and _escapes(h) == 0
    put_page(h.m, p)
    assert h.kinds() == []
