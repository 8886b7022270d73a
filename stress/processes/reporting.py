"""Anomaly reporters: exact counts in the arena, a rate-limited log with the page's history.

Counts live in the reporting worker's control region, so they are exact and
survive a crash; the log is limited per kind like the kernel's bad_page (a
burst of full records, then only a count of what was suppressed).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from stress._atomic import monotonic_ns
from stress.anomalies import KINDS, Anomaly
from stress.memory import Arena
from stress.memory.layout import W_COUNTS, W_FIRST_NS
from stress.memory.trace import all_records, page_history
from stress.model.machine import Op
from stress.runrecord import Event
from stress.runs.logs import history_rows

KIND_INDEX = {k: i for i, k in enumerate(KINDS)}
BURST = 10
HISTORY = 32
# The reads that open a race window: a history reaches back to the reporter's last one.
WINDOW_READS = {Op.slot_read, Op.refcount_check, Op.page_pool_put_page, Op.swapcache_delete}


def anomaly_history(records: np.ndarray, a: Anomaly) -> list[dict[str, int | str]]:
    """The history logged with an anomaly: its page's records, back to the window's read."""
    return history_rows(page_history(records, a.page, a.worker, WINDOW_READS, HISTORY))


class AnomalyLog:
    """Logs anomalies with the merged history of their page, BURST per kind."""

    def __init__(self, arena: Arena, log: Any, context: dict[str, Any]) -> None:
        self.arena = arena
        self.log = log
        self.context = context
        self.seen: dict[str, int] = {}

    def __call__(self, a: Anomaly) -> None:
        ts_ns = monotonic_ns()  # before reading the rings, which takes a while
        kind = a.kind.value
        n = self.seen[kind] = self.seen.get(kind, 0) + 1
        if n > BURST:
            return
        history: list[dict[str, int | str]] = []
        if a.page >= 0 and self.arena.layout.config.trace_entries:
            records = all_records(self.arena.words, self.arena.layout)
            history = anomaly_history(records, a)
        self.log.warning(Event.ANOMALY, **a.to_dict(), **self.context, ts_ns=ts_ns,
                         history=history)

    def suppressed(self) -> dict[str, int]:
        return {k: n - BURST for k, n in self.seen.items() if n > BURST}

    def close(self) -> None:
        for kind, n in self.suppressed().items():
            self.log.warning(Event.ANOMALIES_SUPPRESSED, kind=kind, suppressed=n)


class WorkerReporter(AnomalyLog):
    """A worker's reporter: count and first-seen time in the arena, then the log."""

    def __init__(self, arena: Arena, worker: int, log: Any, context: dict[str, Any]) -> None:
        super().__init__(arena, log, context)
        ctrl = arena.layout.worker(worker)
        self._counts = ctrl + W_COUNTS
        self._first = ctrl + W_FIRST_NS
        self._sys = arena.atomic

    def __call__(self, a: Anomaly) -> None:
        k = KIND_INDEX[a.kind.value]
        self._sys.fetch_add(self._counts + k, 1)
        self._sys.cas(self._first + k, 0, monotonic_ns())
        super().__call__(a)
