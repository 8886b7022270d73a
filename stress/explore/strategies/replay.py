"""`replay`: a recorded schedule, its switches taken at their steps, the default elsewhere.

With `draws` (each actor's draws in the race, as a systematic search took them:
explore/draws.py) it answers those too, in order; without, the roles draw from the
seed, as they did under the strategy that found the schedule.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stress.explore.strategies import Nondeterminism, default_choice


class Replay:
    name = "replay"
    exhausted = False

    def __init__(self, switches: Iterable[tuple[int, int]], strict: bool = True,
                 draws: Sequence[Sequence[int]] | None = None) -> None:
        self.switches = dict(switches)
        self.strict = strict  # False while shrinking: a switch to an actor that is done is dropped
        self._draws = [iter(d) for d in draws or ()]  # each actor's, still to come
        self.answers_draws = draws is not None

    def begin(self, index: int) -> bool:
        return True

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        k = self.switches.get(step)
        if k is None or (not self.strict and k not in enabled):
            return default_choice(enabled, current)
        return k

    def pick(self, actor: int, n: int) -> int:
        """The actor's next recorded draw; while shrinking, 0 past them or out of range."""
        v = next(self._draws[actor], None) if actor < len(self._draws) else None
        if v is not None and v < n:
            return v
        if self.strict:
            raise Nondeterminism(f"actor {actor}: a draw of {n} values, recorded "
                                 f"{'none' if v is None else v}")
        return 0

    def end(self, steps: int) -> None:
        pass
