"""What one job searches: sampled programs (random, pct) or every program (dfs, dpor).

A search hands the runner, schedule after schedule, the group of actors (see
world.actor_groups), the seed and the program to run, and the strategy that
schedules it.  `Sampled` draws a fresh program from the seed
for every schedule (random and pct explore programs and interleavings at once);
`Systematic` enumerates every program of `ops` operations per actor and, for each,
every schedule within the preemption bound, from each of `warmups` seeds (the
warm-up and the roles' own draws), so that its end is a statement about all of
them.  It deepens the bound as CHESS does: every program at bound 0 first
(most bugs here need no interleaving at all), then every program at bound 1, and so
on, so a search cut short still proves the highest bound it finished
(`proven_bound`).  dfs runs every schedule within the bound; dpor the same with
bounded partial-order reduction (strategies/dpor.py: every final state dfs reaches
at the bound, in fewer schedules).  Jobs split the work: every jobs-th schedule
index, or every jobs-th program.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Protocol

from stress.explore.strategies import SYSTEMATIC, Strategy, make_strategy
from stress.explore.strategies.dfs import Dfs
from stress.explore.strategies.dpor import Dpor
from stress.explore.world import PROGRAMS_CAP, Program, World, all_programs, count_programs
from stress.scenario import ExploreSpec


def program_seed(base: int, index: int) -> int:
    """The seed of schedule `index` when each schedule draws its own program."""
    return base * 1_000_003 + index


class Search(Protocol):
    strategy: Strategy
    programs: int  # programs begun (at the current bound, for Systematic)
    total: int  # programs this job would search to the end (0: unbounded)
    proven_bound: int  # every program searched to the end at this bound (-1: none)

    def next(self) -> tuple[int, int, Program] | None:
        """The next schedule's group, seed and program (its strategy begun); None: done."""

    def end(self, steps: int, abandoned: bool) -> None:
        """The schedule just run took `steps`, or was cut at the step bound."""


class Sampled:
    def __init__(self, worlds: list[World], x: ExploreSpec, seed: int, job: int,
                 jobs: int) -> None:
        self.worlds, self.x, self.seed = worlds, x, seed
        self.strategy = make_strategy(x.strategy, seed, depth=x.depth, max_steps=x.max_steps)
        self.index, self.stride = job, jobs
        self.programs = self.total = 0
        self.proven_bound = -1

    def next(self) -> tuple[int, int, Program] | None:
        if not self.strategy.begin(self.index):
            return None
        seed = program_seed(self.seed, self.index)
        group = self.index % len(self.worlds)
        self.index += self.stride
        self.programs += 1
        return group, seed, self.worlds[group].draw_program(seed, self.x.ops)

    def end(self, steps: int, abandoned: bool) -> None:
        self.strategy.end(steps)


class Systematic:
    def __init__(self, worlds: list[World], x: ExploreSpec, seed: int, job: int,
                 jobs: int) -> None:
        self.reduced = x.strategy == "dpor"
        self.max_bound = x.preemptions
        self.worlds = worlds
        self.kinds, self.ops, self.job, self.jobs = [w.kinds for w in worlds], x.ops, job, jobs
        self.seeds = range(seed, seed + x.warmups)
        self.every_draw = x.draws == "every"
        n = min(sum(count_programs(k, x.ops) for k in self.kinds) * x.warmups, PROGRAMS_CAP)
        self.total = n // jobs + (job < n % jobs)
        self.bound = 0
        self._programs = self._share()
        self._program: tuple[int, int, Program] | None = None
        self._clean = True  # no schedule abandoned at this bound
        self.strategy: Strategy = self._fresh()
        self.programs = 0
        self.proven_bound = -1

    def _share(self) -> Iterator[tuple[int, int, Program]]:
        every = ((g, s, self.worlds[g].program(p)) for s in self.seeds
                 for g, kinds in enumerate(self.kinds) for p in all_programs(kinds, self.ops))
        return (gsp for i, gsp in enumerate(every) if i % self.jobs == self.job)

    def next(self) -> tuple[int, int, Program] | None:
        while True:
            if self._program is not None and self.strategy.begin(0):
                return self._program
            self._program = next(self._programs, None)
            if self._program is None:  # every program at this bound: deepen
                if self._clean:
                    self.proven_bound = self.bound
                if self.bound == self.max_bound:
                    return None
                self.bound += 1
                self._programs, self._clean, self.programs = self._share(), True, 0
                continue
            self.programs += 1
            self.strategy = self._fresh()

    @property
    def clean(self) -> bool:
        """No schedule abandoned at the current bound so far."""
        return self._clean

    @property
    def programs_done(self) -> int:
        """Programs searched to the end at the current bound."""
        return self.programs - (self._program is not None)

    def resume(self, bound: int, programs_done: int, clean: bool, proven_bound: int) -> None:
        """Go on from a checkpoint: at `bound`, the first `programs_done` programs skipped."""
        self.bound, self._clean, self.proven_bound = bound, clean, proven_bound
        self._programs = itertools.islice(self._share(), programs_done, None)
        self.programs, self._program = programs_done, None
        self.strategy = self._fresh()

    def _fresh(self) -> Strategy:
        every = self.every_draw
        return Dpor(self.bound, draws=every) if self.reduced else Dfs(self.bound, draws=every)

    def end(self, steps: int, abandoned: bool) -> None:
        self.strategy.end(steps)
        self._clean = self._clean and not abandoned


def make_search(worlds: list[World], x: ExploreSpec, seed: int, job: int = 0,
                jobs: int = 1) -> Search:
    cls = Systematic if x.strategy in SYSTEMATIC else Sampled
    return cls(worlds, x, seed, job, jobs)
