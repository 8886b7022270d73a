"""`pagerace bench`: the harness's throughput, audit and scan costs, and scaling.

Everything side by side from one invocation, each figure the median of
`repeat` runs: per-worker ops/s for the full role mix with every check and the
trace on, the same with both off, the bare atomic call, audit and live-scan
time for 64 Ki and 1 Mi pages, and 2 workers over 1.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from stress import BUILD
from stress.checks import audit, live_scan
from stress.checks.lifecycle import boot
from stress.memory import Arena, ArenaConfig
from stress.model import ModelConfig, alloc_page, collect
from stress.processes.supervisor import Supervisor
from stress.runs.rundir import RunDir
from stress.scenario import Scenario, parse_scenario
from stress.schemes import DEFAULT_SCHEME, load_scheme
from stress.surfaces.bench_atomics import CONFIG as ATOMIC_CONFIG
from stress.surfaces.bench_atomics import ns_per_fetch_add

FULL_MIX: list[dict[str, object]] = [
    {"role": "nic"}, {"role": "zerocopy"}, {"role": "stray"}, {"role": "reader"},
    {"role": "truncater"}, {"role": "gup"}, {"role": "swapcache"},
    {"role": "pgtable", "leave_pinned": False},
]


def bench_scenario(workers: int, checks: bool, duration: float) -> Scenario:
    # Every role on every worker, so one worker and two run the same mix.
    roles = [dict(r) | {"count": workers} for r in FULL_MIX]
    return parse_scenario({
        "name": f"bench-{workers}w-{'checked' if checks else 'unchecked'}",
        "model": {"scheme": DEFAULT_SCHEME, "memcg": "lifetime", "pages": 16384},
        "roles": roles,
        "run": {"duration": duration, "workers": workers, "checks": checks, "trace": checks,
                "audit_interval": 0.25},
        "expect": {"clean": True},
    }, "<bench>")


def ops_per_worker(workers: int, checks: bool, duration: float, start_method: str) -> float:
    with tempfile.TemporaryDirectory(prefix="pagerace-bench-") as tmp:
        scn = bench_scenario(workers, checks, duration)
        sup = Supervisor(scn, 1, RunDir.create(Path(tmp), scn.name, 1),
                         start_method=start_method)
        s = sup.run()
    # Throughput, not detection: an uncontested window (inconclusive) still measures.
    if s.verdict not in ("pass", "inconclusive"):
        raise RuntimeError(f"bench run did not pass: {s.anomalies} {s.errors}")
    return float(s.ops_per_s) / workers


def scan_and_audit_ms(npages: int, repeat: int) -> tuple[float, float]:
    """Median ms for a live scan and a full audit over an arena of npages."""
    config = ArenaConfig(npages=npages, nworkers=2, ledger_size=4096, trace_entries=0)
    with Arena.create(config) as arena:
        cfg = ModelConfig(scheme=DEFAULT_SCHEME)
        scheme = load_scheme(cfg.scheme)
        m = boot(arena, cfg, scheme, collect([]))
        for _ in range(min(npages // 2, 4096)):
            alloc_page(m)
        del m
        scans, audits = [], []
        for _ in range(repeat):
            t = time.perf_counter()
            live_scan(arena)
            scans.append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            audit(arena, scheme)
            audits.append((time.perf_counter() - t) * 1000)
    return statistics.median(scans), statistics.median(audits)


def bench_harness(repeat: int, duration: float, start_method: str) -> dict[str, Any]:
    def med(workers: int, checks: bool) -> float:
        return statistics.median(ops_per_worker(workers, checks, duration, start_method)
                                 for _ in range(repeat))

    checked_1 = med(1, True)
    unchecked_1 = med(1, False)
    checked_2 = med(2, True)
    with Arena.create(ATOMIC_CONFIG) as arena:
        atomic_ns = statistics.median(ns_per_fetch_add(arena, 1_000_000) for _ in range(repeat))
    scan_64k, audit_64k = scan_and_audit_ms(65_536, repeat)
    scan_1m, audit_1m = scan_and_audit_ms(1_048_576, repeat)
    return {
        **BUILD.describe(),
        "ops_per_s_per_worker": round(checked_1),
        "ops_per_s_per_worker_unchecked": round(unchecked_1),
        "checked_over_unchecked": round(checked_1 / unchecked_1, 3),
        "ops_per_s_per_worker_2w": round(checked_2),
        "scaling_2_over_1": round(2 * checked_2 / checked_1, 3),
        "atomic_call_ns": round(atomic_ns, 1),
        "scan_ms_64k": round(scan_64k, 2), "audit_ms_64k": round(audit_64k, 2),
        "scan_ms_1m": round(scan_1m, 2), "audit_ms_1m": round(audit_1m, 2),
        "repeat": repeat, "duration_s": duration,
    }


TARGETS: dict[str, tuple[str, float]] = {
    "ops_per_s_per_worker": (">=", 1_000_000),
    "checked_over_unchecked": (">=", 0.5),
    "audit_ms_1m": ("<=", 100),
    "scan_ms_1m": ("<=", 20),
    "scaling_2_over_1": (">=", 1.7),
}


def report_table(title: str, r: dict[str, Any], targets: dict[str, tuple[str, float]],
                 skip: tuple[str, ...]) -> str:
    """A bench result as a table: each measure, its target if it has one, and whether met."""
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title)
    for col in ("measure", "value", "target", "met"):
        table.add_column(col)
    for key, value in r.items():
        if key in skip or key in ("build", "build_reason") or key.startswith("runs_"):
            continue
        target = targets.get(key)
        met = "-"
        if target:
            op, bound = target
            met = "yes" if (value >= bound if op == ">=" else value <= bound) else "[red]no[/]"
        table.add_row(key, f"{value:,}", f"{target[0]} {target[1]:,}" if target else "", met)
    console = Console(record=True, width=100)
    with console.capture() as cap:
        console.print(table)
    return cap.get()


def report_harness(r: dict[str, Any]) -> str:
    return report_table(f"pagerace bench, {r['build']} build (median of {r['repeat']}, "
                        f"{r['duration_s']} s runs)", r, TARGETS, ("repeat", "duration_s"))
