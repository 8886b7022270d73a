"""How the next actor is chosen: one strategy per module, behind one small protocol.

A strategy sees, at every step, which actors can run and who ran last, and
names the next.  `begin` starts a schedule (False: nothing left to explore);
`end` says how long it was.  Strategies never see the model: the same ones
would drive any program over a scheduled memory.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from stress.anomalies import HarnessSignal


class Strategy(Protocol):
    name: str
    exhausted: bool  # the strategy covered its whole (bounded) space

    def begin(self, index: int) -> bool: ...
    def choose(self, enabled: Sequence[int], current: int, step: int) -> int: ...
    def end(self, steps: int) -> None: ...
    # A strategy that reduces by dependence (dpor) also has observe(actor, Access): the
    # footprint of each step, which the scheduler hands it when the strategy has one.
    # One that enumerates or replays the roles' own draws has answers_draws True and
    # pick(actor, n): the value of a draw of n (explore/draws.py); otherwise the roles
    # draw from the seed.


class Nondeterminism(HarnessSignal):
    """A replayed choice named an actor that could not run, or a draw that was not there:
    the program is not deterministic."""


STRATEGIES = ("random", "pct", "dfs", "dpor")
# The strategies whose end is a statement about every program (explore/search.py).
SYSTEMATIC = ("dfs", "dpor")


def default_choice(enabled: Sequence[int], current: int) -> int:
    """Who runs when nobody is preempted: the current actor, else the next one in order."""
    if current in enabled:
        return current
    for k in enabled:
        if k > current:
            return k
    return enabled[0]



def make_strategy(name: str, seed: int, *, depth: int = 3, preemptions: int = 2,
                  max_steps: int = 10_000) -> Strategy:
    """A strategy by name."""
    from stress.explore.strategies.dfs import Dfs
    from stress.explore.strategies.dpor import Dpor
    from stress.explore.strategies.pct import Pct
    from stress.explore.strategies.random_walk import RandomWalk

    if name == "random":
        return RandomWalk(seed)
    if name == "pct":
        return Pct(seed, depth, max_steps)
    if name == "dfs":
        return Dfs(preemptions)
    if name == "dpor":
        return Dpor(preemptions)
    raise ValueError(f"strategy: must be one of {', '.join(STRATEGIES)}, got {name!r}")
