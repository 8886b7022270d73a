"""Shrinking: the simplest schedule that still fails the same way, in hypothesis's spirit.

The shrinker knows nothing of the model.  It is given a failing start and a test:
`test(c)` replays a candidate and, when it fails the same way, answers with the
candidate as it really ran (switches that named a finished actor dropped) and its
steps; otherwise None.  Every replay is deterministic, so the result replays exactly.

Simpler (`simpler`, over a `Size` of steps, operations, switches): never more steps
than the best so far (a shrunk schedule is never longer than the one it came from),
then fewer operations in all, then fewer switches.

The passes, in this order, each repeated while it keeps something, all of them again
until a round keeps nothing (`PASSES`):

- `drop_actor`: every operation of one actor (it no longer races);
- `halve`: the second half of one actor's operations;
- `drop_op`: one operation, the last first;
- `drop_switch`: one switch, the last first (one preemption fewer).

Two passes may propose the same candidate: the memo answers the second time without
a replay.  `Shrunk` counts replays, memo answers and, per pass, tried and kept.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from stress.explore.strategies.replay import Replay

if TYPE_CHECKING:  # the adapter's types only: the shrinker itself never runs a world
    from stress.explore.world import Outcome, Program, World

MAX_REPLAYS = 2_000

Size = tuple[int, int, int]  # steps, operations, switches


@dataclass(frozen=True)
class Candidate:
    seed: int
    program: Program
    switches: tuple[tuple[int, int], ...]
    group: int = 0  # which group of actors (world.actor_groups) the program is for
    # Each actor's draws in the race, as a systematic search took them (None: the seed's).
    draws: tuple[tuple[int, ...], ...] | None = None

    @property
    def ops(self) -> tuple[int, ...]:
        """Operations per actor."""
        return tuple(len(p) for p in self.program)


Test = Callable[[Candidate], "tuple[Candidate, int] | None"]


def size(c: Candidate, steps: int) -> Size:
    return steps, sum(c.ops), len(c.switches)


def simpler(a: Size, b: Size) -> bool:
    """Is a candidate of (steps, operations, switches) `a` simpler than `b`?

    No more steps than `b`, and fewer operations, or as many and fewer switches.
    """
    return a[0] <= b[0] and (a[1], a[2]) < (b[1], b[2])


def _with_ops(c: Candidate, k: int, ops: tuple[int, ...]) -> Candidate:
    return replace(c, program=c.program[:k] + (ops,) + c.program[k + 1:])


def drop_actor(c: Candidate) -> Iterator[Candidate]:
    for k, ops in enumerate(c.program):
        if ops:
            yield _with_ops(c, k, ())


def halve(c: Candidate) -> Iterator[Candidate]:
    for k, ops in enumerate(c.program):
        if len(ops) > 1:
            yield _with_ops(c, k, ops[:len(ops) // 2])


def drop_op(c: Candidate) -> Iterator[Candidate]:
    for k, ops in enumerate(c.program):
        for i in reversed(range(len(ops))):
            yield _with_ops(c, k, ops[:i] + ops[i + 1:])


def drop_switch(c: Candidate) -> Iterator[Candidate]:
    for i in reversed(range(len(c.switches))):
        yield replace(c, switches=c.switches[:i] + c.switches[i + 1:])


PASSES: tuple[tuple[str, Callable[[Candidate], Iterator[Candidate]]], ...] = (
    ("drop_actor", drop_actor), ("halve", halve), ("drop_op", drop_op),
    ("drop_switch", drop_switch))


@dataclass
class Shrunk:
    best: Candidate
    size: Size
    replays: int = 0  # the test run
    memo_hits: int = 0  # candidates proposed again, answered from the memo
    passes: dict[str, list[int]] = field(default_factory=dict)  # name -> [tried, kept]


def shrink(start: Candidate, test: Test, max_replays: int = MAX_REPLAYS) -> Shrunk:
    """The simplest candidate the passes reach from `start` that `test` still fails."""
    first = test(start)
    if first is None:
        raise ValueError("the start does not fail: there is nothing to shrink")
    out = Shrunk(start, size(start, first[1]), replays=1,
                 passes={name: [0, 0] for name, _ in PASSES})
    memo: dict[Candidate, tuple[Candidate, int] | None] = {start: first}

    def answer(c: Candidate) -> tuple[Candidate, int] | None:
        if c in memo:
            out.memo_hits += 1
            return memo[c]
        out.replays += 1
        memo[c] = got = test(c)
        return got

    kept_any = True
    while kept_any and out.replays < max_replays:
        kept_any = False
        for name, propose in PASSES:
            kept = True
            while kept and out.replays < max_replays:  # the pass again from what it kept
                kept = False
                for c in propose(out.best):
                    if out.replays >= max_replays:
                        break
                    out.passes[name][0] += 1
                    got = answer(c)
                    if got is not None and simpler(s := size(got[0], got[1]), out.size):
                        out.best, out.size = got[0], s
                        out.passes[name][1] += 1
                        kept = kept_any = True
                        break
    return out


def replay(world: World, c: Candidate, max_steps: int, *, strict: bool = True,
           trace: bool = False) -> Outcome:
    return world.run(c.seed, c.program, Replay(c.switches, strict, c.draws), max_steps,
                     trace=trace)


def fails_with(world: World, kind: str, max_steps: int) -> Test:
    """The test of a finding on the model: the same anomaly kind, replayed leniently."""
    def test(c: Candidate) -> tuple[Candidate, int] | None:
        o = replay(world, c, max_steps, strict=False)
        if o.anomaly is None or o.anomaly.kind.value != kind:
            return None
        return replace(c, switches=tuple(o.schedule.switches),
                       draws=o.schedule.draws), o.schedule.steps
    return test
