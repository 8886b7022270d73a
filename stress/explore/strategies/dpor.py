"""`dpor`: every interleaving, up to the order of independent steps (DPOR with sleep sets).

Flanagan and Godefroid's dynamic partial-order reduction (POPL 2005), with
Godefroid's sleep sets, over the steps the scheduler reports (`observe`): two
steps depend on each other when one writes a word the other reads or writes
(memory.Access), and a step that runs the audit depends on every other.  After
each step the strategy looks back for the steps it races with (dependent, of
another actor, not ordered before it by the happens-before of the execution)
and marks, at the state before each of them, that this actor must also be tried
there.  An actor whose step was already explored from an earlier state, and
which nothing since has disturbed, sleeps: it is not tried again.  A schedule
where every actor that could run sleeps repeats one already run and ends
(`SleepBlocked`).

Unlike dfs there is no preemption bound: a bound on preemptions makes otherwise
independent steps depend on each other, and DPOR pruned by a bound misses states
the bound reaches (Coons, Musuvathi and McKinley, OOPSLA 2013).  So `exhausted`
here means every interleaving of the program, each once up to swapping
independent neighbours, and every final state plain dfs reaches without a bound.

FG05 looks for races of every actor's next step at every state; here each next
step is seen when it runs (`observe`), or, at a schedule that ends asleep, from the
sleep set, which holds the next step of every actor that did not run again.
"""

from __future__ import annotations

from collections.abc import Sequence

from stress.explore.memory import Access
from stress.explore.strategies import default_choice


class _Frame:
    """One state of the current schedule: who could run, who sleeps, who was tried."""

    __slots__ = ("access", "backtrack", "chosen", "done", "enabled", "sleep")

    def __init__(self, enabled: Sequence[int], sleep: dict[int, Access], chosen: int) -> None:
        self.enabled = tuple(enabled)
        self.sleep = sleep  # asleep on entry, with the footprint of the step each would take
        self.backtrack = {chosen}  # actors that must be tried here
        self.done: dict[int, Access] = {}  # actors tried here, with their step's footprint
        self.chosen = chosen
        self.access: Access | None = None  # the chosen step's footprint, once run


class Dpor:
    name = "dpor"

    def __init__(self) -> None:
        self.exhausted = False
        self.blocked = 0  # schedules that ended asleep (not failures: repeats)
        self._stack: list[_Frame] = []
        self._pos = 0
        self._started = False
        self._reset()

    def _reset(self) -> None:
        self._actors: list[int] = []  # each observed step's actor
        self._clocks: list[list[int]] = []  # ... and its vector clock
        self._actor_clock: dict[int, list[int]] = {}
        self._n = 0

    def begin(self, index: int) -> bool:
        self._pos = 0
        self._reset()
        if not self._started:
            self._started = True
            return True
        while self._stack:
            f = self._stack[-1]
            for k in f.enabled:
                if k in f.backtrack and k not in f.done and k not in f.sleep:
                    f.chosen, f.access = k, None
                    return True
            self._stack.pop()
        self.exhausted = True
        return False

    def choose(self, enabled: Sequence[int], current: int, step: int) -> int:
        if not self._n:  # every actor can run at the first step
            self._n = max(enabled) + 1
        if self._pos < len(self._stack):
            f = self._stack[self._pos]
            self._pos += 1
            return f.chosen
        sleep: dict[int, Access] = {}
        if self._stack:
            parent = self._stack[-1]
            moved = parent.access
            assert moved is not None
            for asleep in (parent.sleep, parent.done):
                for k, acc in asleep.items():
                    if k != parent.chosen and k not in sleep and not acc.depends(moved):
                        sleep[k] = acc
        awake = [k for k in enabled if k not in sleep]
        if not awake:  # the sleepers' next steps never run here: their races still count
            self.blocked += 1
            for k, acc in sleep.items():
                self._races(k, acc, len(self._actors))
            return -1
        first = default_choice(awake, current)
        self._stack.append(_Frame(enabled, sleep, first))
        self._pos += 1
        return first

    def observe(self, actor: int, access: Access) -> None:
        """The step just run: record it, and add the backtracking its races call for."""
        j = len(self._actors)
        f = self._stack[j]
        f.access = access
        f.done.setdefault(actor, access)
        clock = self._races(actor, access, j)
        clock[actor] = j + 1
        self._actors.append(actor)
        self._clocks.append(clock)
        self._actor_clock[actor] = clock

    def _races(self, actor: int, access: Access, j: int) -> list[int]:
        """Add `actor` to the backtrack set before each earlier step its step at `j` races
        with; its vector clock joined with theirs.

        FG05 looks, at every state, for the last step racing with each actor's next
        step.  That next step is the one this actor takes at `j` from its previous step
        on, so those states' answers are: every racing step since its previous one, and
        the last racing step before it.
        """
        n = self._n
        before = self._actor_clock.get(actor) or [0] * n
        since = before[actor]  # its previous step's index + 1 (0: none)
        clock = list(before)
        stack, actors, clocks = self._stack, self._actors, self._clocks
        last_before = False
        for i in range(j - 1, -1, -1):
            a = actors[i]
            if a == actor:
                continue
            ci = clocks[i]
            if ci[a] <= before[a]:
                continue  # step i happens before this actor's state: ordered, no race
            acc = stack[i].access
            assert acc is not None
            if acc.depends(access):
                if i >= since or not last_before:
                    stack[i].backtrack.add(actor)  # try this actor before step i
                    last_before = last_before or i < since
                for x in range(n):
                    if ci[x] > clock[x]:
                        clock[x] = ci[x]
        return clock

    def end(self, steps: int) -> None:
        del self._stack[self._pos:]  # (a schedule cut short keeps only what it ran)
