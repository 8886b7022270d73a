"""Shrinking: the smallest schedule that still fails the same way, in hypothesis's spirit.

A failing schedule is (seed, program, switches).  Shrinking tries, until nothing
gets smaller: fewer operations for each actor (none, which takes the actor out of
the race, its first half, then each operation left out in turn), then each switch
away (a switch removed means the default choice there: one preemption fewer).  A
candidate is kept when it still ends in the same anomaly kind and is simpler
(`simpler`): never more steps, and fewer operations or fewer switches.  Every
replay is deterministic, so the result replays exactly.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from stress.explore.strategies.replay import Replay
from stress.explore.world import Outcome, Program, World

MAX_ATTEMPTS = 2_000


@dataclass(frozen=True)
class Candidate:
    seed: int
    program: Program
    switches: tuple[tuple[int, int], ...]
    group: int = 0  # which group of actors (world.actor_groups) the program is for

    @property
    def ops(self) -> tuple[int, ...]:
        """Operations per actor."""
        return tuple(len(p) for p in self.program)


def simpler(a: tuple[int, int, int], b: tuple[int, int, int]) -> bool:
    """Is a candidate of (steps, operations, switches) `a` simpler than `b`?

    No more steps than `b` (a shrunk schedule is never longer than the one it came from),
    and fewer operations, or as many and fewer switches.
    """
    return a[0] <= b[0] and (a[1], a[2]) < (b[1], b[2])


def replay(world: World, c: Candidate, max_steps: int, *, strict: bool = True,
           trace: bool = False) -> Outcome:
    return world.run(c.seed, c.program, Replay(c.switches, strict), max_steps, trace=trace)


def shrink(world: World, start: Candidate, kind: str, max_steps: int,
           on_step: Callable[[Candidate, Outcome], None] | None = None) -> tuple[Candidate, int]:
    """The simplest candidate found that still fails with `kind`, and the replays it took."""
    attempts = 0
    size: dict[Candidate, tuple[int, int, int]] = {}

    def measure(c: Candidate, o: Outcome) -> tuple[int, int, int]:
        return size.setdefault(c, (o.schedule.steps, sum(c.ops), len(c.switches)))

    def fails(c: Candidate) -> Candidate | None:
        nonlocal attempts
        attempts += 1
        o = replay(world, c, max_steps, strict=False)
        if o.anomaly is None or o.anomaly.kind.value != kind:
            return None
        # What actually ran: switches that named a finished actor were dropped.
        real = replace(c, switches=tuple(o.schedule.switches))
        if not simpler(measure(real, o), size[best]):
            return None
        if on_step:
            on_step(real, o)
        return real

    best = start
    measure(start, replay(world, start, max_steps, strict=False))
    improved = True
    while improved and attempts < MAX_ATTEMPTS:
        improved = False
        for k in range(len(best.program)):
            for ops in _fewer(best.program[k]):
                if attempts >= MAX_ATTEMPTS:
                    break
                program = best.program[:k] + (ops,) + best.program[k + 1:]
                if (c := fails(replace(best, program=program))) is not None:
                    best, improved = c, True
                    break
        for i in reversed(range(len(best.switches))):
            if attempts >= MAX_ATTEMPTS or i >= len(best.switches):
                continue
            sw = best.switches[:i] + best.switches[i + 1:]
            if (c := fails(replace(best, switches=sw))) is not None:
                best, improved = c, True
    return best, attempts


def _fewer(ops: tuple[int, ...]) -> list[tuple[int, ...]]:
    """Shorter versions of one actor's operations, the shortest first."""
    out = [(), ops[:len(ops) // 2]] if ops else []
    out += [ops[:i] + ops[i + 1:] for i in reversed(range(len(ops)))]
    return list(dict.fromkeys(o for o in out if len(o) < len(ops)))
