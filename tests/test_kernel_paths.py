"""Both final-put paths, the kernel profiles and each report's origin, per v5.12.9 and v6.8.

Each test names the kernel function it follows; the model's docstrings cite the file.
"""

from __future__ import annotations

import pytest

from stress.anomalies import HARNESS, KERNEL, VOICES, Kind, PageBug
from stress.model import (
    PS_FREE,
    PS_LEAKED,
    PS_POOLED,
    MmuGather,
    alloc_page,
    get_page,
    page_pool_alloc_pages,
    page_pool_destroy,
    page_pool_put_page,
    page_ref_count,
    page_ref_sub,
    put_page,
    release_pages,
    tlb_finish_mmu,
    vm_insert_page,
    zap_pte,
)
from stress.model import flags as F
from stress.model.filemap import __remove_mapping as remove_mapping
from stress.model.filemap import add_to_page_cache_lru
from stress.model.lru import lru_cache_add
from stress.model.page_ref import get_page_unless_zero

# release_pages (mm/swap.c, 5.12): the door that never calls __put_page.


@pytest.mark.parametrize("scheme, pooled", [("pg_network", True),
                                            ("pg_network_put_page_only", False)])
def test_release_pages_asks_the_scheme_or_frees_to_the_allocator(harness, scheme, pooled) -> None:
    """A network page's last put in release_pages: home only if the scheme hooks that door."""
    h = harness(scheme=scheme)
    p = page_pool_alloc_pages(h.m, 0)
    release_pages(h.m, [p])
    if pooled:
        assert h.kinds() == [] and h.pstate(p) == PS_POOLED
    else:  # the mutation this claim (C12) is about: a scheme hooked in __put_page only
        assert h.kinds() == ["misrouted-free"] and h.pstate(p) == PS_FREE
        a = h.anomalies[0]
        assert a.op == "release_pages" and a.voice().origin == HARNESS
        assert page_pool_destroy(h.m, 0) == 1  # the pool still counts it: a stalled shutdown


def test_release_pages_frees_the_batch_it_took_to_zero_only(harness) -> None:
    """Only the pages whose count reaches 0 are freed; LRU flags go with PG_lru, uncharged."""
    h = harness(memcg="lifetime")
    p, q = alloc_page(h.m), alloc_page(h.m)
    get_page(h.m, q)
    lru_cache_add(h.m, p)
    F.set_page_flag(h.m, p, F.PG_active)
    release_pages(h.m, [p, q])
    assert h.pstate(p) == PS_FREE and page_ref_count(h.m, q) == 1 and h.kinds() == []


def test_munmap_batches_references_until_the_gather_is_flushed(harness) -> None:
    """zap_pte_range clears the PTE and mapcount at once; the reference waits in the batch."""
    h = harness()
    tlb = MmuGather(2)
    pages = [alloc_page(h.m) for _ in range(3)]
    for k, p in enumerate(pages):
        assert vm_insert_page(h.m, p, k, 1)
        put_page(h.m, p)  # only the mapping's reference left
    zap_pte(h.m, tlb, pages[0], 0)
    assert h.page(pages[0])["mapcount"] == -1 and page_ref_count(h.m, pages[0]) == 1
    assert tlb.pages == [pages[0]]
    zap_pte(h.m, tlb, pages[1], 1)  # the batch is full: __tlb_remove_page forces a flush
    assert tlb.pages == [] and h.pstate(pages[0]) == h.pstate(pages[1]) == PS_FREE
    zap_pte(h.m, tlb, pages[2], 2)
    assert h.pstate(pages[2]) != PS_FREE
    tlb_finish_mmu(h.m, tlb)
    assert h.pstate(pages[2]) == PS_FREE and h.kinds() == []


def test_vm_insert_page_refuses_a_page_at_refcount_zero_in_both_kernels(harness) -> None:
    """mm/memory.c, v5.12.9 and v6.8 alike: `if (!page_count(page)) return -EINVAL`."""
    for kernel in ("5.12", "6.8"):
        h = harness(kernel=kernel)
        p = alloc_page(h.m)  # a fresh page each time: the arena is shared
        put_page(h.m, p)
        assert not vm_insert_page(h.m, p, 0, 1) and h.kinds() == []


