"""`pagerace run`'s second engine: each scenario explored after it raced, one verdict.

The stress runs race first; then, in the time the suite's budget has left, each
scenario gets a time-boxed exploration (its own `[explore]` strategy, at most
`EXPLORE_S` seconds) whose outcome joins the scenario's summaries as `"explored"`:
what was covered, whether the bounded space was exhausted, what was found.  A stress
run that failed on an anomaly gets a reproducer hunt first: the explorer searches the
same scenario for that kind alone (`REPRODUCE_S` seconds), and its replay token and
shrunk schedule go into the run's summary as `"reproducer"` and into its report.  The
hunt starts from the anomaly's window: its programs draw first from the role
operations that wrote the logged history (explore/focus.py), then, if that found
nothing, from every operation in the time left.

The explorer only ever makes a verdict worse: a kind it finds that the scenario
forbids (or any kind in a clean one) fails the scenario, with the token that replays
it; a buggy scenario it did not find in its box keeps its stress verdict.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from stress.checks.verdict import disallowed
from stress.explore.admission import admit_explore
from stress.explore.focus import Focus, emissions, focus, focused, window_ops
from stress.explore.runner import ExploreOptions
from stress.runrecord import Event, RecordError, read_log, read_manifest
from stress.runs.rundir import RunDir
from stress.scenario import Expect, Scenario
from stress.summary import Explored, ExploreSummary, Reproducer, StressSummary, write_summary

EXPLORE_S = 1.0  # per scenario: enough for the small bounded spaces to exhaust
REPRODUCE_S = 5.0  # per failing stress run: a hunt for one kind
SUBDIR = "explore"  # under --out: the explorer's run directories, apart from the stress runs'
EXPLORE_BY = 0.9  # the phase ends by this fraction of the suite's budget: margin for the table
MIN_BOX_S = 0.2  # less than this explores nothing worth a line: the phase says it skipped


def unexpected_kind(s: StressSummary, expect: Expect) -> str | None:
    """The first kind a failed run saw that failed it (`checks.verdict.disallowed`), or
    None: a run that failed for a detection it missed has nothing to reproduce."""
    bad = disallowed(expect, (k for k, n in s.anomalies.items() if n))
    firsts = s.first_detection_s
    return min(sorted(bad), key=lambda k: firsts.get(k, float("inf"))) if bad else None


def brief(es: ExploreSummary) -> Explored:
    """What a stress summary keeps of an exploration's summary."""
    f = es.finding
    return Explored(verdict=es.verdict, strategy=es.strategy, schedules=es.schedules,
                    exhausted=es.exhausted, seconds=es.seconds,
                    found=f.kind if f else None, token=es.token,
                    preemptions_min=f.preemptions_min if f else None,
                    label=(f.label or None) if f else None,
                    steps=f.steps_after if f else None, errors=es.errors,
                    run_dir=es.run_dir)


