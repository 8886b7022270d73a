"""Run actors as greenlets and let a strategy pick, at every access, who goes next.

An actor's program is a plain callable.  It runs in its own greenlet until it
reaches a scheduling point (an access through a scheduled memory, or the start of
an operation), where it switches back to the scheduler; the scheduler asks the
strategy for the next actor and switches to it, which performs the access it was
waiting to make and runs on to its next point.  A step is one such choice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from greenlet import GreenletExit, greenlet

from stress.anomalies import HarnessSignal
from stress.explore.memory import Footprint, ScheduledMemory, _no_point
from stress.explore.strategies import Nondeterminism, Strategy, default_choice

__all__ = ["Nondeterminism", "OutOfTime", "Schedule", "Scheduler", "SleepBlocked", "StepBound"]


class StepBound(HarnessSignal):
    """A schedule ran past its step bound: abandoned, never a finding."""


class SleepBlocked(HarnessSignal):
    """Every actor that could run is asleep (strategies/dpor.py): this schedule can only
    repeat, up to the order of independent steps, one already run; it ends here."""


class OutOfTime(HarnessSignal):
    """The budget, or a stop request, ended a schedule before its end: neither a finding
    nor part of any proof."""


# Steps between two looks at the clock: a schedule of the model is thousands of steps, and a
# look costs about what a step does.
EXPIRY_EVERY = 1024


@dataclass
class Schedule:
    """What one run of the programs did: the choices, and how far it got."""

    choices: list[int] = field(default_factory=list)
    switches: list[tuple[int, int]] = field(default_factory=list)  # (step, actor) off default
    steps: int = 0
    preemptions: int = 0
    # Each actor's draws in the race, as the strategy gave them (explore/draws.py); None:
    # the roles drew from the seed.
    draws: tuple[tuple[int, ...], ...] | None = None


class Scheduler:
    """Drives programs over scheduled memories, one strategy choice per step."""

    def __init__(self, strategy: Strategy, max_steps: int,
                 fp: Footprint | None = None,
                 expired: Callable[[], bool] | None = None) -> None:
        self.strategy = strategy
        self.max_steps = max_steps
        # Asked every EXPIRY_EVERY steps: a schedule may outlast a budget on its own (at
        # [explore] ops = 1000 one dpor schedule took minutes).
        self.expired = expired
        # A strategy that reduces by dependence sees each step's footprint (recorded into
        # `fp` by the memories, which the world points at it).
        self.observe = getattr(strategy, "observe", None) if fp is not None else None
        self.fp = fp
        self.step = -1  # before the race (the warm-up)
        self.partial: Schedule | None = None  # the schedule so far, when an exception ends it

    def run(self, programs: Sequence[Callable[[], None]],
            memories: Sequence[ScheduledMemory]) -> Schedule:
        """Run every program to its end under the strategy's choices."""
        main = greenlet.getcurrent()
        for mem in memories:
            mem.point = main.switch
        threads = [greenlet(p, parent=main) for p in programs]
        sched = self.partial = Schedule()
        try:
            for g in threads:
                g.switch()  # to its first scheduling point
            enabled = [k for k, g in enumerate(threads) if not g.dead]
            current, step, choose, observe, fp = -1, 0, self.strategy.choose, self.observe, \
                self.fp
            expired = self.expired
            while enabled:
                if step >= self.max_steps:
                    raise StepBound(f"more than {self.max_steps} steps")
                if expired is not None and not step % EXPIRY_EVERY and step and expired():
                    raise OutOfTime(f"step {step}: out of time")
                k = choose(enabled, current, step)
                if k < 0:
                    raise SleepBlocked(f"step {step}: every actor of {enabled} asleep")
                if k != current:
                    if k not in enabled:
                        raise Nondeterminism(f"step {step}: actor {k} chosen, {enabled} can run")
                    if current in enabled:
                        sched.preemptions += 1
                    if k != default_choice(enabled, current):
                        sched.switches.append((step, k))
                sched.choices.append(k)
                self.step = step
                if observe is not None:
                    assert fp is not None
                    fp.clear()
                    try:
                        threads[k].switch()
                    finally:  # (an anomaly ends the step early: what it read still races)
                        observe(k, fp.frozen())
                else:
                    threads[k].switch()
                if threads[k].dead:
                    enabled.remove(k)
                current = k
                step += 1
            return sched
        finally:
            sched.steps = len(sched.choices)
            for mem in memories:
                mem.point = _no_point
            for g in threads:
                if not g.dead:
                    g.throw(GreenletExit)
            self.step = sched.steps
