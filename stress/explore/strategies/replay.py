"""`replay`: a recorded schedule, its switches taken at their steps, the default elsewhere."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from stress.explore.strategies import default_choice


class Replay:
    name = "replay"
    exhausted = False

    def __init__(self, switches: Iterable[tuple[int, int]], strict: bool = True) -> None:
        self.switches = dict(switches)
        self.strict = strict  # False while shrinking: a switch to an actor that is done is dropped

    def begin(self, index: int) -> bool:
        return True

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        k = self.switches.get(step)
        if k is None or (not self.strict and k not in enabled):
            return default_choice(enabled, current)
        return k

    def end(self, steps: int) -> None:
        pass
