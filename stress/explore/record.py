"""An exploration's run directory: the same contract as a stress run's.

manifest.json, a structlog JSON-lines log (`explore.jsonl`: start, progress,
the anomaly with its page's history, the end), the per-actor trace of the
shrunk failing schedule (`traces.npz`, `ts` = step), and summary.json with
`mode = "explore"`.  `pagerace report` reads it like any run directory.
"""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import asdict

import numpy as np

from stress import BUILD, __version__
from stress.checks.verdict import verdict
from stress.explore.runner import (
    ExploreOptions,
    Finding,
    JobResult,
    finding_record,
    mostly_abandoned,
    nothing_run,
)
from stress.explore.strategies import SYSTEMATIC
from stress.explore.world import PROGRAMS_CAP, actor_groups, group_roles, programs_text
from stress.memory.trace import TRACE_DTYPE
from stress.runrecord import Event
from stress.runs.logs import history_rows, open_log
from stress.runs.rundir import RunDir
from stress.scenario import Scenario
from stress.summary import Bounds, Covered, ExploreSummary, write_manifest, write_summary

HISTORY = 32  # trace records of the page shown with the anomaly


def traces(finding: Finding, nactors: int) -> dict[str, np.ndarray]:
    """The shrunk schedule's trace records, per actor, in the stress runs' layout."""
    out = {}
    for k in range(nactors):
        rows = [r for r in finding.outcome.trace if r[1] == k]
        a = np.zeros(len(rows), TRACE_DTYPE)
        for i, (step, w, op, p, before, after, result, gen, aux) in enumerate(rows):
            a[i] = (step, w << 16 | op, p, before, after, result, gen, aux)
        out[f"worker_{k}"] = a
    return out


def _systematic(strategy: str) -> bool:
    """A strategy, or a portfolio's members joined by +, with a systematic search in it."""
    return any(name in SYSTEMATIC for name in strategy.split("+"))


