"""A stress run's record: what the supervisor tallies, and the manifest and summary built
from it (docs/design.md, "Run directory (contract)"; read back by stress/runrecord.py)."""

from __future__ import annotations

import os
import platform
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import psutil

from stress import BUILD, __version__
from stress.checks.contests import WindowCounter
from stress.checks.verdict import verdict
from stress.model.scheme import Scheme
from stress.processes.counters import Counters
from stress.roles import ROLES
from stress.runs.plan import Plan
from stress.scenario import Scenario
from stress.summary import Pool, StressSummary, Window


@dataclass
class Tally:
    """What the supervisor itself counts during a run (the workers count in the arena)."""

    t0: float  # the supervisor's start (monotonic)
    counts: dict[str, int] = field(default_factory=dict)  # its own detections
    first: dict[str, float] = field(default_factory=dict)  # seconds since t0
    errors: list[str] = field(default_factory=list)
    audits: int = 0
    audit_ms: list[float] = field(default_factory=list)
    race_t0: float | None = None  # the race's start, once every worker was ready
    race_elapsed: float | None = None  # set when the drain begins
    interrupted: bool = False
    # Per pool, page_pool_put_page's shared finds when the race ended (set by the drain).
    released_shared_race: list[int] | None = None
    inflight_at_destroy: dict[int, int] = field(default_factory=dict)

    def count(self, kind: str, n: int = 1) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + n
        self.first.setdefault(kind, time.monotonic() - self.t0)

    def all_counts(self, counters: Counters) -> dict[str, int]:
        out = counters.kind_counts()
        for k, n in self.counts.items():
            out[k] = out.get(k, 0) + n
        return dict(sorted(out.items()))

    def firsts(self, counters: Counters) -> dict[str, float]:
        """Seconds from the race's start to each kind's first detection, by anyone."""
        first = {kind: ns / 1e9 - self.t0 for kind, ns in counters.first_ns().items()}
        for kind, t in self.first.items():
            first[kind] = min(first.get(kind, t), t)
        offset = (self.race_t0 or self.t0) - self.t0
        return {k: round(v - offset, 4) for k, v in sorted(first.items())}


def manifest(scn: Scenario, seed: int, scheme: Scheme, plan: Plan, start_method: str,
             arena_name: str) -> dict[str, Any]:
    import multiprocess
    import structlog

    return {
        "scenario": scn.to_dict(), "seed": seed,
        "scheme": {"spec": scn.model.scheme, "name": scheme.name,
                   "class": f"{type(scheme).__module__}.{type(scheme).__qualname__}",
                   "summary": scheme.summary},
        "worker_seeds": list(plan.worker_seeds), "backend": scn.backend,
        "start_method": start_method, "arena": arena_name,
        **BUILD.describe(),  # the workers import the same modules, so the same build
        "arena_config": asdict(plan.config),
        "actors": [a.__dict__ | {"mix": dict(a.mix), "params": dict(a.params)}
                   for a in plan.actors],
        "versions": {"pagerace": __version__, "python": sys.version.split()[0],
                     "numpy": np.__version__, "multiprocess": multiprocess.__version__,
                     "structlog": structlog.__version__, "psutil": psutil.__version__},
        "host": {"platform": platform.platform(), "cpus": os.cpu_count(),
                 "memory_bytes": psutil.virtual_memory().total, "pid": os.getpid()},
    }


def summary(scn: Scenario, seed: int, scheme: Scheme, plan: Plan, tally: Tally,
            counters: Counters, contests: WindowCounter, health: dict[int, dict[str, Any]],
            run_dir: str, pids: list[int]) -> StressSummary:
    counts = tally.all_counts(counters)
    race_t0 = tally.race_t0 if tally.race_t0 is not None else tally.t0
    duration = tally.race_elapsed if tally.race_elapsed is not None \
        else time.monotonic() - race_t0
    ops = sum(counters.ops())
    race_lost = tally.released_shared_race
    pools = [Pool(**asdict(row), released_shared_race=race_lost[row.pool] if race_lost else None,
                  recycle_ratio=row.recycle_ratio,
                  inflight_at_destroy=tally.inflight_at_destroy.get(row.pool))
             for row in counters.pools()]
    windows = contests.summary()
    contenders = sorted({a.role for a in plan.actors if ROLES[a.role].SPECULATIVE})
    return StressSummary(
        scenario=scn.name, claim=scn.claim, seed=seed, scenario_file=scn.path,
        verdict=verdict(scn.expect, counts, bool(tally.errors),
                        lost_recycles=sum(race_lost) if race_lost else None,
                        windows=windows if contenders else None),
        expected=scn.expect.describe(), anomalies=counts,
        first_detection_s=tally.firsts(counters),
        ops=ops, ops_per_s=round(ops / duration) if duration > 0 else 0,
        workers=plan.config.nworkers, duration_s=round(duration, 3),
        audits=tally.audits,
        audit_ms_max=round(max(tally.audit_ms), 2) if tally.audit_ms else None,
        backend=scn.backend, scheme=scheme.name,
        delays_us=dict(scn.model.delays),
        windows={k: Window.from_dict(w) for k, w in windows.items()}, contenders=contenders,
        pools=pools, health={str(w): h for w, h in health.items()}, errors=tally.errors,
        interrupted=tally.interrupted, run_dir=run_dir,
        pids={"supervisor": os.getpid(), "workers": pids},
    )
