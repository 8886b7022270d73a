"""Live scans with numpy while workers race: only states that are impossible at any instant."""

from __future__ import annotations

import numpy as np

from stress.anomalies import HARNESS, Anomaly, Kind
from stress.checks.audit import audit_says
from stress.memory import Arena


def live_scan(arena: Arena) -> np.ndarray:
    """Pages whose refcount is negative right now."""
    return np.flatnonzero(arena.pages["refcount"] < 0)


class NegativeRefcounts:
    """The live scan as anomalies: each page generation reported once, however long it
    stays negative."""

    def __init__(self) -> None:
        self.seen: set[tuple[int, int]] = set()

    def __call__(self, arena: Arena) -> list[Anomaly]:
        out = []
        for p in live_scan(arena):
            page, gen = int(p), int(arena.pages["gen"][p])
            if (page, gen) not in self.seen:
                self.seen.add((page, gen))
                out.append(Anomaly(Kind.REFCOUNT_UNDERFLOW, page, "live_scan",
                                   refcount=int(arena.pages["refcount"][p]), gen=gen,
                                   reason="live scan found a negative refcount",
                                   origin=HARNESS, says=audit_says(Kind.REFCOUNT_UNDERFLOW)))
        return out
