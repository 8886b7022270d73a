"""Suite planning: stable shards, the budget split, and seeds."""

from __future__ import annotations

from pathlib import Path

from stress.scenario import load_scenario
from stress.surfaces.runner import RunRequest, plan_runs, shard

DATA = Path(__file__).parent / "data"


def test_shards_are_a_stable_partition() -> None:
    """Every file lands in exactly one shard, the same one whatever the input order."""
    files = [Path(f"scenarios/c{k:02}.toml") for k in range(11)]
    parts = [shard(files, k, 3) for k in (1, 2, 3)]
    assert sorted(p for part in parts for p in part) == sorted(files)
    assert shard(list(reversed(files)), 2, 3) == parts[1]


def test_budget_cuts_durations_and_bounds_each_run() -> None:
    """A budget shorter than the scenarios' durations shortens them and bounds every run."""
    scn = load_scenario(DATA / "long.toml")
    runs = plan_runs(RunRequest((scn,), (1, 2, 3), Path("runs"), "forkserver", 10.0))
    assert [seed for _, seed, _ in runs] == [1, 2, 3]
    assert all(s.run.duration == 2.0 and budget == 2.0 for s, _, budget in runs)


def test_no_budget_keeps_the_scenarios_own_seeds_and_duration() -> None:
    """Without a budget or seeds, a scenario runs its own seeds for its own duration."""
    scn = load_scenario(DATA / "clean_pg_network.toml")
    [(s, seed, budget)] = plan_runs(RunRequest((scn,), None, Path("runs"), "forkserver", None))
    assert (s.run.duration, seed, budget) == (1.5, 1, None)
