"""`pagerace bench atomics`: ns per memory-interface call for each backend.

Single process and two processes hammering one slot, median of several runs,
every backend side by side so the ratios come from the same machine state.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass

from stress.memory import BACKENDS, Arena, ArenaConfig
from stress.memory.selftest import fetch_add_loop, race, time_fetch_adds

CONFIG = ArenaConfig(npages=8, nworkers=1, npools=0, nqueues=0, cache_slots=0, pte_slots=0,
                     ncgroups=0, ledger_size=0, trace_entries=0)


@dataclass(frozen=True)
class AtomicsResult:
    backend: str
    calls: int
    ns_per_call_1p: float
    ns_per_call_2p: float


def _loop_ns(n: int) -> float:
    """The bare `for` loop with a no-op C call, to show what the interface call adds."""
    f = abs
    t0 = time.perf_counter_ns()
    for _ in range(n):
        f(1)
    return (time.perf_counter_ns() - t0) / n


def ns_per_fetch_add(arena: Arena, n: int) -> float:
    """One process: ns per fetch_add from Python on the arena's backend."""
    return time_fetch_adds(arena.memory, arena.layout.pages, n) / n


def bench_atomics(calls: int, repeat: int, start_method: str,
                  backends: tuple[str, ...] = BACKENDS) -> tuple[list[AtomicsResult], float]:
    """Median ns per fetch_add for each backend, one and two processes; plus the loop floor."""
    results = []
    for backend in backends:
        n = calls if backend != "locked" else max(1, calls // 5)
        one, two = [], []
        with Arena.create(CONFIG, backend=backend, start_method=start_method) as arena:
            for _ in range(repeat):
                one.append(ns_per_fetch_add(arena, n))
                elapsed = race(arena, fetch_add_loop, [(arena.layout.pages, n, k) for k in (0, 1)],
                               start_method=start_method)
                two.append(statistics.median(elapsed) / n)
        results.append(AtomicsResult(backend, n, statistics.median(one), statistics.median(two)))
    floor = statistics.median(_loop_ns(calls) for _ in range(repeat))
    return results, floor


def report_atomics(results: list[AtomicsResult], floor: float, as_json: bool) -> str:
    by = {r.backend: r for r in results}
    base = by.get("atomic")
    if as_json:
        import json

        return json.dumps({
            "loop_floor_ns": round(floor, 1),
            "backends": [asdict(r) for r in results],
            "ratio_to_atomic_1p": {r.backend: round(r.ns_per_call_1p / base.ns_per_call_1p, 2)
                                   for r in results} if base else {},
        }, indent=2)
    from rich.console import Console
    from rich.table import Table

    table = Table(title="memory interface: ns per fetch_add call from Python (median)")
    for col in ("backend", "calls", "1 process", "2 processes, one slot", "x atomic (1p)"):
        table.add_column(col, justify="right" if col != "backend" else "left")
    for r in results:
        ratio = f"{r.ns_per_call_1p / base.ns_per_call_1p:.1f}" if base else "-"
        table.add_row(r.backend, f"{r.calls:,}", f"{r.ns_per_call_1p:.1f}",
                      f"{r.ns_per_call_2p:.1f}", ratio)
    console = Console(record=True, width=100)
    with console.capture() as cap:
        console.print(table)
        console.print(f"loop floor (for loop + a no-op C call): {floor:.1f} ns")
    return cap.get()
