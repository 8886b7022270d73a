"""The shrinker alone, over a fake world, and the fewest-preemptions search on the real model.

"Simpler" (stress.explore.shrink.simpler): never more steps, then fewer operations, then
fewer switches.
"""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from stress.anomalies import Anomaly, Kind
from stress.explore.scheduler import Schedule
from stress.explore.shrink import Candidate, shrink, simpler
from stress.explore.world import Outcome

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"


class FakeWorld:
    """Fails when actor 0 runs at least `need` operations; a switch it keeps saves steps."""

    def __init__(self, need: int, switch_saves: int) -> None:
        self.need, self.switch_saves = need, switch_saves

    def run(self, seed, program, strategy, max_steps, *, audit_ops=True, trace=False):  # type: ignore[no-untyped-def]
        switches = sorted(strategy.switches.items())
        steps = 10 * sum(map(len, program)) + (0 if switches else self.switch_saves)
        o = Outcome(Schedule(switches=switches, steps=steps))
        if len(program[0]) >= self.need:
            o.anomaly = Anomaly(Kind.USE_AFTER_FREE, 0, "fake")
        return o


@given(st.integers(1, 5), st.lists(st.integers(0, 8), min_size=1, max_size=4),
       st.integers(0, 50))
def test_a_shrunk_schedule_is_never_longer_and_still_fails(need: int, extra: list[int],
                                                            saves: int) -> None:
    """Whatever the world, the result fails the same way and has no more steps than the start."""
    world = FakeWorld(need, saves)
    start = Candidate(1, ((0,) * (need + extra[0]), *((1,) * n for n in extra[1:])), ((3, 1),))
    best, _ = shrink(world, start, "use-after-free", 10_000)  # type: ignore[arg-type]
    o_start = world.run(1, start.program, _Replay(start), 0)
    o_best = world.run(1, best.program, _Replay(best), 0)
    assert o_best.anomaly is not None and o_best.schedule.steps <= o_start.schedule.steps
    assert best.ops[0] == need and all(n == 0 for n in best.ops[1:])


def test_a_switch_that_saves_steps_is_kept() -> None:
    """Removing the switch would lengthen the schedule: the shrinker keeps it."""
    world = FakeWorld(1, 25)
    start = Candidate(1, ((0, 1), (2, 0)), ((3, 1),))
    best, _ = shrink(world, start, "use-after-free", 10_000)  # type: ignore[arg-type]
    assert best.switches == ((3, 1),) and best.ops == (1, 0)


def test_simpler_is_a_strict_order() -> None:
    """Fewer steps alone is not simpler; more steps never is; equal is not simpler."""
    assert simpler((10, 2, 1), (10, 3, 0)) and simpler((10, 2, 0), (10, 2, 1))
    assert not simpler((11, 1, 0), (10, 3, 3)) and not simpler((10, 2, 1), (10, 2, 1))


class _Replay:
    def __init__(self, c: Candidate) -> None:
        self.switches = dict(c.switches)


def test_a_bug_in_program_order_is_labelled_sequential() -> None:
    """C2's tryget breaks dtor_ref1 with no preemption at all: 0, sequential."""
    from stress.explore.runner import ExploreOptions, explore
    from stress.scenario import load_scenario

    _, c2 = explore(load_scenario(SCENARIOS / "c02-dtor-ref1-tryget.toml"),
                    ExploreOptions(strategy="pct", schedules=5_000))
    assert c2 is not None and (c2.label, c2.preemptions_min) == ("sequential", 0)
    assert c2.preemptions_min_proven
