"""The explorer's scheduler and strategies on a tiny program, away from the model."""

from __future__ import annotations

import functools
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress._atomic import Atomic64
from stress.explore.memory import ScheduledMemory
from stress.explore.scheduler import Nondeterminism, Scheduler, StepBound
from stress.explore.strategies import Strategy, default_choice, make_strategy
from stress.explore.strategies.replay import Replay
from stress.memory.backends import RacyMemory

X, SEEN1, SEEN2 = 0, 1, 2


def two_preemption_bug() -> tuple[ScheduledMemory, list[Callable[[], None]], Atomic64]:
    """B stores 1 then 2; A loads twice.  A seeing 1 then 2 needs B, A, B, A: two preemptions."""
    a = Atomic64(bytearray(64))
    mem = ScheduledMemory(a)

    def reader() -> None:
        a.store(SEEN1, mem.load(X))
        a.store(SEEN2, mem.load(X))

    def writer() -> None:
        mem.store(X, 1)
        mem.store(X, 2)

    return mem, [reader, writer], a


def search(strategy: Strategy, limit: int = 5000) -> int | None:
    """Schedules run until the bug shows (its index), or None when the strategy gives up."""
    for i in range(limit):
        if not strategy.begin(i):
            return None
        mem, programs, a = two_preemption_bug()
        sched = Scheduler(strategy, 100).run(programs, [mem])
        strategy.end(sched.steps)
        if (a.load(SEEN1), a.load(SEEN2)) == (1, 2):
            assert sched.preemptions == 2
            return i
    return None


@pytest.mark.parametrize("name", ["random", "pct", "dfs"])
def test_each_strategy_finds_the_two_preemption_bug(name: str) -> None:
    """random, pct (depth 3) and dfs (bound 2) each reach the B, A, B, A interleaving."""
    assert search(make_strategy(name, seed=7, depth=3, preemptions=2)) is not None


def test_dfs_with_one_preemption_exhausts_without_it() -> None:
    """The bound is a bound: one preemption cannot reach it, and the space is exhausted."""
    dfs = make_strategy("dfs", 0, preemptions=1)
    assert search(dfs) is None and dfs.exhausted


def test_dfs_counts_its_space() -> None:
    """Two actors of two accesses: the bound-0 space is the two orders, nothing more."""
    dfs = make_strategy("dfs", 0, preemptions=0)
    n = 0
    while dfs.begin(n):
        mem, programs, _ = two_preemption_bug()
        dfs.end(Scheduler(dfs, 100).run(programs, [mem]).steps)
        n += 1
    assert n == 2 and dfs.exhausted


def test_a_schedule_replays_exactly() -> None:
    """The switches of a run, replayed, give the same choices and the same result."""
    pct = make_strategy("pct", 3, depth=3)
    for i in range(200):
        pct.begin(i)
        mem, programs, a = two_preemption_bug()
        first = Scheduler(pct, 100).run(programs, [mem])
        pct.end(first.steps)
        seen = (a.load(SEEN1), a.load(SEEN2))
        mem, programs, a = two_preemption_bug()
        again = Scheduler(Replay(first.switches), 100).run(programs, [mem])
        assert again.choices == first.choices and (a.load(SEEN1), a.load(SEEN2)) == seen


def test_a_replayed_switch_to_a_finished_actor_is_nondeterminism() -> None:
    """A token whose choice names an actor that cannot run is refused, not followed."""
    mem, programs, _ = two_preemption_bug()
    with pytest.raises(Nondeterminism):
        Scheduler(Replay([(3, 0)]), 100).run(programs, [mem])  # the reader is done by then


def test_the_step_bound_abandons_a_schedule() -> None:
    """A spinning actor cannot hold the explorer: past max_steps the schedule is abandoned."""
    a = Atomic64(bytearray(64))
    mem = ScheduledMemory(a)

    def spin() -> None:
        while mem.load(X) == 0:
            pass

    with pytest.raises(StepBound):
        Scheduler(make_strategy("random", 1), 50).run([spin], [mem])


def test_racy_read_modify_write_is_two_points() -> None:
    """Under the racy memory a fetch_add is a load and a store: an update can be lost."""
    lost = False
    for i in range(200):
        a = Atomic64(bytearray(64))
        points = ScheduledMemory(a)
        mem = RacyMemory(points)
        rnd = make_strategy("random", 5)
        rnd.begin(i)
        inc = functools.partial(mem.fetch_add, X, 1)
        Scheduler(rnd, 100).run([inc, inc], [points])
        lost |= a.load(X) == 1
    assert lost


@given(st.lists(st.integers(0, 3), min_size=1, max_size=4, unique=True), st.integers(-1, 4))
def test_default_choice_stays_or_moves_on_in_order(enabled: list[int], current: int) -> None:
    """The default is the current actor if it can run, else the next one in order."""
    enabled.sort()
    k = default_choice(enabled, current)
    assert k in enabled
    if current in enabled:
        assert k == current
    elif any(e > current for e in enabled):
        assert k == min(e for e in enabled if e > current)


@given(st.lists(st.integers(0, 3), min_size=0, max_size=3), st.integers(0, 3))
def test_programs_come_in_product_order(kinds: list[int], ops: int) -> None:
    """Every program, once each, in itertools.product's order (checkpoints count by it)."""
    import itertools

    from stress.explore.world import all_programs, count_programs

    want = list(itertools.product(*(itertools.product(range(k), repeat=ops) for k in kinds)))
    assert list(all_programs(kinds, ops)) == want
    assert len(want) == count_programs(kinds, ops)


def test_the_first_program_of_a_huge_space_comes_at_once() -> None:
    """8 actors of 1,000 operations: the first program without building 3 ** 1000 of them
    (in a child under a 1 GiB address-space limit, so a regression fails, not the machine)."""
    import subprocess
    import sys

    code = ("import resource; resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
            "from stress.explore.world import all_programs\n"
            "p = next(all_programs([3] * 8, 1000))\n"
            "assert p == ((0,) * 1000,) * 8\n")
    # -P: not the current directory first on sys.path (a checkout's root has no extension)
    res = subprocess.run([sys.executable, "-P", "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr[-500:]


def test_an_expired_clock_ends_a_schedule_midway() -> None:
    """The scheduler asks `expired` every EXPIRY_EVERY steps and ends the schedule when told,
    as OutOfTime: neither a finding nor a step bound."""
    from stress.explore.scheduler import EXPIRY_EVERY, OutOfTime

    a = Atomic64(bytearray(64))
    mem = ScheduledMemory(a)

    def spinner() -> None:
        for _ in range(10 * EXPIRY_EVERY):
            mem.load(X)

    asked: list[int] = []

    def expired() -> bool:
        asked.append(1)
        return len(asked) == 3

    with pytest.raises(OutOfTime):
        Scheduler(make_strategy("random", 1), 1 << 20, expired=expired).run(
            [spinner, spinner], [mem])
    assert len(asked) == 3


def test_program_counts_saturate_and_say_so() -> None:
    """A space past 2 ** 63 programs counts as the cap, printed as 'at least'."""
    from stress.explore.world import PROGRAMS_CAP, count_programs, programs_text

    assert count_programs([3] * 8, 1000) == PROGRAMS_CAP
    assert count_programs([2], 62) == 1 << 62
    assert programs_text(PROGRAMS_CAP).startswith("at least ")
    assert programs_text(36) == "36"
