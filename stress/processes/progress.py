"""What a racing run shows while it races: the live display's figures, the log's progress
records (the report's throughput over time) and the workers' health samples."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stress.processes.counters import Counters
from stress.processes.fleet import Fleet
from stress.processes.record import Tally
from stress.runrecord import Event

PROGRESS_EVERY = 0.25  # seconds between progress records in supervisor.jsonl
HEALTH_EVERY = 1.0  # seconds between psutil samples of every worker


@dataclass
class Progress:
    """What the live display shows; handed to the progress callback every tick."""

    scenario: str
    seed: int
    elapsed: float = 0.0
    ops: int = 0
    ops_per_s: float = 0.0
    audits: int = 0
    anomalies: dict[str, int] = field(default_factory=dict)
    phase: str = "starting"


class Ticker:
    """Called every tick of the race with the time: samples, logs and reports as due."""

    def __init__(self, scenario: str, seed: int, log: Any, show: Callable[[Progress], None],
                 counters: Counters, tally: Tally, fleet: Fleet, race_t0: float) -> None:
        self.scenario, self.seed, self.log, self.show = scenario, seed, log, show
        self.counters, self.tally, self.fleet = counters, tally, fleet
        self.race_t0 = race_t0
        self.next_progress = self.next_health = race_t0

    def __call__(self, now: float, phase: str) -> None:
        if now >= self.next_health:
            self.fleet.sample_all()
            self.next_health = now + HEALTH_EVERY
        elapsed = now - self.race_t0
        worker_ops = self.counters.ops()
        ops = sum(worker_ops)
        counts = self.tally.all_counts(self.counters)
        if now >= self.next_progress:
            self.log.info(Event.PROGRESS, t=round(elapsed, 3), ops=ops, audits=self.tally.audits,
                          anomalies=counts, worker_ops=worker_ops)
            self.next_progress = now + PROGRESS_EVERY
        self.show(Progress(self.scenario, self.seed, elapsed, ops,
                           ops / elapsed if elapsed > 0 else 0.0, self.tally.audits, counts,
                           phase))