# __clear_page_lru_flags and page_bad_reason.


def test_active_and_unevictable_together_are_left_to_bad_page(harness) -> None:
    """include/linux/mm_inline.h: "this shouldn't happen, so leave the flags to bad_page()"."""
    h = harness()
    p = alloc_page(h.m)
    lru_cache_add(h.m, p)
    for nr in (F.PG_active, F.PG_unevictable):
        F.set_page_flag(h.m, p, nr)
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"]
    assert h.anomalies[0].reason == "PAGE_FLAGS_CHECK_AT_FREE flag(s) set"


def test_page_pool_leak_is_the_last_reason_and_overrides_the_others(harness) -> None:
    """v6.8 page_bad_reason tests pp_magic last: a charged, mapped pool page is "page_pool leak"."""
    h = harness(scheme="pp_magic", kernel="6.8", memcg="lifetime")
    p = page_pool_alloc_pages(h.m, 0)
    h.arena.pages["mapcount"][p] = 0
    h.arena.pages["memcg"][p] = 1
    put_page(h.m, p)
    assert h.kinds() == ["bad-page"] and h.anomalies[0].reason == "page_pool leak"
    assert h.anomalies[0].voice().origin == KERNEL


# The profiles: where each kernel checks.


@pytest.mark.parametrize("kernel, checks, bad", [("5.12", True, True), ("5.12", False, True),
                                                 ("6.8", True, True), ("6.8", False, False)])
def test_a_mapped_page_at_free_per_profile(harness, kernel, checks, bad) -> None:
    """mapping is checked on 5.12 either way (bulkfree_pcp_prepare), on 6.8 only with checks."""
    h = harness(kernel=kernel, page_checks=checks)
    p = alloc_page(h.m)
    h.arena.pages["mapping"][p] = 3
    put_page(h.m, p)
    assert h.kinds() == (["bad-page"] if bad else [])
    assert h.pstate(p) == (PS_LEAKED if bad else PS_FREE)


@pytest.mark.parametrize("kernel, checks, bad", [("5.12", False, True), ("6.8", False, False),
                                                 ("6.8", True, True)])
def test_allocation_checks_only_with_check_pages_enabled_on_6_8(harness, kernel, checks,
                                                                bad) -> None:
    """6.8 check_new_pages: `if (is_check_pages_enabled())`; 5.12 checks at pcp refill anyway."""
    h = harness(kernel=kernel, page_checks=checks)
    h.arena.pages["flags"][0] = 1 << F.PG_dirty  # the free list's head page is dirty
    p = alloc_page(h.m)
    assert h.kinds() == (["bad-page"] if bad else [])
    assert p == (1 if bad else 0)  # a bad page is leaked and the next one taken


# Who would notice: the origin of each report.


def test_a_put_at_zero_is_the_kernels_bug_and_below_zero_the_harness_finding(harness) -> None:
    """put_page_testzero's VM_BUG_ON looks for 0 only: a negative count goes on, unnoticed."""
    h = harness()
    p = alloc_page(h.m)
    put_page(h.m, p)
    with pytest.raises(PageBug):
        put_page(h.m, p)
    assert h.anomalies[0].voice().origin == KERNEL
    h.arena.pages["refcount"][p] = -1
    put_page(h.m, p)  # no PageBug: the kernel would not stop here
    assert [a.voice().origin for a in h.anomalies[1:]] == [HARNESS, HARNESS]


def test_page_ref_sub_to_zero_is_the_harness_finding(harness) -> None:
    """page_ref_sub checks nothing: only the harness sees the last reference go unfreed."""
    h = harness()
    p = alloc_page(h.m)
    page_ref_sub(h.m, p, 1)
    assert h.kinds() == ["refcount-underflow"] and h.anomalies[0].voice().origin == HARNESS


def test_a_vm_bug_on_without_page_checks_is_the_harness_own(harness) -> None:
    """get_page on a free page without CONFIG_DEBUG_VM: reported as the harness's, no abort."""
    h = harness(page_checks=False)
    p = alloc_page(h.m)
    put_page(h.m, p)
    get_page(h.m, p)
    v = h.anomalies[0].voice()
    assert v.origin == HARNESS and "without page checks" in v.says
    assert h.anomalies[0].to_dict()["origin"] == HARNESS


