"""pytest plugin: scenario files as test items, one per seed.

Registered through the `pytest11` entry point, so `pytest scenarios/ -n auto
--dist loadgroup` runs the suite in parallel with pytest-xdist and
`--junitxml` works as for any test.  A run that starts several worker
processes is placed in one xdist group: on a small machine two of them side by
side would oversubscribe the cores and change what races.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stress.scenario import Scenario, ScenarioError, load_scenario
from stress.summary import Summary

HEAVY_GROUP = "pagerace-heavy"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("pagerace")
    group.addoption("--pagerace-out", default="runs/pytest",
                    help="parent directory of the scenario run directories")
    group.addoption("--pagerace-start-method", default="forkserver",
                    choices=("forkserver", "spawn", "fork"))
    group.addoption("--pagerace-explore", action="store_true",
                    help="also collect one explorer item per scenario (pagerace explore)")
    group.addoption("--pagerace-explore-budget", type=float, default=30.0,
                    help="seconds of exploring per explorer item (default 30)")


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix == ".toml" and file_path.parent.name == "scenarios":
        return ScenarioFile.from_parent(parent, path=file_path)
    return None


class ScenarioFile(pytest.File):
    def collect(self) -> Iterator[pytest.Item]:
        try:
            scn = load_scenario(self.path)
        except ScenarioError as e:
            raise self.CollectError(str(e)) from None
        heavy = scn.run.workers > 1 or (os.cpu_count() or 1) < 2
        for seed in scn.run.seeds:
            item = ScenarioItem.from_parent(self, name=f"{scn.name}[seed={seed}]", scenario=scn,
                                            seed=seed)
            if heavy:
                item.add_marker(pytest.mark.xdist_group(HEAVY_GROUP))
            yield item
        if self.config.getoption("--pagerace-explore"):
            yield ExploreItem.from_parent(self, name=f"{scn.name}[explore]", scenario=scn)


class ScenarioFailed(Exception):
    def __init__(self, summary: Summary) -> None:
        super().__init__(summary.verdict)
        self.summary = summary


class ScenarioItem(pytest.Item):
    def __init__(self, *, scenario: Scenario, seed: int, **kw: Any) -> None:
        super().__init__(**kw)
        self.scenario = scenario
        self.seed = seed

    def runtest(self) -> None:
        from stress.processes.supervisor import Supervisor
        from stress.runs.rundir import RunDir

        out = Path(self.config.getoption("--pagerace-out"))
        run_dir = RunDir.create(out, self.scenario.name, self.seed)
        sup = Supervisor(self.scenario, self.seed, run_dir,
                         start_method=self.config.getoption("--pagerace-start-method"))
        summary = sup.run()
        self.user_properties.append(("verdict", summary.verdict))
        self.user_properties.append(("run_dir", summary.run_dir))
        if summary.verdict != "pass":
            raise ScenarioFailed(summary)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str:
        if isinstance(excinfo.value, ScenarioFailed):
            from stress.surfaces.results import reproducer

            s = excinfo.value.summary
            seen = ", ".join(f"{k} {n}" for k, n in s.anomalies.items()) or "nothing"
            lines = [f"verdict {s.verdict}: expected {s.expected}, saw {seen}"]
            lines += [f"  {e}" for e in s.errors]
            lines.append(f"  pagerace report {s.run_dir}")
            if hint := reproducer(s):
                lines.append(f"  {hint}")
            return "\n".join(lines)
        return str(super().repr_failure(excinfo))

    def reportinfo(self) -> tuple[Path, int, str]:
        return self.path, 0, f"scenario {self.name} ({self.scenario.claim or 'no claim'})"


class ExploreItem(ScenarioItem):
    """The scenario under the explorer (one process, its [explore] strategy and bounds)."""

    def __init__(self, *, scenario: Scenario, **kw: Any) -> None:
        super().__init__(scenario=scenario, seed=1, **kw)

    def runtest(self) -> None:
        from stress.explore.runner import ExploreOptions
        from stress.surfaces.explore_cmd import explore_one

        out = Path(self.config.getoption("--pagerace-out"))
        opts = ExploreOptions(budget=self.config.getoption("--pagerace-explore-budget"))
        summary = explore_one(self.scenario, opts, out, name=f"{self.scenario.name}-explore")
        self.user_properties.append(("verdict", summary.verdict))
        self.user_properties.append(("run_dir", summary.run_dir))
        if summary.verdict != "pass":
            raise ScenarioFailed(summary)