def covered(scn: Scenario, r: JobResult, seed: int) -> Covered:
    """Exactly what the search covered: the programs, the actors and their roles, the bound."""
    x = scn.explore
    # The groups of the search that proves, when there is one; else the sampled ones.
    size = x.systematic_actors if _systematic(r.strategy) else x.actors
    roles, left_out = group_roles(scn, actor_groups(scn, size))
    parts = []
    total = programs_text(r.programs_total)
    w = x.warmups
    seeds = f"seed {seed}" if w == 1 else f"seeds {seed} to {seed + w - 1}"
    each = programs_text(r.programs_total if r.programs_total >= PROGRAMS_CAP
                         else r.programs_total // w)
    groups = (f" in {len(roles)} groups of at most {size} actors (every pair of roles meets "
              "in one, and every role run twice meets itself"
              + ("; the other actors warm up with each group and let go after it"
                 if x.bystanders else "") + ")" if len(roles) > 1 else "")
    for name in SYSTEMATIC:
        if name not in r.strategy.split("+"):
            continue
        ops = f"{x.ops} operation{'' if x.ops == 1 else 's'} per actor"
        if r.proven_bound < 0:
            parts.append(f"{name}: nothing proven ({r.programs:,} of {total} programs searched "
                         "at bound 0" + (f", {r.abandoned:,} schedules abandoned"
                                         if r.abandoned else "") + ")")
            continue
        b = r.proven_bound
        rounds = f"{x.warmup} operation{'' if x.warmup == 1 else 's'} per actor"
        start = (f"each from the warm-up ({rounds}) of {seeds} ({total} in all) with every "
                 "value of each draw the roles make in the race (page, cache slot, PTE slot, "
                 "mapping, whether to map)" if x.draws == "every" else
                 f"each from the warm-up ({rounds}) and role draws of {seeds} ({total} in "
                 "all)")
        parts.append(
            f"{name}: every program of {ops}{groups} ({each}), {start}, every schedule of "
            "each with at most "
            f"{b} preemption{'' if b == 1 else 's'}"
            + (" (up to the order of independent steps: bounded partial-order reduction)"
               if name == "dpor" else "")
            + (", every state between operations audited" if x.audit else
               " (no audit between operations: [explore] audit = false; the operations' own "
               "checks and the final audit only)")
            + ("" if b == x.preemptions else
               f" (bound {b + 1} begun: {r.programs:,} programs)"))
    for m in (r.members or [r]):
        if m.strategy in ("pct", "random"):
            parts.append(f"{m.strategy}: {m.schedules:,} sampled schedule"
                         f"{'' if m.schedules == 1 else 's'}, each of its own program of "
                         f"{x.ops} operations per actor")
    return Covered(statement="; ".join(parts),
                   proven_bound=r.proven_bound if _systematic(r.strategy) else None,
                   programs=r.programs_total, ops_per_actor=x.ops, warmup_per_actor=x.warmup,
                   warmup_and_role_draws=(f"warm-up from {seeds}, every race draw"
                                          if x.draws == "every" else f"from {seeds}")
                   if _systematic(r.strategy) else f"from seed {seed}",
                   groups=roles, roles_left_out=left_out, abandoned=r.abandoned)


def write_run(run_dir: RunDir, scn: Scenario, opts: ExploreOptions, r: JobResult,
              finding: Finding | None, nactors: int) -> ExploreSummary:
    x = scn.explore
    write_manifest(run_dir, {
        "mode": "explore", "scenario": scn.to_dict(), "seed": opts.seed, "workers": nactors,
        "options": asdict(opts), "explore": asdict(x), "backend": scn.backend,
        **BUILD.describe(),
        "versions": {"pagerace": __version__, "python": sys.version.split()[0],
                     "numpy": np.__version__},
        "host": {"platform": platform.platform(), "cpus": os.cpu_count(), "pid": os.getpid()},
    })
    f = run_dir.open_log("explore.jsonl")
    try:
        log = open_log(f, process="explorer", scenario=scn.name)
        log.info(Event.RACE_STARTED, t0_ns=0, strategy=x.strategy, jobs=opts.jobs)
        log.info(Event.PROGRESS, t=r.seconds, schedules=r.schedules, steps=r.steps)
        if finding is not None:
            rings = traces(finding, nactors)
            merged = np.concatenate(list(rings.values())) if rings else np.zeros(0, TRACE_DTYPE)
            merged = merged[np.argsort(merged["ts"], kind="stable")]
            page = merged[merged["page"] == finding.page][-HISTORY:]
            a = finding.outcome.anomaly
            assert a is not None
            log.warning(Event.ANOMALY, **a.to_dict(), ts_ns=finding.step, step=finding.step,
                        phase=finding.phase, history=history_rows(page), token=finding.token)
            run_dir.save_npz("traces.npz", rings)
        log.info(Event.EXPLORE_FINISHED, schedules=r.schedules, steps=r.steps,
                 exhausted=r.exhausted, found=finding.kind if finding else None)
    finally:
        f.close()
    errors = []
    if mostly_abandoned(r):
        errors.append(f"{r.abandoned:,} of {r.schedules:,} schedules hit the step bound "
                      f"(max_steps = {x.max_steps:,}) and were abandoned: the search covered "
                      "nothing; raise [explore] max_steps")
    if nothing_run(r):
        errors.append("the budget ended before the first schedule did: nothing was explored; "
                      "raise the budget or lower [explore] ops, actors or warmup")
    summary = ExploreSummary(
        scenario=scn.name, claim=scn.claim, seed=opts.seed,
        verdict=verdict(scn.expect, {finding.kind: 1} if finding else {}, bool(errors)),
        expected=scn.expect.describe(),
        anomalies={finding.kind: 1} if finding else {},
        first_detection_s={finding.kind: round(r.finding_at, 3)} if finding else {},
        strategy=x.strategy, found_by=r.found_by or None,
        members=[{"strategy": m.strategy, "schedules": m.schedules,
                  "abandoned": m.abandoned, "exhausted": m.exhausted,
                  "proven_bound": m.proven_bound if m.strategy in SYSTEMATIC else None,
                  "found": m.finding_kind or None} for m in r.members],
        schedules=r.schedules, steps=r.steps,
        exhausted=r.exhausted, searched=r.searched, abandoned=r.abandoned,
        blocked=r.blocked, cut=r.cut,
        seconds=round(r.seconds, 3),
        steps_per_s=round(r.steps / r.seconds) if r.seconds else 0,
        token=finding.token if finding else None,
        finding=finding_record(finding) if finding else None,
        incidental=r.incidental, jobs=opts.jobs,
        split=[opts.split[0] + 1, opts.split[1]],
        covered=covered(scn, r, opts.seed),
        bounds=Bounds(preemptions=x.preemptions if _systematic(r.strategy) else None,
                      depth=x.depth if "pct" in r.strategy else None,
                      schedules=x.schedules, actors=nactors, ops=x.ops,
                      warmup=x.warmup, pages=x.pages),
        ops=r.steps, ops_per_s=round(r.steps / r.seconds) if r.seconds else 0,
        audits=0, duration_s=round(r.seconds, 3), errors=errors, interrupted=False,
        health={}, run_dir=str(run_dir.path),
    )
    write_summary(run_dir, summary)
    return summary
