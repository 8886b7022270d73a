"""`dpor`: every interleaving, up to the order of independent steps (DPOR with sleep sets).

Source-DPOR (Abdulla, Aronis, Jonsson and Sagonas, POPL 2014, Algorithm 1: Flanagan
and Godefroid's dynamic partial-order reduction with source sets) and sleep sets,
over the steps the scheduler reports (`observe`): two steps depend on each other
when one writes a word the other reads or writes (memory.Access); the audit reads
every word.  After each step the strategy looks back for the steps it is in a race
with (dependent, of another actor, ordered before it by nothing but that
dependence) and makes sure the state before each of them tries an actor that can
start a schedule where the race goes the other way (an initial of the steps that
do not depend on the earlier one, then the later one).  An actor whose step was
already explored from an earlier state, and which nothing since has disturbed,
sleeps: it is not tried again.  A schedule where every actor that could run sleeps
repeats one already run and ends (`SleepBlocked`).

Without a bound (`Dpor()`), `exhausted` means every interleaving of the program,
each once up to swapping independent neighbours, and every final state plain dfs
reaches without a bound.

With a preemption bound (`Dpor(bound)`: bounded partial-order reduction, Coons,
Musuvathi and McKinley, OOPSLA 2013) it runs only schedules of at most `bound`
preemptions, costed as dfs costs them, and reaches every final state `Dfs(bound)`
reaches.  A bound makes otherwise independent steps depend on each other (the
order that reverses a race may cost a preemption the bound forbids where the race
is, and none a little earlier), so two things change: each race also asks for its
later actor at the last context switch before the earlier step (BPOR's
conservative point, as dejafu's `cBacktrack` places it), and there are no sleep
sets (an actor asleep because its step was explored from an earlier state may have
been explored there at a cost the bound did not allow).  The race's own point asks
for the later actor itself (Flanagan and Godefroid's rule, sound without sleep
sets).

A role's own draw in the race (`pick`: which page, slot or mapping;
explore/draws.py) is a choice within a step: every value is tried, the step's last
draw turning fastest, before the state tries another actor.  A draw touches no
shared word, so it races with nothing; the races its values lead to add their
backtracking to the states before, which are still on the stack while the values
are tried.  An actor put to sleep carries every value's footprint at once.

FG05's own rule (add the racing actor itself) is not enough with sleep sets: with
A writing y, B reading x then y and C reading y, the schedule C, A, B where C reads
the old y and B the new is lost when A sleeps where the rule would add it
(tests/test_explore_dpor.py found it); the initials find C there.
"""

from __future__ import annotations

from collections.abc import Sequence

from stress.explore.memory import Access
from stress.explore.strategies import default_choice


class _Frame:
    """One state of the current schedule: who could run, who sleeps, who was tried."""

    __slots__ = ("access", "backtrack", "before", "chosen", "current", "cursor", "done",
                 "enabled", "picks", "sleep")

    def __init__(self, enabled: Sequence[int], sleep: dict[int, Access], chosen: int,
                 current: int, before: int) -> None:
        self.enabled = tuple(enabled)
        self.current = current  # who ran the step before
        self.before = before  # preemptions before this step
        self.sleep = sleep  # asleep on entry, with the footprint of the step each would take
        self.backtrack = {chosen}  # actors that must be tried here
        self.done: dict[int, Access] = {}  # actors tried here, with their step's footprint
        self.chosen = chosen
        self.access: Access | None = None  # the chosen step's footprint, once run
        self.picks: list[list[int]] = []  # the chosen step's draws: [value, of how many]
        self.cursor = 0  # the next draw of the step being run

    def cost(self, actor: int) -> int:
        """Preemptions up to and including this step, when `actor` takes it (as dfs counts)."""
        return self.before + (actor != self.current and self.current in self.enabled)


def _advance(f: _Frame) -> bool:
    """The next values of the draws of f's step, its last turning fastest (False: none)."""
    while f.picks:
        last = f.picks[-1]
        last[0] += 1
        if last[0] < last[1]:
            f.access = None
            return True
        f.picks.pop()
    return False


