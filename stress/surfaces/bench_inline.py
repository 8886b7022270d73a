"""`pagerace bench inline`: one worker's operations in this process, no supervisor.

The full role mix of `pagerace bench`, run by the worker's own loop
(`processes.loop.run_batch`) over a fresh arena, with no other process, no
pause for audits and no scheduler noise from process start-up.  What it is for:
a per-operation cost to compare builds and changes by, and a fixed workload
for instruction counts (`valgrind --tool=callgrind pagerace bench inline --ops N`
at two N: the difference over the difference in N is instructions per operation).
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

from stress import BUILD
from stress.anomalies import KINDS
from stress.checks.lifecycle import boot
from stress.memory import Arena
from stress.memory.layout import W_COUNTS
from stress.model import collect
from stress.processes.loop import run_batch
from stress.processes.worker import Worker
from stress.runs.logs import open_log
from stress.runs.plan import make_plan
from stress.schemes import load_scheme
from stress.surfaces.bench_harness import bench_scenario


def inline_ops(nops: int, checks: bool, seed: int = 1) -> tuple[float, int]:
    """Seconds for `nops` operations of worker 0, and the anomalies they reported."""
    scn = bench_scenario(1, checks, 1.0)
    plan = make_plan(scn, seed)
    found: list[Any] = []
    with Arena.create(plan.config) as arena, open(os.devnull, "w") as devnull:
        boot(arena, scn.model, load_scheme(scn.model.scheme), collect(found), plan.pool_owners)
        w = Worker(arena, scn, plan.actors, 0, plan.worker_seeds[0], open_log(devnull),
                   os.getpid())
        t = time.perf_counter()
        run_batch(w.schedule, w.getrandbits, nops, w.ring_stuck)
        seconds = time.perf_counter() - t
        w.drain()
        counts = arena.layout.worker(0) + W_COUNTS
        return seconds, len(found) + int(arena.words[counts:counts + len(KINDS)].sum())


def bench_inline(nops: int, repeat: int) -> dict[str, Any]:
    """Median ops/s and ns per operation, checks and trace on and off, side by side."""
    out: dict[str, Any] = {**BUILD.describe(), "ops": nops, "repeat": repeat}
    for checks, key in ((True, "checked"), (False, "unchecked")):
        runs = [inline_ops(nops, checks) for _ in range(repeat)]
        if any(n for _, n in runs):
            raise RuntimeError(f"bench inline ({key}) reported anomalies: a bench must be clean")
        seconds = statistics.median(s for s, _ in runs)
        out[f"ops_per_s_{key}"] = round(nops / seconds)
        out[f"ns_per_op_{key}"] = round(seconds / nops * 1e9, 1)
    return out


def report_inline(r: dict[str, Any]) -> str:
    lines = [f"pagerace bench inline, {r['build']} build: {r['ops']:,} operations of one worker, "
             f"median of {r['repeat']}"]
    for key in ("checked", "unchecked"):
        lines.append(f"  {key:9} {r[f'ops_per_s_{key}']:>12,} ops/s  "
                     f"{r[f'ns_per_op_{key}']:>8,} ns/op")
    return "\n".join(lines) + "\n"