class Phase:
    """The explorer's turn in a `pagerace run`: a deadline, and what each scenario gets."""

    def __init__(self, out: Path, deadline: float | None, box: float,
                 jobs: int = 1) -> None:
        self.out = out / SUBDIR
        self.deadline = deadline  # monotonic; None: no budget, every scenario its full box
        self.box = box
        self.jobs = jobs
        self.skipped: list[str] = []

    def _box(self, want: float, left_after: int) -> float:
        if self.deadline is None:
            return want
        spare = self.deadline - time.monotonic()
        return max(0.0, min(want, spare / (left_after + 1)))

    def _explore(self, scn: Scenario, box: float, name: str) -> ExploreSummary | None:
        """The exploration's summary, or None (and a line saying why) when the explorer
        cannot hold the scenario: the stress verdict stands alone then."""
        from stress.surfaces.explore_cmd import explore_one

        if (why := admit_explore(scn, self.jobs)) is not None:
            self.skipped.append(f"{scn.name}: not explored: {why}")
            return None
        opts = ExploreOptions(budget=box, jobs=self.jobs, seed=1)
        return explore_one(scn, opts, self.out, name=name)

    def reproduce(self, summaries: Sequence[StressSummary],
                  by_name: dict[str, Scenario]) -> None:
        """For each run that failed on an anomaly: search its scenario for that kind."""
        failed = [s for s in summaries if s.verdict == "fail"]
        for i, s in enumerate(failed):
            scn = by_name[s.scenario]
            kind = unexpected_kind(s, scn.expect)
            if kind is None:
                continue  # a detection missing: nothing happened to reproduce
            box = self._box(REPRODUCE_S, len(failed) - i - 1)
            if box < MIN_BOX_S:
                self.skipped.append(f"{s.scenario} seed {s.seed}: no time left to "
                                    f"look for a reproducer of {kind}")
                continue
            hunt = replace(scn, expect=Expect(detect=(kind,)))
            name = f"{scn.name}-reproduce-{kind}"
            t0 = time.monotonic()
            f = window_focus(s, kind, hunt) if admit_explore(hunt, self.jobs) is None else {}
            es = self._explore(focused(hunt, f), box / 2, name) if f \
                else self._explore(hunt, box, name)
            whole = not f
            if f and es is not None and es.finding is None:
                rest = box - (time.monotonic() - t0)  # the window misled: everything
                if rest >= MIN_BOX_S and (more := self._explore(hunt, rest, name + "-whole")):
                    es, whole = more, True
            if es is not None:
                s.reproducer = Reproducer.of(kind, {r: list(o) for r, o in f.items()}, whole,
                                             brief(es))
                _rewrite(s)

    def explore(self, summaries: Sequence[StressSummary],
                scenarios: Sequence[Scenario]) -> None:
        """Each scenario explored once, its outcome joined to each of its stress runs."""
        for i, scn in enumerate(scenarios):
            runs = [s for s in summaries if s.scenario == scn.name]
            if not runs:
                continue  # interrupted before it raced
            box = self._box(self.box, len(scenarios) - i - 1)
            if box < MIN_BOX_S:
                self.skipped.append(f"{scn.name}: not explored, the budget was spent")
                continue
            if (es := self._explore(scn, box, scn.name)) is None:
                continue
            explored = brief(es)
            for s in runs:
                s.explored = explored
                join_verdicts(s, scn.expect)
                _rewrite(s)


def window_focus(s: StressSummary, kind: str, scn: Scenario) -> Focus:
    """The operations the first logged `kind` anomaly's window points at (empty: no
    history, or nothing in it tells the roles' operations apart)."""
    run_dir = Path(s.run_dir)
    try:
        manifest = read_manifest(run_dir / "manifest.json")
        logged = [rec for log in sorted(run_dir.glob("*.jsonl")) for rec in read_log(log)
                  if rec.get("event") == Event.ANOMALY and rec["kind"] == kind
                  and isinstance(rec.get("history"), list) and rec["history"]]
        if not logged or manifest is None or not manifest.actors:
            return {}
        first = min(logged, key=lambda rec: rec.get("ts_ns", 0) if isinstance(
            rec.get("ts_ns"), int) else 0)
        return focus(window_ops(first["history"], manifest.roles_on()), emissions(scn))
    except (RecordError, KeyError, TypeError, ValueError):
        return {}  # a damaged record narrows nothing: the hunt searches everything


def join_verdicts(s: StressSummary, expect: Expect) -> None:
    """The explorer fails a run only with a kind the scenario does not allow."""
    found = s.explored.found if s.explored else None
    if found is not None and s.verdict not in ("fail", "error") \
            and disallowed(expect, [found]):
        s.verdict = "fail"


def _rewrite(s: StressSummary) -> None:
    """The run's summary.json again, with what the explorer added."""
    write_summary(RunDir(Path(s.run_dir)), s)
