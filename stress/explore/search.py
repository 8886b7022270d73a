"""What one job searches: sampled programs (random, pct) or every program (dfs).

A search hands the runner, schedule after schedule, the seed and program to run
and the strategy that schedules it.  `Sampled` draws a fresh program from the seed
for every schedule (random and pct explore programs and interleavings at once);
`Systematic` enumerates every program of `ops` operations per actor and, for each,
every schedule within dfs's preemption bound, so that its end is a statement about
all of them.  It deepens the bound as CHESS does: every program at bound 0 first
(most bugs here need no interleaving at all), then every program at bound 1, and so
on, so a search cut short still proves the highest bound it finished
(`proven_bound`).  Jobs split the work: every jobs-th schedule index, or every
jobs-th program.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from stress.explore.strategies import Strategy, make_strategy
from stress.explore.strategies.dfs import Dfs
from stress.explore.world import Program, World, all_programs, count_programs
from stress.scenario import ExploreSpec


def program_seed(base: int, index: int) -> int:
    """The seed of schedule `index` when each schedule draws its own program."""
    return base * 1_000_003 + index


class Search(Protocol):
    strategy: Strategy
    programs: int  # programs begun (at the current bound, for Systematic)
    total: int  # programs this job would search to the end (0: unbounded)
    proven_bound: int  # every program searched to the end at this bound (-1: none)

    def next(self) -> tuple[int, Program] | None:
        """The next schedule's seed and program (its strategy begun); None: nothing left."""

    def end(self, steps: int, abandoned: bool) -> None:
        """The schedule just run took `steps`, or was cut at the step bound."""


class Sampled:
    def __init__(self, world: World, x: ExploreSpec, seed: int, job: int, jobs: int) -> None:
        self.world, self.x, self.seed = world, x, seed
        self.strategy = make_strategy(x.strategy, seed, depth=x.depth, max_steps=x.max_steps)
        self.index, self.stride = job, jobs
        self.programs = self.total = 0
        self.proven_bound = -1

    def next(self) -> tuple[int, Program] | None:
        if not self.strategy.begin(self.index):
            return None
        seed = program_seed(self.seed, self.index)
        self.index += self.stride
        self.programs += 1
        return seed, self.world.draw_program(seed, self.x.ops)

    def end(self, steps: int, abandoned: bool) -> None:
        self.strategy.end(steps)


class Systematic:
    def __init__(self, world: World, x: ExploreSpec, seed: int, job: int, jobs: int) -> None:
        self.seed, self.max_bound = seed, x.preemptions
        self.kinds, self.ops, self.job, self.jobs = world.kinds, x.ops, job, jobs
        n = count_programs(world.kinds, x.ops)
        self.total = n // jobs + (job < n % jobs)
        self.bound = 0
        self._programs = self._share()
        self._program: Program | None = None
        self._clean = True  # no schedule abandoned at this bound
        self.strategy: Strategy = Dfs(0)
        self.programs = 0
        self.proven_bound = -1

    def _share(self) -> Iterator[Program]:
        return (p for i, p in enumerate(all_programs(self.kinds, self.ops))
                if i % self.jobs == self.job)

    def next(self) -> tuple[int, Program] | None:
        while True:
            if self._program is not None and self.strategy.begin(0):
                return self.seed, self._program
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
            self.strategy = Dfs(self.bound)

    def end(self, steps: int, abandoned: bool) -> None:
        self.strategy.end(steps)
        self._clean = self._clean and not abandoned


def make_search(world: World, x: ExploreSpec, seed: int, job: int = 0, jobs: int = 1) -> Search:
    cls = Systematic if x.strategy == "dfs" else Sampled
    return cls(world, x, seed, job, jobs)
