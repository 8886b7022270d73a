"""`pagerace bench explore`: scheduling points per second of the explorer, side by side.

The full role mix (every role, one actor each, pct), for a fixed time per run:
one process with the inline checks only, the same with the full audit after
every quiescent operation, and `--jobs 2` over one job.  Each figure is the
median of `repeat` runs.
"""

from __future__ import annotations

import statistics
from typing import Any

from stress import BUILD
from stress.explore.runner import ExploreOptions, explore_job
from stress.scenario import Scenario, parse_scenario
from stress.schemes import DEFAULT_SCHEME
from stress.surfaces.bench_harness import FULL_MIX, report_table

TARGETS: dict[str, tuple[str, float]] = {"points_per_s_inline": (">=", 100_000),
                                         "jobs_2_over_1": (">=", 1.7)}


def bench_explore_scenario(audit: bool) -> Scenario:
    return parse_scenario({
        "name": f"bench-explore-{'audit' if audit else 'inline'}",
        "model": {"scheme": DEFAULT_SCHEME, "memcg": "lifetime"},
        "roles": FULL_MIX,
        "expect": {"clean": True},
        "explore": {"strategy": "pct", "actors": len(FULL_MIX), "audit": audit,
                    "schedules": 1 << 40},
    }, "<bench>")


def points_per_s(audit: bool, seconds: float, seed: int) -> float:
    r = explore_job(bench_explore_scenario(audit), seed, seconds)
    if r.finding is not None:
        raise RuntimeError(f"bench exploration found {r.finding_kind}: the model is broken")
    return r.steps / r.seconds


def jobs_points_per_s(jobs: int, seconds: float, seed: int) -> float:
    """All jobs' points over the longest job's exploring time (process start-up left out)."""
    from stress.explore.runner import _run_jobs

    results = _run_jobs(bench_explore_scenario(False),
                        ExploreOptions(seed=seed, jobs=jobs, budget=seconds))
    return sum(r.steps for r in results) / max(r.seconds for r in results)


def bench_explore(repeat: int, seconds: float) -> dict[str, Any]:
    inline, audited, one, two = [], [], [], []
    for k in range(repeat):  # alternating, so a busy spell hits every measure alike
        inline.append(points_per_s(False, seconds, k + 1))
        audited.append(points_per_s(True, seconds, k + 1))
        one.append(jobs_points_per_s(1, seconds, k + 1))
        two.append(jobs_points_per_s(2, seconds, k + 1))
    return {
        **BUILD.describe(),
        "repeat": repeat, "seconds": seconds, "actors": len(FULL_MIX),
        "points_per_s_inline": round(statistics.median(inline)),
        "points_per_s_audit": round(statistics.median(audited)),
        "points_per_s_jobs_1": round(statistics.median(one)),
        "points_per_s_jobs_2": round(statistics.median(two)),
        "jobs_2_over_1": round(statistics.median(t / o for t, o in zip(two, one, strict=True)),
                               2),
        "runs_inline": [round(v) for v in inline], "runs_audit": [round(v) for v in audited],
    }


def report_explore(r: dict[str, Any]) -> str:
    return report_table(f"pagerace bench explore, {r['build']} build (median of {r['repeat']}, "
                        f"{r['seconds']} s runs, {r['actors']} actors, pct)", r, TARGETS,
                        ("repeat", "seconds", "actors"))
