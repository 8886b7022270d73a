"""Damaged structures are findings, not hangs: every retry loop has a bound that reports."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from stress.memory.layout import FL_HEAD, FREELIST_HDR, RING_HDR
from stress.model import alloc_page, page_pool_alloc_pages
from stress.model import flags as F
from stress.model.ptr_ring import MAX_TRIES, RingStuck, ptr_ring_consume, ptr_ring_produce
from stress.runrecord import Event


def _damage_ring(words, base: int, size: int) -> None:
    """Every cell's sequence word ahead of any position: each try sees 'not yet'."""
    words[base + RING_HDR:base + RING_HDR + 2 * size:2] = 1 << 40


@pytest.mark.parametrize("op", ["consume", "produce"])
def test_a_damaged_ring_raises_instead_of_spinning(harness, op: str) -> None:
    """A ring whose sequence words never match stops after MAX_TRIES and says where."""
    h = harness()
    L = h.arena.layout
    base, size = L.queue(0), L.config.queue_size
    _damage_ring(h.arena.words, base, size)
    with pytest.raises(RingStuck, match=f"ptr_ring_{op}: no progress on the ring at slot "
                                        f"{base} after {MAX_TRIES} tries"):
        if op == "consume":
            ptr_ring_consume(h.arena.atomic, base, size)
        else:
            ptr_ring_produce(h.arena.atomic, base, size, 7)


def test_a_healthy_ring_is_untouched_by_the_bound(harness) -> None:
    """The bound changes nothing for a ring in order: values come back in order."""
    h = harness()
    L = h.arena.layout
    base, size = L.queue(0), L.config.queue_size
    for v in range(size):
        assert ptr_ring_produce(h.arena.atomic, base, size, v)
    assert not ptr_ring_produce(h.arena.atomic, base, size, 99)
    assert [ptr_ring_consume(h.arena.atomic, base, size) for _ in range(size + 1)] == \
        [*range(size), -1]


def test_a_damaged_pool_ring_reaches_the_pools_user_as_ring_stuck(harness) -> None:
    """page_pool_alloc_pages over a damaged ptr_ring does not hang its driver."""
    h = harness()
    L = h.arena.layout
    _damage_ring(h.arena.words, L.pool_ring(0), L.config.pool_ring_size)
    with pytest.raises(RingStuck):
        page_pool_alloc_pages(h.m, 0)


def test_a_free_list_cycling_through_bad_pages_is_a_retry_bound(harness) -> None:
    """A free list whose entries lead back to a bad page forever: reported, -1, no hang."""
    h = harness()
    L, words = h.arena.layout, h.arena.words
    p = 5
    F.set_page_flag(h.m, p, F.PG_locked)  # bad at allocation: leaked and skipped
    words[L.freelist + FREELIST_HDR + p] = p + 1  # ... and its next is itself
    words[L.freelist + FL_HEAD] = p + 1
    assert alloc_page(h.m) == -1
    assert "retry-bound" in h.kinds()
    # Leaked at the first pop; every later pop of it takes a page that is not free.
    assert h.kinds().count("bad-page") == 1
    assert h.kinds().count("free-list-violation") == L.config.npages


@pytest.mark.xdist_group("e2e")
def test_a_worker_reports_a_damaged_ring_and_goes_on(tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """In a run, a stuck ring is a retry-bound anomaly: the verdict fails, nothing hangs."""
    from stress.processes import supervisor as sup_mod
    from stress.runs.rundir import RunDir
    from stress.scenario import load_scenario

    real_setup = sup_mod.Supervisor.setup

    def setup_then_damage(self: sup_mod.Supervisor) -> None:
        real_setup(self)
        L = self.arena.layout
        _damage_ring(self.arena.words, L.queue(0), L.config.queue_size)

    monkeypatch.setattr(sup_mod.Supervisor, "setup", setup_then_damage)
    scn = load_scenario(Path(__file__).parent / "data" / "clean_pg_network.toml")
    scn = scn.with_overrides(duration=0.5)
    s = sup_mod.Supervisor(scn, 1, RunDir.create(tmp_path, "run", 1)).run()
    assert s.anomalies.get("retry-bound", 0) >= 1, s
    assert s.verdict == "fail" and not s.errors, s
    logged = [json.loads(line) for f in Path(s.run_dir).glob("worker-*.jsonl")
              for line in f.read_text().splitlines()]
    stuck = [e for e in logged if e["event"] == Event.ANOMALY and e["kind"] == "retry-bound"]
    assert stuck and all(e["worker"] in (0, 1) for e in stuck), stuck  # which CPU was stuck