def test_every_kind_has_a_voice_with_words() -> None:
    """Each kind says who would notice and, in the kernel's words or its silence, what happens."""
    for kind in Kind:
        v = VOICES[kind]
        assert v.origin in (KERNEL, HARNESS) and v.says


# page_pool_empty_ring: ring pages only, at destroy.


def test_destroy_checks_ring_pages_but_not_the_alloc_cache(harness) -> None:
    """page_pool_empty_alloc_cache_once returns cache pages unchecked; the ring's are checked."""
    h = harness(scheme="driver_ref")
    p = page_pool_alloc_pages(h.m, 0)
    page_pool_put_page(h.m, 0, p, allow_direct=True)  # into the owner's alloc cache
    assert get_page_unless_zero(h.m, p)
    page_pool_destroy(h.m, 0)
    assert h.kinds() == []
    q = page_pool_alloc_pages(h.m, 1)
    page_pool_put_page(h.m, 1, q)  # not direct: the ring
    assert get_page_unless_zero(h.m, q)
    page_pool_destroy(h.m, 1)
    assert h.kinds() == ["pool-refcnt-violation"] and h.anomalies[0].voice().origin == KERNEL


# __remove_mapping (mm/vmscan.c, 5.12): the PageDirty recheck after the freeze.


def test_reclaim_unfreezes_a_page_dirtied_after_its_check(harness) -> None:
    """page_ref_freeze, then `if (unlikely(PageDirty(page))) page_ref_unfreeze(...)`: kept."""
    h = harness()
    p = alloc_page(h.m)
    add_to_page_cache_lru(h.m, p, 3)
    assert F.trylock_page(h.m, p)
    F.set_page_flag(h.m, p, F.PG_dirty)
    assert not remove_mapping(h.m, 3, p, 1)
    assert page_ref_count(h.m, p) == 2 and h.kinds() == []
    F.clear_page_flag(h.m, p, F.PG_dirty)
    assert remove_mapping(h.m, 3, p, 1)
    assert h.pstate(p) == PS_FREE and h.kinds() == []


# What a profile does not have is refused in one line.


@pytest.mark.parametrize("model, roles, key", [
    ('debug_vm = false', "", "model.debug_vm"),
    ('check_page_pool_at_free = true', "", "model.check_page_pool_at_free"),
    ('kernel = "6.8"', "release_share = 0.25", "roles[0].release_share"),
    ('kernel = "5.13"', "", "model.kernel"),
])
def test_a_key_the_profile_lacks_is_refused(tmp_path, model, roles, key) -> None:
    """Replaced keys name their replacement; 6.8 has no page_pool_release_page; unknown kernels."""
    from stress.scenario import ScenarioError, load_scenario

    f = tmp_path / "s.toml"
    f.write_text(f'name = "s"\n[model]\nscheme = "driver_ref"\n{model}\n'
                 f'[[roles]]\nrole = "nic"\n{roles}\n[expect]\nclean = true\n')
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert key in str(e.value) and "\n" not in str(e.value)


def test_the_report_says_who_would_notice() -> None:
    """The text account ends with the kernel's words, or says only the harness sees it."""
    from stress.surfaces.report import voice_line

    assert "kernel says so itself: BUG" in voice_line({"origin": "kernel", "says": "BUG"})
    assert "Only the harness" in voice_line({"origin": "harness", "says": "silent"})
    assert voice_line({}) == ""  # a record from before origins: nothing claimed


def test_the_report_header_names_the_kernel_profile() -> None:
    """A run's report says which kernel it followed and whether its page checks ran."""
    from stress.summary import ModelFacts
    from stress.surfaces.report import kernel_words

    assert kernel_words(ModelFacts.from_dict({"kernel": "6.8", "page_checks": False})) == \
        "kernel 6.8 (page checks off)"
    assert kernel_words(ModelFacts.from_dict({})) == "kernel not recorded"
