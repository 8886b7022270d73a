"""`dfs`: every schedule with at most `preemptions` preemptions, depth first (CHESS).

A preemption is a switch away from an actor that could have gone on.  Each
schedule replays the choices of the one before up to its last step that still
has an alternative within the bound, takes that alternative, and continues with
the default (the current actor, or the next in order once it is done).  When no
step has an alternative left, the bounded space is exhausted.  Every step
branches: a switch away from an actor that could go on costs a preemption; the
first step and a switch after an actor finishes cost nothing (CHESS's
non-preemptive context switches).  A role's own draw in the race (`pick`: which
page, slot or mapping; explore/draws.py) branches too, at no cost: every value is
tried.  Not branching after an actor finishes would
lose orders no earlier preemption reaches: with A and B reading a word and C
writing it, one step each, A, C, B is the only schedule where A reads the old
value and B the new (tests/test_explore_dpor.py found it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stress.explore.strategies import default_choice


@dataclass
class _Frame:
    order: list[int]  # alternatives, the default first (actors, or a draw's values)
    k: int  # the alternative taken
    current: int  # who ran the step before (_DRAW: a draw, whose values cost nothing)
    before: int  # preemptions before this step


_DRAW = -2


class Dfs:
    name = "dfs"

    def __init__(self, preemptions: int, draws: bool = True) -> None:
        if preemptions < 0:
            raise ValueError(f"preemptions: must be at least 0, got {preemptions}")
        self.bound = preemptions
        self.answers_draws = draws  # every value of the roles' draws a branch (pick)
        self.exhausted = False
        self._stack: list[_Frame] = []
        self._pos = 0
        self._started = False

    def _cost(self, f: _Frame, actor: int) -> int:
        return f.before + (1 if actor != f.current and f.current in f.order else 0)

    def begin(self, index: int) -> bool:
        self._pos = 0
        if not self._started:
            self._started = True
            return True
        while self._stack:
            f = self._stack[-1]
            f.k += 1
            while f.k < len(f.order) and self._cost(f, f.order[f.k]) > self.bound:
                f.k += 1
            if f.k < len(f.order):
                return True
            self._stack.pop()
        self.exhausted = True
        return False

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        if self._pos < len(self._stack):
            return self._replayed()
        first = default_choice(enabled, current)
        # Every actor that can run is an alternative: at no cost at the first step and
        # after an actor finishes (a switch, not a preemption), at one otherwise.
        return self._branch([first] + [k for k in enabled if k != first], current)

    def pick(self, actor: int, n: int) -> int:
        """A role's draw of one of n values: each a branch."""
        if self._pos < len(self._stack):
            return self._replayed()
        return self._branch(list(range(n)), _DRAW)

    def _replayed(self) -> int:
        f = self._stack[self._pos]
        self._pos += 1
        return f.order[f.k]

    def _branch(self, order: list[int], current: int) -> int:
        """A new frame, its first alternative taken."""
        top = self._stack[-1] if self._stack else None
        before = self._cost(top, top.order[top.k]) if top is not None else 0
        self._stack.append(_Frame(order, 0, current, before))
        self._pos += 1
        return order[0]

    def end(self, steps: int) -> None:
        del self._stack[self._pos:]  # a shorter schedule than the one replayed
