"""The partial-order reduction (dpor) against plain dfs on tiny programs, away from the model."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from stress._atomic import Atomic64
from stress.explore.memory import Access, Footprint, ScheduledMemory
from stress.explore.scheduler import Scheduler, SleepBlocked
from stress.explore.strategies import Strategy
from stress.explore.strategies.dfs import Dfs
from stress.explore.strategies.dpor import Dpor
from stress.explore.world import World, all_programs
from stress.scenario import load_scenario

WORDS = 3  # shared words 0..2; each actor's reads land at 8 + 4 * actor + i (its own)

# A step of a tiny program: ("load" | "store" | "add", word, value), or ("draw", n, 0): the
# actor draws one of n values (strategy.pick, as a role draws a page) and its later steps
# touch the words that many places on; ("peek", word, 0): a read that is no scheduling
# point (an oracle's shadow read), so the footprint of the step it falls in depends on the
# draw before it.
Step = tuple[str, int, int]


def run_all(programs: Sequence[Sequence[Step]], strategy: Strategy,
            limit: int = 200_000) -> tuple[set[tuple[int, ...]], int, bool]:
    """Every schedule the strategy gives: the final states seen, how many ran, exhausted."""
    finals: set[tuple[int, ...]] = set()
    runs = 0
    while runs < limit and strategy.begin(runs):
        a = Atomic64(bytearray(8 * 64))
        fp = Footprint()
        mem = ScheduledMemory(a)
        mem.fp = fp

        def actor(k: int, steps: Sequence[Step], a: Atomic64 = a, mem: ScheduledMemory = mem,
                  fp: Footprint = fp) -> Callable[[], None]:
            def go() -> None:
                shift = 0
                for i, (op, word, value) in enumerate(steps):
                    if op == "draw":
                        shift = strategy.pick(k, word)  # type: ignore[attr-defined]
                        a.store(8 + 4 * k + i, 10 + shift)  # (the draw is part of the state)
                        continue
                    word = (word + shift) % WORDS
                    if op == "peek":  # an oracle's read: in the step, no scheduling point
                        fp.reads.add(word)
                        a.store(8 + 4 * k + i, a.load(word))
                    elif op == "load":
                        a.store(8 + 4 * k + i, mem.load(word))  # what it saw: its own word
                    elif op == "store":
                        mem.store(word, value)
                    else:
                        mem.fetch_add(word, value)
            return go

        sched = Scheduler(strategy, 1000, fp)
        try:
            s = sched.run([actor(k, p) for k, p in enumerate(programs)], [mem])
            steps = s.steps
            finals.add(tuple(a.load(i) for i in range(8 + 4 * len(programs))))
        except SleepBlocked:
            assert sched.partial is not None
            steps = sched.partial.steps
        strategy.end(steps)
        runs += 1
    return finals, runs, strategy.exhausted


steps = st.tuples(st.sampled_from(["load", "store", "add", "peek"]),
                  st.integers(0, WORDS - 1), st.integers(1, 3))
draws = st.tuples(st.just("draw"), st.integers(2, 3), st.just(0))
with_draws = st.lists(st.lists(steps | draws, min_size=1, max_size=3), min_size=2, max_size=3)


@settings(max_examples=150, deadline=None)
@given(with_draws)
# (found by a longer run with the union of a drawing step's footprints left out: the third
# actor's peek reads word 1 or 2 by its draw, and asleep with only the first value's
# footprint it missed the order where the first actor's store comes between)
@example([[("store", 2, 1)], [("draw", 2, 0), ("load", 1, 1)],
          [("load", 0, 1), ("draw", 2, 0), ("peek", 1, 1)]])
def test_dpor_reaches_every_final_state_plain_dfs_reaches(progs: list[list[Step]]) -> None:
    """Sound: the final states (memory, every value read, every value drawn) of all
    interleavings, no fewer; an actor asleep over a draw carries all its values."""
    every, n_dfs, done = run_all(progs, Dfs(10**6))
    assert done
    reduced, n_dpor, done = run_all(progs, Dpor())
    assert done
    assert reduced == every
    assert n_dpor <= n_dfs


def test_independent_actors_run_once() -> None:
    """Actors that touch different words: one schedule stands for all of them."""
    progs = [[("store", 0, 1), ("load", 0, 0)], [("store", 1, 1), ("load", 1, 0)]]
    finals, runs, done = run_all(progs, Dpor())
    assert done and len(finals) == 1
    assert runs - _blocked(progs) == 1


def _blocked(progs: list[list[Step]]) -> int:
    d = Dpor()
    run_all(progs, d)
    return d.blocked


def test_a_write_write_race_is_tried_both_ways() -> None:
    """Two stores to one word: both orders run, and both final values are seen."""
    finals, _, done = run_all([[("store", 0, 1)], [("store", 0, 2)]], Dpor())
    assert done
    assert {f[0] for f in finals} == {1, 2}


class _Blind(Access):
    """A broken dependence: no two steps ever conflict."""

    def depends(self, other: Access) -> bool:
        return False


def test_a_reduction_blind_to_dependence_misses_states(monkeypatch: pytest.MonkeyPatch) -> None:
    """The comparison above can fail: with every step independent, dpor runs one order of a
    write-write race and misses the other final value."""
    progs: list[list[Step]] = [[("store", 0, 1)], [("store", 0, 2)]]
    every, _, _ = run_all(progs, Dfs(10**6))
    monkeypatch.setattr(Footprint, "frozen", lambda self: _Blind(
        frozenset(self.reads), frozenset(self.writes), self.reads_all))
    reduced, _, done = run_all(progs, Dpor())
    assert done and reduced < every


def test_dependence_is_a_write_against_any_access() -> None:
    """Reads commute with reads; a write conflicts with a read or a write of its word; a
    step that reads every word (the audit) conflicts with any write, not with a read."""
    def acc(r: tuple[int, ...] = (), w: tuple[int, ...] = (), everything: bool = False) -> Access:
        return Access(frozenset(r), frozenset(w), everything)
    assert not acc(r=(1,)).depends(acc(r=(1,)))
    assert acc(w=(1,)).depends(acc(r=(1,))) and acc(r=(1,)).depends(acc(w=(1,)))
    assert acc(w=(1,)).depends(acc(w=(1,)))
    assert not acc(w=(1,)).depends(acc(w=(2,), r=(3,)))
    assert acc(everything=True).depends(acc(w=(7,))) and acc(w=(7,)).depends(acc(everything=True))
    assert not acc(everything=True).depends(acc(r=(7,)))


def _classes(world: World, program: tuple[tuple[int, ...], ...], strategy: Strategy,
             audit: bool) -> tuple[set[str], bool]:
    """The final-state classes of a program under a strategy: the arena, or the anomaly."""
    finals: set[str] = set()
    n = 0
    while strategy.begin(n):
        o = world.run(1, program, strategy, 20_000, audit_ops=audit)
        strategy.end(o.schedule.steps)
        n += 1
        assert not o.abandoned
        if not o.blocked:
            finals.add(o.anomaly.kind.value if o.anomaly else world.arena.words.tobytes().hex())
    return finals, strategy.exhausted


@pytest.mark.parametrize("audit", [True, False])
def test_dpor_matches_dfs_on_the_racy_refcount_model(audit: bool) -> None:
    """On the model itself (C9: racy refcounts, where the order of the load and the store
    decides the final count), dpor reaches the final states of every bounded dfs."""
    scn = load_scenario("scenarios/c09-racy-refcount.toml")
    scn = replace(scn, explore=replace(scn.explore, ops=1, actors=2))
    world = World(scn, [0, 1])
    try:
        program = next(iter(all_programs(world.kinds, 1)))
        reduced, done = _classes(world, program, Dpor(), audit)
        assert done
        for bound in (0, 1, 2):
            bounded, done = _classes(world, program, Dfs(bound), audit)
            assert done and bounded <= reduced
        assert len(reduced) > 1  # (the comparison has something to miss)
    finally:
        world.close()


@settings(max_examples=200, deadline=None)
@given(with_draws, st.integers(0, 2))
def test_bounded_dpor_reaches_every_final_state_bounded_dfs_reaches(
        progs: list[list[Step]], bound: int) -> None:
    """Bounded reduction is sound: the final states of every schedule within the bound (each
    drawn value among them: a draw is a branch of both searches)."""
    every, n_dfs, done = run_all(progs, Dfs(bound))
    assert done
    reduced, n_dpor, done = run_all(progs, Dpor(bound))
    assert done
    assert reduced == every
    assert n_dpor <= n_dfs


@pytest.mark.parametrize("bound", [0, 1, 2])
def test_bounded_dpor_matches_dfs_on_the_racy_refcount_model(bound: int) -> None:
    """On the model itself (C9), bounded dpor ends in exactly the final-state classes dfs
    reaches at the same bound."""
    scn = load_scenario("scenarios/c09-racy-refcount.toml")
    scn = replace(scn, explore=replace(scn.explore, ops=1, actors=2))
    world = World(scn, [0, 1])
    try:
        program = next(iter(all_programs(world.kinds, 1)))
        dfs, reduced = Dfs(bound), Dpor(bound)
        every, done = _classes(world, program, dfs, True)
        assert done
        bounded, done = _classes(world, program, reduced, True)
        assert done and bounded == every
    finally:
        world.close()


def test_every_value_of_a_draw_is_searched() -> None:
    """Each value of each draw ends in its own final state: 2 x 3 draws, 6 states, one
    actor (no interleaving at all)."""
    progs: list[list[Step]] = [[("draw", 2, 0), ("draw", 3, 0)], []]
    for strategy in (Dfs(0), Dpor(0), Dpor()):
        finals, runs, done = run_all(progs, strategy)
        assert done and len(finals) == 6 and runs == 6


def test_without_draws_the_searches_do_not_branch_on_them() -> None:
    """With draws off the strategy has no answer to give: the roles draw from the seed, and
    the world installs nothing (the flag the world reads is False)."""
    assert not Dfs(0, draws=False).answers_draws and not Dpor(0, draws=False).answers_draws
    assert Dfs(0).answers_draws and Dpor(0).answers_draws
