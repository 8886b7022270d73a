"""stress.testing, the helpers a scheme's author tests with, used as its docstring says."""

from __future__ import annotations

from stress.memory.arena import arena_path
from stress.model import alloc_page, get_page, put_page
from stress.testing import Harness


def test_a_booted_model_finishes_clean_when_every_page_went_back() -> None:
    """Allocate, take and drop references: nothing reported, the final audit is clean,
    and the private arena is gone after the block."""
    with Harness.booted(scheme="driver_ref") as h:
        p = alloc_page(h.m)
        get_page(h.m, p)
        put_page(h.m, p)
        put_page(h.m, p)
        assert h.kinds() == [] and h.m.cfg.scheme == "driver_ref"
        assert h.finish().audit.anomalies == []
        name = h.arena.name
    assert not arena_path(name).exists()


def test_a_page_never_freed_is_the_final_audit_s_leak() -> None:
    """The same helper shows a broken variant: a page kept past the end, by nobody the
    ledgers know, is a leak and a reference nobody holds."""
    with Harness.booted() as h:
        alloc_page(h.m)
        kinds = {a.kind.value for a in h.finish().audit.anomalies}
        assert kinds == {"page-leak", "lost-update"}
