"""When a worker counts as hung: pure functions of the time, its heartbeats and its state.

The supervisor asks these every tick; they read no clock and no process, so the
policy is tested with made-up times (tests/test_policy.py), as pytest-xdist tests
its scheduling with a fake node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import psutil

STARTUP_TIMEOUT = 30.0  # no worker ready at all
STARTUP_GRACE = 5.0  # at least this long for the rest once one is ready
STOPPED = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)


@dataclass
class Startup:
    """Readiness: how long the workers not ready yet have had.

    A worker is hung when it is still not ready STARTUP_GRACE seconds (or twice what
    the first one took, on a loaded machine) after a sibling became ready, when the
    kernel has had it stopped for longer than the hang timeout, or when no worker at
    all is ready after STARTUP_TIMEOUT.
    """

    started: float
    nworkers: int
    hang_timeout: float
    first_ready: float | None = None
    stopped_since: dict[int, float] = field(default_factory=dict)

    def hung(self, now: float, waiting: Sequence[int],
             statuses: Mapping[int, str] | None = None) -> dict[int, str]:
        """The workers of `waiting` that count as hung now, each with why.

        `statuses` (worker: psutil status) is what /proc said, when it was asked.
        """
        if self.first_ready is None and len(waiting) < self.nworkers:
            self.first_ready = now
        hung: dict[int, str] = {}
        if self.first_ready is not None:
            grace = max(STARTUP_GRACE, 2 * (self.first_ready - self.started))
            if now - self.first_ready > grace:
                hung = {w: f"not ready {now - self.first_ready:.1f} s after its first sibling"
                        for w in waiting}
        elif now - self.started > STARTUP_TIMEOUT:
            hung = {w: f"not ready after {now - self.started:.1f} s" for w in waiting}
        for w, status in (statuses or {}).items():
            if status in STOPPED:
                since = self.stopped_since.setdefault(w, now)
                if now - since > self.hang_timeout:
                    hung.setdefault(w, f"stopped for {now - since:.1f} s before ready")
            else:
                self.stopped_since.pop(w, None)
        return hung


@dataclass
class Heartbeats:
    """Racing: a worker whose heartbeat word has not moved for the hang timeout is hung."""

    hang_timeout: float
    last: dict[int, tuple[int, float]] = field(default_factory=dict)  # beat, seen at

    def start(self, nworkers: int, now: float) -> None:
        self.last = {w: (0, now) for w in range(nworkers)}

    def excuse(self, now: float) -> None:
        """Parked time (an audit) is not a hang: every worker's clock restarts."""
        self.last = {w: (beat, now) for w, (beat, _) in self.last.items()}

    def hung(self, now: float, beats: Sequence[int]) -> dict[int, str]:
        """The workers whose beat has stood still too long, each with why."""
        hung = {}
        for w, beat in enumerate(beats):
            last, since = self.last[w]
            if beat != last:
                self.last[w] = (beat, now)
            elif now - since > self.hang_timeout:
                hung[w] = f"no heartbeat for {now - since:.2f} s"
        return hung
