"""Page cache: lookup with tryget and recheck, truncate, reclaim by freeze."""

from __future__ import annotations

from pages import cached_page

from stress.model import (
    PS_FREE,
    __remove_mapping,
    add_to_page_cache_lru,
    alloc_page,
    check_page_identity,
    delete_from_page_cache,
    filemap_get_entry,
    get_page_unless_zero,
    page_ref_count,
    put_page,
)
from stress.model import flags as F
from stress.model.page_ref import get_page_unless_zero as tryget


def test_lookup_takes_a_reference(harness) -> None:
    """filemap_get_entry returns the cached page with a reference, or -1 for a hole."""
    h = harness()
    p = cached_page(h.m, 2)
    assert filemap_get_entry(h.m, 2) == p and page_ref_count(h.m, p) == 2
    assert filemap_get_entry(h.m, 3) == -1


def test_insert_into_an_occupied_slot_fails_cleanly(harness) -> None:
    """A lost insert race drops the cache reference it took and leaves the page unmapped."""
    h = harness()
    cached_page(h.m, 2)
    q = alloc_page(h.m)
    assert not add_to_page_cache_lru(h.m, q, 2)
    assert page_ref_count(h.m, q) == 1 and h.page(q)["mapping"] == 0 and h.kinds() == []


def test_reclaim_freezes_exactly_cache_plus_isolation(harness) -> None:
    """__remove_mapping frees only when the count is the cache's plus the reclaimer's."""
    h = harness()
    p = cached_page(h.m, 4)
    assert filemap_get_entry(h.m, 4) == p  # the reclaimer's isolation reference
    assert F.trylock_page(h.m, p)  # reclaim holds the page lock, which goes with the page
    assert tryget(h.m, p)  # and a reader's
    assert not __remove_mapping(h.m, 4, p)
    put_page(h.m, p)  # the reader leaves
    assert __remove_mapping(h.m, 4, p)
    assert h.pstate(p) == PS_FREE and filemap_get_entry(h.m, 4) == -1 and h.kinds() == []


def test_truncate_final_put_may_be_a_readers(harness) -> None:
    """After truncate, the reader's put is the final one and frees the page."""
    h = harness()
    p = cached_page(h.m, 1)
    reader = filemap_get_entry(h.m, 1)
    truncater = filemap_get_entry(h.m, 1)
    assert reader == truncater == p
    assert delete_from_page_cache(h.m, 1, p)
    put_page(h.m, p)  # the truncater is done
    assert h.pstate(p) != PS_FREE
    put_page(h.m, p)  # the reader's final put
    assert h.pstate(p) == PS_FREE and h.kinds() == []


def test_lookup_of_a_frozen_page_gives_up(harness) -> None:
    """A slot naming a frozen page fails every tryget; the lookup gives up instead of spinning."""
    h = harness()
    p = cached_page(h.m, 5)
    h.arena.pages["refcount"][p] = 0
    assert filemap_get_entry(h.m, 5) == -1 and h.kinds() == []


def test_identity_check_names_the_mismatch(harness) -> None:
    """A holder whose page now maps another index reports stale-tryget with both indexes."""
    h = harness()
    p = cached_page(h.m, 5)
    assert check_page_identity(h.m, p, 5, "read")
    h.arena.pages["mapping"][p] = 7
    assert not check_page_identity(h.m, p, 5, "read")
    assert h.kinds() == ["stale-tryget"]
    assert h.anomalies[0].reason == "looked up index 5, page now maps index 6"


def test_skipped_recheck_uses_a_recycled_page(harness) -> None:
    """C10 in one thread: a lookup raced by truncate and reuse returns the recycled page."""
    h = harness(lookup_skips_recheck=True)
    p = cached_page(h.m, 6)
    # The reader loaded the slot; before its tryget the page is truncated, freed, reused.
    assert delete_from_page_cache(h.m, 6, p)
    q = alloc_page(h.m)
    assert q == p and add_to_page_cache_lru(h.m, q, 9)
    # Its tryget on the stale pointer succeeds against the new identity...
    assert get_page_unless_zero(h.m, p)
    # ...and without the recheck it uses the page as index 6.
    assert not check_page_identity(h.m, p, 6, "filemap_read")
    assert h.kinds() == ["stale-tryget"]


def test_truncated_under_the_reader_is_dropped_quietly(harness) -> None:
    """A page truncated while the reader held it has mapping 0: drop it, no anomaly."""
    h = harness()
    p = cached_page(h.m, 8)
    assert filemap_get_entry(h.m, 8) == p
    assert delete_from_page_cache(h.m, 8, p)
    assert not check_page_identity(h.m, p, 8, "filemap_read") and h.kinds() == []
