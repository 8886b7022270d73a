"""`pagerace run`: scenarios x seeds through the supervisor, live progress, a verdict table."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stress.processes.supervisor import Progress, Supervisor
from stress.runs.admission import admit
from stress.runs.plan import make_plan
from stress.runs.rundir import OutputError, RunDir
from stress.scenario import Scenario, ScenarioError, load_scenario
from stress.summary import StressSummary
from stress.surfaces.suite_budget import Allowance, SuiteBudget

SUITE_DIR = Path("scenarios")


@dataclass(frozen=True)
class RunRequest:
    scenarios: tuple[Scenario, ...]
    seeds: tuple[int, ...] | None  # None: each scenario's own seeds
    out: Path
    start_method: str
    budget: float | None
    until_detected: bool = False


def find_scenarios(args: Sequence[str]) -> list[Path]:
    """The files named, or every *.toml of the suite directory when none are."""
    if args:
        return [Path(a) for a in args]
    if not SUITE_DIR.is_dir():
        raise ScenarioError(f"{SUITE_DIR}: no scenario directory here; name scenario files")
    files = sorted(SUITE_DIR.glob("*.toml"))
    if not files:
        raise ScenarioError(f"{SUITE_DIR}: no *.toml scenario files")
    return files


def shard(paths: list[Path], k: int, n: int) -> list[Path]:
    """A stable split: file i goes to shard i % n (files sorted by name)."""
    return [p for i, p in enumerate(sorted(paths)) if i % n == k - 1]


def plan_runs(req: RunRequest) -> list[tuple[Scenario, int]]:
    """(scenario, seed) for every run, in the order they run."""
    return [(scn, seed) for scn in req.scenarios for seed in (req.seeds or scn.run.seeds)]


class EverySecond:
    """Progress lines for logs: `due()` is true at most once a second."""

    def __init__(self, stream: Any = None) -> None:
        # sys.stderr as it is now, not as it was at import (pytest swaps and closes it)
        self.stream = stream if stream is not None else sys.stderr
        self.next = 0.0

    def due(self) -> bool:
        now = time.monotonic()
        if now < self.next:
            return False
        self.next = now + 1.0
        return True


class PlainProgress(EverySecond):
    """A line per second when stdout is not a terminal (CI logs)."""

    def __call__(self, p: Progress) -> None:
        if not self.due():
            return
        seen = " ".join(f"{k}={n}" for k, n in p.anomalies.items()) or "none"
        print(f"[{p.scenario} seed {p.seed}] {p.elapsed:5.1f}s ops={p.ops:,} "
              f"ops/s={p.ops_per_s:,.0f} audits={p.audits} anomalies: {seen}",
              file=self.stream, flush=True)


@dataclass
class Outcome:
    summaries: list[StressSummary]
    interrupted: bool = False
    output_error: str | None = None  # the suite stopped: a run directory could not be made
    wall_s: float = 0.0


def admit_all(req: RunRequest) -> list[str]:
    """Refuse, before anything runs, a scenario the machine cannot hold; return warnings."""
    warnings = []
    for scn in req.scenarios:
        adm = admit(make_plan(scn, 0))
        if adm.refusal:
            raise ScenarioError(f"{scn.path or scn.name}: {adm.refusal}")
        if adm.warning:
            warnings.append(f"{scn.path or scn.name}: {adm.warning}")
    return warnings


def execute(req: RunRequest, progress: Callable[[Progress], None] | None) -> Outcome:
    """Run every (scenario, seed); stop early on Ctrl-C or when --out fails."""
    out = Outcome([])
    runs = plan_runs(req)
    shares = SuiteBudget(req.budget, len(runs)) if req.budget is not None and runs else None
    t0 = time.monotonic()
    for scn, seed in runs:
        terms = shares.next(scn) if shares else Allowance(scn, None, req.until_detected)
        try:
            run_dir = RunDir.create(req.out, scn.name, seed)
        except OutputError as e:
            out.output_error = str(e)
            return out
        sup = Supervisor(terms.scenario, seed, run_dir, start_method=req.start_method,
                         progress=progress, until_detected=terms.until_detected,
                         budget=terms.budget)
        summary = sup.run()
        if shares:
            shares.spent(float(summary.duration_s or 0.0))
        out.summaries.append(summary)
        if summary.interrupted:
            out.interrupted = True
            break
    out.wall_s = time.monotonic() - t0
    return out


def load_all(paths: Sequence[Path]) -> list[Scenario]:
    return [load_scenario(p) for p in paths]