class Dpor:
    name = "dpor"

    def __init__(self, bound: int | None = None, draws: bool = True) -> None:
        if bound is not None and bound < 0:
            raise ValueError(f"preemptions: must be at least 0, got {bound}")
        self.bound = bound  # None: every interleaving
        self.answers_draws = draws  # every value of the roles' draws a branch (pick)
        self.exhausted = False
        self.blocked = 0  # schedules that ended asleep (not failures: repeats)
        self._stack: list[_Frame] = []
        self._pos = 0
        self._started = False
        self._first = _Frame((), {}, -1, -1, 0)  # holds the draws made before the first step
        self._reset()

    def _reset(self) -> None:
        self._actors: list[int] = []  # each observed step's actor
        self._clocks: list[list[int]] = []  # ... and its vector clock
        self._actor_clock: dict[int, list[int]] = {}
        self._n = 0

    def begin(self, index: int) -> bool:
        self._pos = 0
        self._first.cursor = 0
        self._reset()
        if not self._started:
            self._started = True
            return True
        bound = self.bound
        while self._stack:
            f = self._stack[-1]
            if _advance(f):  # the step's own draws first
                return True
            for k in f.enabled:
                if k in f.backtrack and k not in f.done and k not in f.sleep and (
                        bound is None or f.cost(k) <= bound):
                    f.chosen, f.access = k, None
                    return True
            self._stack.pop()
        if _advance(self._first):
            return True
        self.exhausted = True
        return False

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        if not self._n:  # every actor can run at the first step
            self._n = max(enabled) + 1
        if self._pos < len(self._stack):
            f = self._stack[self._pos]
            f.cursor = 0
            self._pos += 1
            return f.chosen
        sleep: dict[int, Access] = {}
        before = 0
        if self._stack:
            parent = self._stack[-1]
            before = parent.cost(parent.chosen)
            moved = parent.access
            assert moved is not None
            for asleep in (parent.sleep, parent.done) if self.bound is None else ():
                for k, acc in asleep.items():
                    if k != parent.chosen and k not in sleep and not acc.depends(moved):
                        sleep[k] = acc
        awake = [k for k in enabled if k not in sleep]
        if not awake:
            self.blocked += 1
            return -1
        first = default_choice(awake, current)
        self._stack.append(_Frame(enabled, sleep, first, current, before))
        self._pos += 1
        return first

    def pick(self, actor: int, n: int) -> int:
        """A draw of one of n values within the step being run: each value a branch."""
        f = self._stack[self._pos - 1] if self._pos else self._first
        c = f.cursor
        f.cursor += 1
        if c < len(f.picks):
            return f.picks[c][0]
        f.picks.append([0, n])
        return 0

    def observe(self, actor: int, access: Access) -> None:
        """The step just run: record it, and add the backtracking its races call for."""
        j = len(self._actors)
        f = self._stack[j]
        f.access = access
        # (a step that draws has a footprint per value: asleep, it carries them all)
        had = f.done.get(actor)
        if had is None:
            f.done[actor] = access
        elif f.picks and self.bound is None:
            f.done[actor] = had.union(access)
        clock, races = self._races(actor, access, j)
        clock[actor] = j + 1
        self._actors.append(actor)
        self._clocks.append(clock)
        self._actor_clock[actor] = clock
        for i in races:
            self._reverse(i, j)

    def _races(self, actor: int, access: Access, j: int) -> tuple[list[int], list[int]]:
        """The earlier steps step `j` is in a race with (dependent, of another actor, and
        ordered before it by nothing but that dependence), and its vector clock.

        Walking back from `j`, the clock gathers what the steps already met happen
        after; a dependent step not in it reaches `j` directly: a race.
        """
        n = self._n
        clock = list(self._actor_clock.get(actor) or [0] * n)
        stack, actors, clocks = self._stack, self._actors, self._clocks
        races = []
        for i in range(j - 1, -1, -1):
            a = actors[i]
            if a == actor:
                continue  # (its own steps are in its clock already)
            acc = stack[i].access
            assert acc is not None
            if not acc.depends(access):
                continue
            ci = clocks[i]
            if ci[a] > clock[a]:  # not ordered before j by another step: a race
                races.append(i)
                for x in range(n):
                    if ci[x] > clock[x]:
                        clock[x] = ci[x]
        return clock, races

    def _reverse(self, i: int, j: int) -> None:
        """Make sure the state before step `i` tries an actor that can start a schedule in
        which step `j` comes first (source-DPOR's initials of notdep(i).j)."""
        actors, clocks = self._actors, self._clocks
        if self.bound is not None:
            self._conservative(i, actors[j])
            return
        ai = actors[i]
        # The steps after i that do not happen after it, then j: who of them could go first.
        v = [k for k in range(i + 1, j) if clocks[k][ai] < i + 1] + [j]
        initials: list[int] = []
        for pos, k in enumerate(v):
            if not any(clocks[k][actors[y]] >= y + 1 for y in v[:pos]):
                if actors[k] not in initials:
                    initials.append(actors[k])
        f = self._stack[i]
        if any(q in f.backtrack for q in initials):
            return
        awake = [q for q in initials if q not in f.sleep]
        if awake:  # (all asleep: schedules starting with them are covered elsewhere)
            f.backtrack.add(actors[j] if actors[j] in awake else awake[0])

    def _conservative(self, i: int, later: int) -> None:
        """Bounded: ask for the later actor of a race at its earlier step, and at the last
        context switch before it (or the first step), where the switch may cost nothing."""
        actors, stack = self._actors, self._stack
        stack[i].backtrack.add(later)
        c = i - 1
        while c > 0 and actors[c] == actors[c - 1]:
            c -= 1
        if c >= 0:
            stack[c].backtrack.add(later)

    def end(self, steps: int) -> None:
        del self._stack[self._pos:]  # (a schedule cut short keeps only what it ran)
