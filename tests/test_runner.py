"""Suite planning: stable shards, the budget split, and seeds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from stress.scenario import Expect, Scenario, load_scenario
from stress.surfaces.runner import RunRequest, plan_runs, shard
from stress.surfaces.suite_budget import EXTEND, SuiteBudget, overrun_warning

DATA = Path(__file__).parent / "data"


def test_shards_are_a_stable_partition() -> None:
    """Every file lands in exactly one shard, the same one whatever the input order."""
    files = [Path(f"scenarios/c{k:02}.toml") for k in range(11)]
    parts = [shard(files, k, 3) for k in (1, 2, 3)]
    assert sorted(p for part in parts for p in part) == sorted(files)
    assert shard(list(reversed(files)), 2, 3) == parts[1]


def _detecting(scn: Scenario) -> Scenario:
    return replace(scn, expect=Expect(detect=("use-after-free",)))


def test_plan_runs_each_scenario_with_each_seed_in_order() -> None:
    """--seed (or --repeat) replaces a scenario's own seeds; otherwise its own are run."""
    scn = load_scenario(DATA / "long.toml")
    req = RunRequest((scn,), (1, 2, 3), Path("runs"), "forkserver", 10.0)
    assert [seed for _, seed in plan_runs(req)] == [1, 2, 3]
    assert [seed for _, seed in plan_runs(replace(req, seeds=None))] == list(scn.run.seeds)


def test_budget_cuts_a_clean_run_to_its_share() -> None:
    """A clean run longer than its share races its share, bounded by it."""
    scn = load_scenario(DATA / "long.toml")
    shares = SuiteBudget(10.0, 3)
    terms = shares.next(scn)
    assert terms.scenario.run.duration == terms.budget == pytest.approx(2.0)
    assert not terms.until_detected


def test_a_short_clean_run_keeps_its_duration_and_leaves_the_rest() -> None:
    """A run shorter than its share races its own duration; the rest flows to the next."""
    short = load_scenario(DATA / "clean_pg_network.toml")  # 1.5 s
    long = load_scenario(DATA / "long.toml")
    shares = SuiteBudget(10.0, 3)  # 6 s racing, 2 s promised each
    assert shares.next(short).scenario.run.duration == 1.5
    shares.spent(1.5)
    assert shares.next(long).scenario.run.duration == pytest.approx(4.5 / 2)


def test_a_run_decided_by_detection_stops_there_and_may_borrow() -> None:
    """A detect-only run stops at its first detection and may race into unused time."""
    clean = load_scenario(DATA / "long.toml")
    buggy = _detecting(clean)
    shares = SuiteBudget(10.0, 3)  # 6 s racing, 2 s promised each
    first = shares.next(buggy)
    assert first.until_detected
    # Nothing is unused yet; the two runs after it keep their promised 2 s each.
    assert first.budget == pytest.approx(2.0)
    shares.spent(0.01)  # detected at once
    second = shares.next(buggy)
    assert second.until_detected
    assert second.budget == pytest.approx(5.99 - 2.0)
    assert second.scenario.run.duration == second.budget


def test_borrowing_is_capped_and_never_starves_later_runs() -> None:
    """No run takes more than EXTEND promised shares, nor any later run's promised share."""
    buggy = _detecting(load_scenario(DATA / "long.toml"))
    shares = SuiteBudget(100.0, 10)  # 60 s racing, 6 s promised each
    for _ in range(5):
        shares.next(buggy)
        shares.spent(0.0)
    assert shares.next(buggy).budget == pytest.approx(EXTEND * 6.0)
    shares.spent(EXTEND * 6.0)
    left = 60.0 - EXTEND * 6.0
    assert shares.next(buggy).budget == pytest.approx(left - 3 * 6.0)


def test_forbid_and_lost_recycles_runs_race_the_whole_share() -> None:
    """A forbid list or a lost-recycles expectation is judged over the whole race."""
    base = load_scenario(DATA / "long.toml")
    for expect in (Expect(detect=("bad-page",), forbid=("misrouted-free",)),
                   Expect(detect=("pool-alloc-refcount",), lost_recycles=True)):
        terms = SuiteBudget(10.0, 3).next(replace(base, expect=expect))
        assert not terms.until_detected and terms.budget == pytest.approx(2.0)


def test_an_overrun_never_shrinks_a_share_below_its_promise() -> None:
    """Runs that overran leave nothing, and the next run still gets its promised share."""
    scn = load_scenario(DATA / "long.toml")
    shares = SuiteBudget(10.0, 3)
    shares.next(scn)
    shares.spent(50.0)
    assert shares.next(scn).budget == pytest.approx(2.0)


def test_ops_runs_race_to_their_count_bounded_by_their_share() -> None:
    """An ops-bounded run keeps its count; its share is only the overrun bound."""
    scn = load_scenario(DATA / "long.toml").with_overrides(ops=100)
    terms = SuiteBudget(10.0, 3).next(scn)
    assert terms.scenario is scn and terms.budget == pytest.approx(2.0)


def test_the_planned_number_of_runs_is_a_bound() -> None:
    """Asking for more runs than planned is a bug in the caller, not a silent share."""
    scn = load_scenario(DATA / "long.toml")
    shares = SuiteBudget(10.0, 1)
    shares.next(scn)
    with pytest.raises(ValueError):
        shares.next(scn)


def test_an_overrun_is_reported_and_a_run_within_budget_is_not() -> None:
    """A suite slower than its budget gets one line with both figures; one within, none."""
    assert overrun_warning(59.9, 60.0) is None
    assert overrun_warning(97.91, 60.0) == "the runs took 97.9 s, over the 60 s budget"
