"""A role's own draws in the race as branches of the search.

Outside the explorer a role draws its page, slot or mapping from its own random
stream (roles/base.Draws).  A strategy that enumerates (dfs, dpor: `pick`) or
replays recorded values takes those draws over once the warm-up is done: each draw
of n values is a choice point, and the values taken are kept per actor, in order, so
that a finding replays them (token.py).  Strategies that sample (random, pct) keep
drawing from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable

from stress.roles.base import Draws

Pick = Callable[[int, int], int]  # (actor, n) -> one of 0 .. n-1


class Branching(Draws):
    """An actor's draws in the race, each answered by the strategy and recorded."""

    def __init__(self, rng: random.Random, actor: int, branch: Pick,
                 taken: list[int]) -> None:
        super().__init__(rng)
        self.actor, self.branch, self.taken = actor, branch, taken

    def pick(self, n: int) -> int:
        if n <= 1:
            return 0
        v = self.branch(self.actor, n)
        self.taken.append(v)
        return v

    def chance(self, p: float) -> bool:
        if not 0 < p < 1:
            return p >= 1
        v = self.branch(self.actor, 2)  # 0: yes, tried first
        self.taken.append(v)
        return v == 0
