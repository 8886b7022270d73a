"""Live progress on a terminal with rich: ops/s, anomalies by kind, audits."""

from __future__ import annotations

import time
from types import TracebackType

from rich.console import Console
from rich.live import Live
from rich.table import Table

from stress.processes.supervisor import Progress


class LiveProgress:
    def __init__(self, console: Console) -> None:
        self.live = Live(console=console, refresh_per_second=4, transient=True)
        self.last = 0.0

    def __enter__(self) -> LiveProgress:
        self.live.__enter__()
        return self

    def __exit__(self, t: type[BaseException] | None, v: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.live.__exit__(t, v, tb)

    def __call__(self, p: Progress) -> None:
        now = time.monotonic()
        if now - self.last < 0.25:
            return
        self.last = now
        table = Table(title=f"{p.scenario}  seed {p.seed}  ({p.phase})", show_header=False)
        table.add_row("elapsed", f"{p.elapsed:.1f} s")
        table.add_row("ops", f"{p.ops:,}  ({p.ops_per_s:,.0f}/s)")
        table.add_row("audits", str(p.audits))
        for kind, n in p.anomalies.items():
            table.add_row(f"[red]{kind}[/]", f"{n:,}")
        self.live.update(table)
