"""TCP rx zerocopy: mapping, unmapping, pipe pins, GUP-fast, and memcg charging modes."""

from __future__ import annotations

import pytest

from stress.memory.layout import MAPCOUNT
from stress.model import (
    PS_FREE,
    alloc_page,
    check_memcg_held,
    get_user_pages_fast,
    page_memcg,
    page_ref_count,
    page_use,
    pipe_buf_release,
    put_page,
    vm_insert_page,
    vmsplice_page,
    zap_page,
)
from stress.model.memcontrol import memcg_nr_charged


def test_vm_insert_page_refuses_refcount_zero(harness) -> None:
    """A free page is never mapped."""
    h = harness()
    assert not vm_insert_page(h.m, 3, pte=0, memcg=1)
    assert h.page(3)["mapcount"] == -1 and page_ref_count(h.m, 3) == 0


def test_map_and_unmap_balance(harness) -> None:
    """Each mapping takes a reference and a mapcount; munmap drops both."""
    h = harness()
    p = alloc_page(h.m)
    assert vm_insert_page(h.m, p, pte=0, memcg=1)
    assert h.page(p)["mapcount"] == 0 and page_ref_count(h.m, p) == 2
    assert get_user_pages_fast(h.m, 0) == p and page_ref_count(h.m, p) == 3
    put_page(h.m, p)  # GUP's reference
    zap_page(h.m, p, pte=0)
    assert get_user_pages_fast(h.m, 0) == -1
    assert h.page(p)["mapcount"] == -1 and page_ref_count(h.m, p) == 1
    put_page(h.m, p)
    assert h.pstate(p) == PS_FREE and h.kinds() == []


def test_v2_uncharge_at_unmap_lets_a_pipe_page_escape(harness) -> None:
    """C6: under memcg=unmap a page pinned in a pipe is uncharged at the last unmap."""
    h = harness(memcg="unmap")
    p = alloc_page(h.m)
    vm_insert_page(h.m, p, pte=1, memcg=2)
    assert page_memcg(h.m, p) == 2 and memcg_nr_charged(h.m, 2) == 1
    vmsplice_page(h.m, p)
    zap_page(h.m, p, pte=1)
    assert memcg_nr_charged(h.m, 2) == 0
    assert not check_memcg_held(h.m, p, 2, "pipe_read")
    assert h.kinds() == ["memcg-escape"]


def test_lifetime_charge_survives_unmap(harness) -> None:
    """C7: under memcg=lifetime the pipe page stays charged until it is freed."""
    h = harness(memcg="lifetime")
    p = alloc_page(h.m)
    vm_insert_page(h.m, p, pte=1, memcg=2)
    vmsplice_page(h.m, p)
    zap_page(h.m, p, pte=1)
    assert check_memcg_held(h.m, p, 2, "pipe_read")
    pipe_buf_release(h.m, p)
    put_page(h.m, p)
    assert memcg_nr_charged(h.m, 2) == 0 and h.page(p)["memcg"] == 0
    assert h.pstate(p) == PS_FREE and h.kinds() == []


def test_use_after_reuse_is_use_after_free(harness) -> None:
    """A holder whose page changed generation under it reports use-after-free."""
    h = harness()
    p = alloc_page(h.m)
    gen = h.page(p)["gen"]
    assert page_use(h.m, p, gen, "copy")
    put_page(h.m, p)  # dropped too early (the bug)
    assert alloc_page(h.m) == p
    assert not page_use(h.m, p, gen, "copy")
    assert h.kinds() == ["use-after-free"]


@pytest.mark.parametrize("mapcount", [0, 1])
def test_mapcount_field_is_the_kernels(harness, mapcount: int) -> None:
    """mapcount stores n-1 for n mappings, as _mapcount does."""
    h = harness()
    p = alloc_page(h.m)
    for k in range(mapcount + 1):
        vm_insert_page(h.m, p, pte=k, memcg=1)
    assert h.arena.words[h.m.page(p) + MAPCOUNT] == mapcount
