"""`pagerace explore` and `pagerace replay`: exploration's surfaces, like `run`'s."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from stress.explore.record import write_run
from stress.explore.runner import ExploreOptions, Progress, explore, replay_token
from stress.explore.world import pick_actors
from stress.runs.rundir import RunDir
from stress.scenario import Scenario
from stress.summary import ExploreSummary
from stress.surfaces import runner
from stress.surfaces.results import plain


class PlainProgress(runner.EverySecond):
    """schedules/s and steps/s, a line per second, on stderr."""

    def __call__(self, p: Progress) -> None:
        if not self.due():
            return
        rate = p.schedules / p.elapsed if p.elapsed else 0.0
        print(f"[{p.scenario}] {p.elapsed:5.1f}s schedules={p.schedules:,} ({rate:,.0f}/s) "
              f"steps={p.steps:,} ({p.steps / p.elapsed if p.elapsed else 0:,.0f}/s)",
              file=self.stream, flush=True)


def explore_one(scn: Scenario, opts: ExploreOptions, out: Path,
                progress: Callable[[Progress], None] | None = None,
                name: str | None = None) -> ExploreSummary:
    """Explore one scenario and write its run directory; its summary."""
    run_dir = RunDir.create(out, name or scn.name, opts.seed)
    result, finding = explore(scn, opts, progress)
    scn = opts.apply(scn)
    nactors = len(pick_actors(scn, scn.explore.actors))
    return write_run(run_dir, scn, opts, result, finding, nactors)


def explore_all(scenarios: Sequence[Scenario], opts: ExploreOptions, out: Path,
                budget: float | None) -> list[ExploreSummary]:
    """Each scenario in turn, the budget split evenly; a summary per scenario."""
    share = budget / len(scenarios) if budget and scenarios else None
    o = replace(opts, budget=share if share is not None else opts.budget)
    progress = PlainProgress()
    return [explore_one(scn, o, out, progress) for scn in scenarios]


def explore_table(summaries: Sequence[ExploreSummary], width: int = 1000) -> Any:
    from rich.table import Table

    t = Table(title="pagerace explore verdicts", width=width if width < 1000 else None)
    style = {"pass": "green", "fail": "red", "error": "yellow"}
    for col in ("claim", "scenario", "verdict", "expected", "found", "strategy", "schedules",
                "steps/s", "exhausted", "abandoned", "shrunk steps", "seconds"):
        t.add_column(col, overflow="fold")
    for s in summaries:
        f = s.finding
        found = (f"{f.kind} page {f.page} step {f.step}"
                 + (f" ({f.label}, {_preemptions(f.preemptions_min)})"
                    if f.label else "")) if f else "nothing"
        shrunk = f"{f.steps_before} -> {f.steps_after}" if f else "-"
        first = next(iter(s.first_detection_s.values()), None)
        t.add_row(plain(s.claim or "-"), plain(s.scenario),
                  f"[{style.get(s.verdict, 'white')}]{s.verdict}[/]", plain(s.expected),
                  plain(found), plain(s.strategy + (
                      f" ({s.found_by} found it)"
                      if s.found_by and s.found_by != s.strategy else "")),
                  f"{s.schedules:,}", f"{s.steps_per_s:,}",
                  _exhausted(s), f"{s.abandoned:,}", shrunk,
                  f"{s.seconds:.2f}" if first is None else f"{first:.2f} (to find)")
    return t


def _preemptions(n: int) -> str:
    return f"{n} preemption" + ("" if n == 1 else "s")


def _exhausted(s: ExploreSummary) -> str:
    """yes only for a proof: the bounded space searched with no schedule abandoned."""
    if s.exhausted:
        return "yes"
    return "no (abandoned)" if s.searched else "no"


def print_explore(console: Any, summaries: Sequence[ExploreSummary]) -> None:
    console.print(explore_table(summaries, console.width))
    for s in summaries:
        if s.token:
            console.print(f"{s.scenario}: replay with  pagerace replay '{s.token}'"
                          f"   (run directory {s.run_dir})", soft_wrap=True)
    for s in summaries:
        if s.parts:
            n = s.split[1]
            console.print(f"{s.scenario}: {len(s.parts)} of {n} parts joined "
                          f"(--split K/{n}): {s.schedules:,} schedules, exhausted "
                          f"{'yes' if s.exhausted else 'no'}", markup=False)
        groups = s.covered.groups if s.covered else []
        if len(groups) > 1:
            console.print(f"{s.scenario}: more roles than [explore] actors: {len(groups)} "
                          "groups, every pair of roles in one: "
                          + "; ".join(", ".join(g) for g in groups), soft_wrap=True,
                          markup=False)
        if s.covered and (left := s.covered.roles_left_out):
            console.print(f"{s.scenario}: roles not explored: {', '.join(left)}",
                          soft_wrap=True, markup=False)
        for e in s.errors:
            console.print(f"{s.scenario}: {e}", soft_wrap=True, markup=False)
    passed = sum(s.verdict == "pass" for s in summaries)
    console.print(f"pagerace explore: {passed} passed, {len(summaries) - passed} failed")


def replay_command(token: str, out: Path, scenario: Path | None = None
                   ) -> tuple[ExploreSummary, str]:
    """Replay, write the run directory; the summary and a line saying what happened."""
    scn, tok, r, f = replay_token(token, scenario)
    run_dir = RunDir.create(out, scn.name, tok.seed)
    summary = write_run(run_dir, scn, ExploreOptions(seed=tok.seed), r, f, len(tok.program))
    if f is None:
        return summary, f"{scn.name}: the schedule ran {r.steps} steps and ended clean"
    return summary, (f"{f.kind} on page {f.page} at step {f.step} ({f.phase}), actor {f.actor} "
                     f"in {f.op}: {f.reason}")
