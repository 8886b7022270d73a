"""The fewest preemptions that reach a finding: CHESS's iterative bounding over its program.

A shrunk finding keeps whatever switches the strategy that found it happened to take.
Its program (seed, operations per actor) is searched again at bounds 0, 1, 2, ...
(bounded dpor: every state dfs reaches at the bound, in fewer schedules, so more
bounds end within the cap): the first bound that reaches the same kind is the fewest
preemptions the race needs.  0 means no interleaving at all: the bug is `sequential`,
a program that fails however it is scheduled from its default order; otherwise it is
an `interleaving`.
The answer is proven when every lower bound was searched to the end (no schedule cut
at the step bound, none left over at the per-bound cap).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from stress.explore.shrink import Candidate
from stress.explore.strategies.dpor import Dpor
from stress.explore.world import World

PER_BOUND = 5_000  # schedules tried at one bound before the search moves on, unproven


@dataclass(frozen=True)
class Minimal:
    preemptions: int  # the fewest found to reach the kind
    proven: bool  # every lower bound searched to the end
    candidate: Candidate  # a schedule with that many preemptions
    schedules: int  # schedules it took

    @property
    def label(self) -> str:
        return "sequential" if self.preemptions == 0 else "interleaving"


def fewest_preemptions(world: World, found: Candidate, kind: str, known: int,
                       max_steps: int, per_bound: int = PER_BOUND) -> Minimal:
    """Search `found`'s program at bounds 0 .. `known` (what `found` itself takes)."""
    proven, total = True, 0
    for bound in range(known):
        dfs, n, complete = Dpor(bound, draws=found.draws is not None), 0, True
        while dfs.begin(n):
            if n >= per_bound:
                complete = False
                break
            o = world.run(found.seed, found.program, dfs, max_steps)
            dfs.end(o.schedule.steps)
            n += 1
            complete = complete and not o.abandoned
            if o.anomaly is not None and o.anomaly.kind.value == kind:
                least = replace(found, switches=tuple(o.schedule.switches),
                                draws=o.schedule.draws)
                return Minimal(bound, proven, least, total + n)
        total += n
        proven = proven and complete
    return Minimal(known, proven, found, total)
