"""The shrinker alone, over a fake test, and the fewest-preemptions search on the real model.

"Simpler" (stress.explore.shrink.simpler): never more steps, then fewer operations, then
fewer switches.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.explore.shrink import PASSES, Candidate, Size, shrink, simpler

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


def needs(sub: tuple[int, ...], ops: tuple[int, ...]) -> bool:
    """Is `sub` a subsequence of `ops`?"""
    it = iter(ops)
    return all(x in it for x in sub)


class FakeTest:
    """Fails when actor 0 runs `first` in order, actor 1 runs `second`, and every switch in
    `keep` is taken; steps: 10 an operation, `per_switch` a switch, `no_switch` without."""

    def __init__(self, first: tuple[int, ...] = (), second: tuple[int, ...] = (),
                 keep: tuple[tuple[int, int], ...] = (), per_switch: int = 5,
                 no_switch: int = 0) -> None:
        self.first, self.second, self.keep = first, second, keep
        self.per_switch, self.no_switch = per_switch, no_switch
        self.calls: list[Candidate] = []

    def steps(self, c: Candidate) -> int:
        return (10 * sum(c.ops) + self.per_switch * len(c.switches)
                + (0 if c.switches else self.no_switch))

    def __call__(self, c: Candidate) -> tuple[Candidate, int] | None:
        self.calls.append(c)
        if needs(self.first, c.program[0]) and needs(self.second, c.program[1]) \
                and set(self.keep) <= set(c.switches):
            return c, self.steps(c)
        return None


def test_the_passes_reach_the_exact_minimum() -> None:
    """Three actors, extra operations and switches: what is left is exactly what fails."""
    test = FakeTest(first=(3, 5), second=(7,), keep=((2, 1),))
    start = Candidate(1, ((1, 3, 2, 5, 4), (0, 7, 7), (9, 9)), ((1, 0), (2, 1), (4, 1)))
    out = shrink(start, test)
    assert out.best == Candidate(1, ((3, 5), (7,), ()), ((2, 1),))
    assert out.size == (35, 3, 1)


def test_each_pass_is_named_and_counted_and_the_memo_saves_replays() -> None:
    """Every pass reports what it tried and kept; a candidate proposed twice is replayed
    once (the test saw no candidate twice), and replays count the test's calls."""
    test = FakeTest(first=(3,), second=(7,))
    start = Candidate(1, ((3, 3, 3, 3), (7, 7), (1,)), ((0, 1), (1, 0)))
    out = shrink(start, test)
    assert out.best == Candidate(1, ((3,), (7,), ()), ())
    assert list(out.passes) == [name for name, _ in PASSES]
    tried = {name: t for name, (t, _) in out.passes.items()}
    kept = {name: k for name, (_, k) in out.passes.items()}
    assert kept == {"drop_actor": 1, "halve": 3, "drop_op": 0, "drop_switch": 2}
    assert all(tried[n] >= kept[n] for n in tried)
    assert out.replays == len(test.calls) == len(set(test.calls))
    assert out.memo_hits > 0 and out.replays + out.memo_hits == sum(tried.values()) + 1


def test_a_start_that_does_not_fail_is_refused() -> None:
    """Nothing to shrink: said, not returned as if it were a result."""
    with pytest.raises(ValueError, match="does not fail"):
        shrink(Candidate(1, ((1,), (2,)), ()), FakeTest(first=(3,)))


def test_the_replay_bound_stops_it_with_the_best_so_far() -> None:
    """At the bound it stops, holding a candidate that still fails and is no longer."""
    test = FakeTest(first=(3,), second=(7,))
    start = Candidate(1, ((3,) * 8, (7,) * 8, (1,) * 8), ())
    out = shrink(start, test, max_replays=3)
    assert out.replays == 3 and test(out.best) is not None
    assert out.size[0] <= test.steps(start)


@given(st.integers(1, 5), st.lists(st.integers(0, 8), min_size=2, max_size=4),
       st.integers(0, 50))
def test_a_shrunk_schedule_is_never_longer_and_still_fails(need: int, extra: list[int],
                                                            saves: int) -> None:
    """Whatever the test, the result fails the same way and has no more steps than the start."""
    test = FakeTest(first=(0,) * need, no_switch=saves)
    start = Candidate(1, ((0,) * (need + extra[0]), *((1,) * n for n in extra[1:])), ((3, 1),))
    out = shrink(start, test)
    assert test(out.best) is not None and out.size[0] <= test.steps(start)
    assert out.best.ops[0] == need and all(n == 0 for n in out.best.ops[1:])


def test_a_switch_that_saves_steps_is_kept() -> None:
    """Removing the switch would lengthen the schedule: the shrinker keeps it."""
    test = FakeTest(first=(0,), no_switch=25)
    start = Candidate(1, ((0, 1), (2, 0)), ((3, 1),))
    out = shrink(start, test)
    assert out.best.switches == ((3, 1),) and out.best.ops == (1, 0)


def test_simpler_is_a_strict_order() -> None:
    """Fewer steps alone is not simpler; more steps never is; equal is not simpler."""
    sizes: list[tuple[Size, Size]] = [((10, 2, 1), (10, 3, 0)), ((10, 2, 0), (10, 2, 1))]
    assert all(simpler(a, b) for a, b in sizes)
    assert not simpler((11, 1, 0), (10, 3, 3)) and not simpler((10, 2, 1), (10, 2, 1))


def test_a_bug_in_program_order_is_labelled_sequential() -> None:
    """C2's tryget breaks dtor_ref1 with no preemption at all: 0, sequential."""
    from stress.explore.runner import ExploreOptions, explore
    from stress.scenario import load_scenario

    _, c2 = explore(load_scenario(SCENARIOS / "c02-dtor-ref1-tryget.toml"),
                    ExploreOptions(strategy="pct", schedules=5_000))
    assert c2 is not None and (c2.label, c2.preemptions_min) == ("sequential", 0)
    assert c2.preemptions_min_proven
