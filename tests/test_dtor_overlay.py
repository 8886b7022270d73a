"""Claim C13: a destructor overlaying lru.next (Johannes) against the LRU list that owns it.

The LRU word follows include/linux/list.h and lib/list_debug.c (5.12): list_add writes a
list pointer, list_del validates it (CONFIG_DEBUG_LIST) and poisons it with LIST_POISON1.
"""

from __future__ import annotations

import pytest
from pages import cached_page

from stress.anomalies import HARNESS, KERNEL
from stress.model import (
    PS_FREE,
    PS_POOLED,
    alloc_page,
    filemap_get_entry,
    get_page,
    page_pool_alloc_pages,
    release_pages,
    skb_frag_unref,
)
from stress.model import flags as F
from stress.model.dtor import DTOR_FILE, destroy_page, set_page_dtor
from stress.model.filemap import __remove_mapping as remove_mapping
from stress.model.filemap import add_to_page_cache_lru, delete_from_page_cache
from stress.model.lru import LIST_POISON1, LRU_LINKED, add_page_to_lru_list

_SCHEME = {"lru": "dtor_ref1_lru", "dtor": "dtor_ref1"}



def test_list_add_links_and_list_del_poisons(harness) -> None:
    """lru.next: a list pointer while on the LRU, LIST_POISON1 once list_del ran."""
    h = harness()
    p = cached_page(h.m)
    assert h.page(p)["lru"] == LRU_LINKED
    assert delete_from_page_cache(h.m, 0, p)
    assert h.pstate(p) == PS_FREE and h.page(p)["lru"] == LIST_POISON1 and h.kinds() == []


@pytest.mark.parametrize("field", ["lru", "dtor"])
def test_an_lru_page_given_a_destructor_at_truncate(harness, field) -> None:
    """Overlaid, the destructor's store is the list's corruption; in its own word, it runs."""
    h = harness(scheme=_SCHEME[field])
    p = cached_page(h.m)
    get_page(h.m, p)  # the truncater's reference, as find_lock_entries takes it
    set_page_dtor(h.m, p, DTOR_FILE)
    assert delete_from_page_cache(h.m, 0, p)
    release_pages(h.m, [p])
    assert h.pstate(p) == PS_FREE
    if field == "dtor":
        assert h.kinds() == [] and h.page(p)["dtor"] == 0
        return
    assert h.kinds() == ["lru-corrupt"]
    a = h.anomalies[0]
    assert a.op == "release_pages" and a.voice().origin == KERNEL
    assert "list_del corruption" in a.voice().says


def test_reclaim_finds_the_overlaid_linkage_corrupt(harness) -> None:
    """isolate_lru_page's list_del sees the destructor where the list pointer was."""
    h = harness(scheme="dtor_ref1_lru")
    p = cached_page(h.m, 3)
    assert filemap_get_entry(h.m, 3) == p and F.trylock_page(h.m, p)
    set_page_dtor(h.m, p, DTOR_FILE)
    assert remove_mapping(h.m, 3, p, 1)
    assert h.kinds() == ["lru-corrupt"] and h.anomalies[0].op == "__remove_mapping"


def test_the_lru_list_writes_over_an_overlaid_destructor(harness) -> None:
    """A destructor set before list_add is gone by the final put: dtor-lost, the harness's."""
    h = harness(scheme="dtor_ref1_lru")
    p = alloc_page(h.m)
    set_page_dtor(h.m, p, DTOR_FILE)
    add_page_to_lru_list(h.m, p)
    assert not destroy_page(h.m, p, "__put_page", keep=False)
    assert h.kinds() == ["dtor-lost"] and h.anomalies[0].voice().origin == HARNESS
    assert h.page(p)["dtor"] == 0  # the harness's record follows what the kernel lost


def test_network_pages_under_the_overlay_go_home(harness) -> None:
    """Never on an LRU, a network page keeps its overlaid destructor to its final put."""
    h = harness(scheme="dtor_ref1_lru")
    p = page_pool_alloc_pages(h.m, 0)
    skb_frag_unref(h.m, p)  # sees refcount 1, sets the destructor, puts
    assert h.pstate(p) == PS_POOLED and h.kinds() == []
    assert h.page(p)["lru"] == 0 and h.page(p)["dtor"] == 0


def test_set_dtor_needs_a_scheme_with_a_destructor(tmp_path) -> None:
    """A truncater giving destructors under a scheme that has none is refused in one line."""
    from stress.scenario import ScenarioError, load_scenario

    f = tmp_path / "s.toml"
    f.write_text('name = "s"\n[model]\nscheme = "pg_network"\n[[roles]]\nrole = "truncater"\n'
                 'mix = { set_dtor = 1.0 }\n[expect]\nclean = true\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert "roles[0].mix.set_dtor" in str(e.value) and "\n" not in str(e.value)


def test_a_dtor_field_that_is_neither_is_a_missing_hook() -> None:
    """dtor_field is optional; when given it must name one of the two places."""
    from types import SimpleNamespace

    from stress.model.scheme import HOOKS, missing_hooks
    from stress.schemes import load_scheme

    hooks = {h: getattr(load_scheme("pg_network"), h) for h in HOOKS}
    assert missing_hooks(SimpleNamespace(**hooks)) == []
    assert missing_hooks(SimpleNamespace(**hooks, dtor_field="mapping")) == [
        "dtor_field (not one of dtor, lru)"]


def test_a_failed_insertion_never_reaches_the_lru(harness) -> None:
    """add_to_page_cache_lru links the page only once it is in the cache (5.12 order)."""
    h = harness()
    cached_page(h.m, 5)
    p = alloc_page(h.m)
    assert not add_to_page_cache_lru(h.m, p, 5)  # the index is taken
    assert h.page(p)["lru"] == 0 and not h.page(p)["flags"] & 1 << F.PG_lru


def test_reclaim_isolates_only_a_page_on_the_lru(harness) -> None:
    """isolate_lru_pages takes PageLRU pages: one off the LRU has no linkage to check."""
    h = harness()
    p = cached_page(h.m, 3)
    F.clear_page_flag(h.m, p, F.PG_lru)
    assert filemap_get_entry(h.m, 3) == p and F.trylock_page(h.m, p)
    assert remove_mapping(h.m, 3, p, 1)
    assert h.kinds() == [] and h.page(p)["lru"] == LRU_LINKED  # never list_del'd
