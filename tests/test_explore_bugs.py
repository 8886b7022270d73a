"""Bugs with windows too narrow for a 2-second stress run, each found by the explorer.

Each is a patch of tests/explore_bugs/ with the scenario it shows in and the strategy
that finds it (`strategy`, pct unless it says).  The package is copied, patched, and
`pagerace explore` run on the copy in its own process; the test fails if the explorer
stops finding the bug within 20,000 schedules (a count, not a time: the same verdict on a
loaded machine; measured 2026-12-03 at seed 1: pct finds the first three in 139 to 606,
dfs, racing pairs of roles from 4 warm-ups, the freeze in 8,386, the munmap that puts
before it clears the PTE in 700 (three roles at once: its case says so) and the flag
cleared by a load and a store in 10,768).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from patches import Patch, patched_copy

BUGS = Path(__file__).resolve().parent / "explore_bugs"
# The clean control searches at least as far as any bug takes to be found (10,768 at most).
CONTROL_SCHEDULES = 12_000


@pytest.mark.xdist_group("explore-bugs")
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(p.stem for p in BUGS.glob("*.toml")))
def test_the_explorer_finds_the_narrow_bug(name: str, tmp_path: Path) -> None:
    """pagerace explore on the patched copy: the scenario fails with the bug's anomaly kind."""
    patch = Patch.load(BUGS / f"{name}.toml")
    scenario = (BUGS / patch.extra["scenario"]).resolve()
    root = patched_copy(patch, tmp_path / "pkg")
    env = dict(os.environ, PYTHONPATH=str(root), PYTHONSAFEPATH="1")
    proc = subprocess.run(
        [sys.executable, "-m", "stress", "explore", str(scenario),
         "--strategy", patch.extra.get("strategy", "pct"),
         "--schedules", "20000", "--out", str(tmp_path / "runs")],
        cwd=root, env=env, capture_output=True, text=True, timeout=280)
    [summary_file] = (tmp_path / "runs").glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    finding = summary["finding"]
    assert finding is not None, f"{name}: not found in {summary['schedules']} schedules"
    assert finding["kind"] == patch.extra["kind"], finding
    assert proc.returncode == 1 and summary["verdict"] == "fail"  # a clean scenario broken


@pytest.mark.xdist_group("explore-bugs")
@pytest.mark.timeout(300)
@pytest.mark.parametrize("name", sorted(p.stem for p in BUGS.glob("*.toml")))
def test_the_bugs_scenario_is_clean_without_it(name: str, tmp_path: Path) -> None:
    """The same exploration of the unpatched package finds nothing, so the finding is the bug's."""
    patch = Patch.load(BUGS / f"{name}.toml")
    scenario = (BUGS / patch.extra["scenario"]).resolve()
    proc = subprocess.run(
        [sys.executable, "-m", "stress", "explore", str(scenario),
         "--strategy", patch.extra.get("strategy", "pct"),
         "--schedules", str(CONTROL_SCHEDULES), "--out", str(tmp_path / "runs")],
        cwd=tmp_path, capture_output=True, text=True, timeout=280)
    [summary_file] = (tmp_path / "runs").glob("*/summary.json")
    summary = json.loads(summary_file.read_text())
    assert summary["finding"] is None, summary["finding"]
    assert proc.returncode == 0 and summary["verdict"] == "pass", proc.stderr[-2000:]
    assert summary["schedules"] == CONTROL_SCHEDULES or summary["exhausted"]
