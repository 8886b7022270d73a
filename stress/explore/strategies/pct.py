"""`pct`: probabilistic concurrency testing (Burckhardt et al., ASPLOS 2010).

Each schedule gives the n actors random distinct priorities above d, and picks
d - 1 change points among the k steps a schedule is expected to take; the
highest-priority actor that can run always runs, and when the running actor
reaches the i-th change point its priority drops to d - i, below every initial
one.  A bug of depth d is found with probability at least 1 / (n k^(d-1)) per
schedule.  k is learnt from the schedules already run.
"""

from __future__ import annotations

import random
from collections.abc import Sequence


class Pct:
    name = "pct"
    exhausted = False

    def __init__(self, seed: int, depth: int, max_steps: int) -> None:
        if depth < 1:
            raise ValueError(f"depth: must be at least 1, got {depth}")
        self.seed, self.depth = seed, depth
        self.k = 0  # the longest schedule seen: where change points may fall
        self.max_steps = max_steps
        self._rng = random.Random(seed)
        self._prio: list[float] = []  # per actor, drawn at its first sight
        self._change: dict[int, float] = {}  # step -> the priority the runner drops to

    def begin(self, index: int) -> bool:
        self._rng = random.Random(self.seed * 1_000_003 + index)
        self._prio = []
        k = self.k or 64
        steps = self._rng.sample(range(1, k + 1), min(self.depth - 1, k))
        self._change = {s: self.depth - 1 - i for i, s in enumerate(sorted(steps))}
        return True

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        prio = self._prio
        if len(prio) <= enabled[-1]:  # first sight: random ranks above every change point
            prio.extend(self.depth + self._rng.random()
                        for _ in range(enabled[-1] + 1 - len(prio)))
        if step in self._change and current >= 0:
            prio[current] = self._change[step]
        return max(enabled, key=prio.__getitem__)

    def end(self, steps: int) -> None:
        self.k = min(max(self.k, steps), self.max_steps)
