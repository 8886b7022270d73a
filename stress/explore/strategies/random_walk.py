"""`random`: a uniform walk, every step an independent choice among the actors that can run."""

from __future__ import annotations

import random
from collections.abc import Sequence


class RandomWalk:
    name = "random"
    exhausted = False  # an unbounded space: never

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self._rng = random.Random(seed)

    def begin(self, index: int) -> bool:
        self._rng = random.Random(self.seed * 1_000_003 + index)
        return True

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        return enabled[int(self._rng.random() * len(enabled))]

    def end(self, steps: int) -> None:
        pass
