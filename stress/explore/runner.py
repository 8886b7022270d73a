"""Explore one scenario: schedules until a finding, the bound, the budget or exhaustion.

`explore_job` is one process's share (disjoint schedule indexes for random and
pct, disjoint subtrees for dfs); `explore` runs the jobs, shrinks the first
finding, replays it to check it is deterministic, and writes the run directory.
"""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from stress.explore.checkpoint import EVERY_S as CHECKPOINT_EVERY_S
from stress.explore.checkpoint import Position, path_for
from stress.explore.checkpoint import load as load_position
from stress.explore.checkpoint import save as save_position
from stress.explore.minimal import fewest_preemptions
from stress.explore.scheduler import Nondeterminism
from stress.explore.search import Search, Systematic, make_search
from stress.explore.shrink import Candidate, fails_with, replay, shrink
from stress.explore.strategies import SYSTEMATIC
from stress.explore.token import Token, scenario_digest
from stress.explore.world import (
    PROGRAMS_CAP,
    Outcome,
    World,
    count_programs,
    explored_groups,
    strategy_groups,
)
from stress.runs.liveness import gone
from stress.scenario import Scenario, load_scenario
from stress.summary import Found


@dataclass(frozen=True)
class ExploreOptions:
    """What the command line may change; None keeps the scenario's [explore] value."""

    strategy: str | None = None
    depth: int | None = None
    preemptions: int | None = None
    schedules: int | None = None
    budget: float | None = None  # seconds of exploring for this scenario
    seed: int = 1
    jobs: int = 1
    split: tuple[int, int] = (0, 1)  # (k, n): this machine searches part k of n (0-based)
    checkpoint: Path | None = None  # dfs, dpor: a directory to go on from and save to

    def apply(self, scn: Scenario) -> Scenario:
        x = scn.explore
        given = (("strategy", self.strategy), ("depth", self.depth),
                 ("preemptions", self.preemptions), ("schedules", self.schedules))
        changes: dict[str, Any] = {k: v for k, v in given if v is not None}
        return replace(scn, explore=replace(x, **changes))


@dataclass
class Progress:
    scenario: str
    schedules: int
    steps: int
    elapsed: float


@dataclass
class JobResult:
    strategy: str = ""  # who ran it: a strategy, or a portfolio's members joined by +
    schedules: int = 0
    steps: int = 0  # every step run, a cut schedule's too (throughput, not coverage)
    abandoned: int = 0  # schedules cut at max_steps: never part of a proof
    blocked: int = 0  # dpor: schedules ended asleep, repeats of ones run (not failures)
    cut: int = 0  # schedules the budget or a stop ended midway: not counted, never a proof
    searched: bool = False  # the strategy ran out of schedules (dfs: the bounded tree)
    exhausted: bool = False  # searched, and no schedule abandoned: a proof of the bound
    programs: int = 0  # programs begun
    programs_total: int = 0  # dfs: the programs of the bounded space (0: sampled, unbounded)
    proven_bound: int = -1  # dfs: every program, every schedule up to this many preemptions
    seconds: float = 0.0
    finding: Candidate | None = None  # the failing schedule, as found
    finding_kind: str = ""
    finding_at: float = 0.0  # seconds into the job
    incidental: dict[str, int] = field(default_factory=dict)  # kinds seen that decide nothing
    found_by: str = ""  # the strategy whose schedule found it
    members: list[JobResult] = field(default_factory=list)  # what a merged result merged


def decisive(scn: Scenario, kind: str) -> bool:
    """Does finding `kind` settle the verdict (a clean scenario broken, a detection made)?"""
    e = scn.expect
    return e.clean or kind in e.detect or kind in e.forbid


def explore_job(scn: Scenario, seed: int, budget: float | None, job: int = 0, jobs: int = 1,
                progress: Callable[[Progress], None] | None = None,
                stop: Callable[[], bool] | None = None,
                checkpoint: Path | None = None) -> JobResult:
    """One job's share of the search; with `checkpoint` (a directory), a systematic search
    goes on from where a run given the same directory stopped, and says where it got to."""
    x = scn.explore
    r = JobResult(strategy=x.strategy)
    worlds: list[World] = []
    search: Search | None = None
    t0 = time.monotonic()
    next_report = t0 + 0.5
    saved: Position | None = None
    earlier = 0.0  # seconds the runs before this one searched (a checkpoint's)
    if checkpoint is not None:  # (refused before anything starts when it does not fit)
        saved = Position(scenario_digest(scn), x.strategy, x.preemptions, seed, job, jobs,
                         x.max_steps, x.warmups, x.draws)
        where = path_for(checkpoint, scn.name, job, jobs)
        if (before := load_position(where, saved)) is not None:
            saved = before
            r.schedules, r.steps, r.abandoned = saved.schedules, saved.steps, saved.abandoned
            r.blocked, earlier = saved.blocked, saved.seconds
        mark = saved  # the last program boundary: what is saved
        next_save = t0 + CHECKPOINT_EVERY_S
    try:
        every = explored_groups(scn)
        numbers = strategy_groups(scn, x.strategy)  # a world's group, as tokens number it
        for g in numbers:  # (in the try: an interrupt closes them)
            worlds.append(World(scn, every[g]))
        search = make_search(worlds, x, seed, job, jobs)

        def expired() -> bool:
            return (budget is not None and time.monotonic() - t0 >= budget) \
                or (stop is not None and stop())

        if saved is not None and isinstance(search, Systematic):
            search.resume(saved.bound, saved.programs_done, saved.clean, saved.proven_bound)
            r.searched = saved.searched
        while r.schedules < x.schedules and not r.searched:
            if (nxt := search.next()) is None:
                r.searched = True
                break
            group, seed_now, program = nxt
            if saved is not None and isinstance(search, Systematic):
                mark = _boundary(search, r, mark)
            o = worlds[group].run(seed_now, program, search.strategy, x.max_steps,
                                  audit_ops=x.audit, expired=expired)
            if o.cut:  # (its steps were run: work, for throughput, though never a proof)
                r.cut += 1
                r.steps += o.schedule.steps
                break
            search.end(o.schedule.steps, o.abandoned)
            r.schedules += 1
            r.steps += o.schedule.steps
            r.abandoned += o.abandoned
            r.blocked += o.blocked
            if o.anomaly is not None:
                kind = o.anomaly.kind.value
                if decisive(scn, kind):
                    r.finding = Candidate(seed_now, program, tuple(o.schedule.switches),
                                          numbers[group], o.schedule.draws)
                    r.finding_kind, r.finding_at = kind, time.monotonic() - t0
                    break
                r.incidental[kind] = r.incidental.get(kind, 0) + 1
            now = time.monotonic()
            if now >= next_report:  # (stop may be another process's flag: not every time)
                next_report = now + 0.5
                if progress:
                    progress(Progress(scn.name, r.schedules, r.steps, now - t0))
                if stop and stop():
                    break
            if saved is not None and now >= next_save:
                next_save = now + CHECKPOINT_EVERY_S
                _save(where, mark, earlier + now - t0)
            if budget is not None and now - t0 >= budget:
                break
    finally:
        r.seconds = earlier + time.monotonic() - t0
        if search is not None:
            r.programs, r.programs_total = search.programs, search.total
            r.proven_bound = search.proven_bound
            if saved is not None and r.finding is None and isinstance(search, Systematic):
                if r.searched:
                    mark = _boundary(search, r, mark, force=True)
                _save(where, mark, r.seconds)
        for world in worlds:
            world.close()
    r.exhausted = r.searched and r.abandoned == 0
    return r


def _boundary(search: Systematic, r: JobResult, mark: Position, force: bool = False) -> Position:
    """The position at the start of the program the search has just begun (or at its end):
    what a checkpoint saves, so that a resumed search counts every schedule once."""
    if not force and (search.bound, search.programs_done) == (mark.bound, mark.programs_done):
        return mark
    return replace(mark, bound=search.bound, programs_done=search.programs_done,
                   clean=search.clean, proven_bound=search.proven_bound, searched=r.searched,
                   schedules=r.schedules, steps=r.steps, abandoned=r.abandoned,
                   blocked=r.blocked, programs_total=search.total)


def _save(where: Path, mark: Position, seconds: float) -> None:
    save_position(where, replace(mark, seconds=seconds))


def nothing_run(r: JobResult) -> bool:
    """The budget or a stop ended the first schedule: nothing at all was explored."""
    return r.finding is None and r.schedules == 0 and r.cut > 0


def mostly_abandoned(r: JobResult) -> bool:
    """More than half the schedules hit the step bound: the search says nothing, an error."""
    return r.finding is None and r.schedules > 0 and 2 * r.abandoned > r.schedules


def _terminated(signum: int, frame: object) -> None:
    """A job process told to stop (the pool's terminate, or Ctrl-C at the terminal): unwind,
    so its worlds are closed, and exit quietly (the parent says "interrupted")."""
    raise SystemExit(128 + signum)


@contextmanager
def _job_signals() -> Iterator[None]:
    """While a job runs (and only then: an idle pool worker must die of SIGTERM whichever
    of its threads the kernel hands it to, which only the default action does)."""
    old = {sig: signal.signal(sig, _terminated) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in old.items():
            signal.signal(sig, handler)


# The jobs' shared stop flag, handed to each pool worker as it starts (a process-shared
# Event can only be inherited, and a manager process would outlive a killed command), and
# the command's multiprocess directory, which a job removes when it finds the command gone.
_STOP: Any = None
_MP_TEMPDIR = ""


def _inherit_stop(stop: Any, mp_tempdir: str) -> None:
    global _STOP, _MP_TEMPDIR
    _STOP, _MP_TEMPDIR = stop, mp_tempdir


def _orphaned(parent: int) -> None:
    """The command was killed outright: nobody else is left to remove its multiprocess
    directory (idempotent; every job tries, as the stress workers do)."""
    if _MP_TEMPDIR and gone(parent):
        shutil.rmtree(_MP_TEMPDIR, ignore_errors=True)


def _stop_when(stop: Any, parent: int) -> Callable[[], bool]:
    """A job's stop: another job found something, or the command that started it is gone
    (killed outright: nothing else would end a job whose schedules last hours)."""
    def should() -> bool:
        return bool(stop.is_set()) or gone(parent)
    return should


POOL_END_GRACE_S = 5.0  # a worker still alive this long after its pool ended is killed


@contextmanager
def _pool(jobs: int) -> Iterator[Any]:
    """A pool of `jobs` explorer processes sharing one stop flag, ended by `_end_pool`."""
    from stress.runs import forkserver, tempdir

    ctx = forkserver.context("forkserver")
    pool = ctx.Pool(jobs, initializer=_inherit_stop, initargs=(ctx.Event(), tempdir.claim()))
    done = False
    try:
        yield pool
        done = True
    finally:
        _end_pool(pool, done)


def _end_pool(pool: Any, done: bool, grace: float = POOL_END_GRACE_S) -> None:
    """Close a pool whose work is done (its workers leave on their own), or terminate
    one cut short, and never wait on a worker for ever: one that outlives its SIGTERM
    (a signal that came as its job ended, when its Python handler had run in C but not
    yet in Python, is dropped once the default is back) is killed after `grace`
    seconds.  The pool's own terminate would wait in its join."""
    workers = list(pool._pool)  # (the Pool's processes: terminate() joins them unbounded)
    if done:
        pool.close()
    ender = threading.Thread(target=pool.join if done else pool.terminate, daemon=True)
    ender.start()
    ender.join(grace)
    if ender.is_alive():
        for p in workers + list(pool._pool):
            if p.exitcode is None:
                p.kill()
        ender.join()


def _job_main(scn: Scenario, seed: int, budget: float | None, job: int, jobs: int,
              parent: int, checkpoint: Path | None) -> JobResult:
    with _job_signals():
        r = explore_job(scn, seed, budget, job, jobs, stop=_stop_when(_STOP, parent),
                        checkpoint=checkpoint)
    _orphaned(parent)
    if r.finding is not None:
        _STOP.set()
    return r


@dataclass(kw_only=True)
class Finding(Found):
    """A failing schedule, shrunk, replayed, and described: what the summary keeps of it
    (`summary.Found`, its fields documented there) and the replayed outcome."""

    outcome: Outcome = field(repr=False, compare=False)


# The default strategy: the systematic search first, pct and random beside it.
PORTFOLIO = ("dpor", "pct", "random")


def explore(scn: Scenario, opts: ExploreOptions,
            progress: Callable[[Progress], None] | None = None) -> tuple[JobResult, Finding | None]:
    """Run the jobs (a portfolio's members, or one strategy's); shrink and replay the first
    finding."""
    scn = opts.apply(scn)
    k, n = opts.split
    if n > 1:  # the schedule bound is the scenario's: each part its share
        x = scn.explore
        scn = replace(scn, explore=replace(x, schedules=max(1, job_shares(x.schedules, n)[k])))
    if scn.explore.strategy == "portfolio":
        results = _portfolio(scn, opts, progress)
    else:
        results = _one_strategy(scn, opts, progress)
    merged = merge_results(results)
    if merged.finding is None:
        return merged, None
    return merged, describe(scn, merged)


def merge_results(results: list[JobResult]) -> JobResult:
    """One result from jobs or members: a proof only from the systematic ones, all of them."""
    dfs = [r for r in results if r.strategy in SYSTEMATIC]
    merged = JobResult(
        strategy="+".join(dict.fromkeys(r.strategy for r in results)),
        schedules=sum(r.schedules for r in results), steps=sum(r.steps for r in results),
        abandoned=sum(r.abandoned for r in results), blocked=sum(r.blocked for r in results),
        cut=sum(r.cut for r in results), programs=sum(r.programs for r in dfs),
        programs_total=min(sum(r.programs_total for r in dfs), PROGRAMS_CAP),
        proven_bound=min((r.proven_bound for r in dfs), default=-1),
        searched=bool(dfs) and all(r.searched for r in dfs),
        exhausted=bool(dfs) and all(r.exhausted for r in dfs),
        seconds=max(r.seconds for r in results), members=results)
    for r in results:
        for k, n in r.incidental.items():
            merged.incidental[k] = merged.incidental.get(k, 0) + n
    found = [r for r in results if r.finding is not None]
    if found:
        first = min(found, key=lambda r: r.finding_at)
        merged.finding, merged.finding_kind = first.finding, first.finding_kind
        merged.finding_at, merged.found_by = first.finding_at, first.strategy
        merged.exhausted = False
    return merged


def _one_strategy(scn: Scenario, opts: ExploreOptions,
                  progress: Callable[[Progress], None] | None) -> list[JobResult]:
    x = scn.explore
    k, n = opts.split
    if x.strategy in SYSTEMATIC:  # jobs split the programs: at least one each
        programs = 0
        every = explored_groups(scn)
        for g in strategy_groups(scn, x.strategy):
            world = World(scn, every[g])
            try:
                programs += count_programs(world.kinds, x.ops) * x.warmups
            finally:
                world.close()
        opts = replace(opts, jobs=min(opts.jobs, max(1, programs // n)))
    opts = replace(opts, jobs=min(opts.jobs, x.schedules))  # a schedule per job
    if opts.jobs <= 1:
        return [explore_job(scn, opts.seed, opts.budget, k, n, progress=progress,
                            checkpoint=opts.checkpoint)]
    return _run_jobs(scn, opts)


def _portfolio(scn: Scenario, opts: ExploreOptions,
               progress: Callable[[Progress], None] | None) -> list[JobResult]:
    """Each member its share of the schedules; `jobs` lanes run them side by side, each
    lane its members in turn, the time left passed on; the first finding stops them all."""
    x = scn.explore
    shares = job_shares(x.schedules, len(PORTFOLIO))
    members = [replace(scn, explore=replace(x, strategy=name, schedules=max(1, n)))
               for name, n in zip(PORTFOLIO, shares, strict=True)]
    jobs = max(1, min(opts.jobs, len(members)))
    lanes = [members[j::jobs] for j in range(jobs)]
    if jobs == 1:
        return _lane(lanes[0], opts.seed, opts.budget, opts.split, progress, None)
    with _pool(jobs) as pool:
        args = [(lane, opts.seed, opts.budget, opts.split, os.getpid()) for lane in lanes]
        return [r for rs in pool.starmap(_lane_main, args) for r in rs]


def _lane(members: list[Scenario], seed: int, budget: float | None, split: tuple[int, int],
          progress: Callable[[Progress], None] | None,
          stop: Callable[[], bool] | None) -> list[JobResult]:
    out: list[JobResult] = []
    t0 = time.monotonic()
    for k, member in enumerate(members):
        began = time.monotonic() - t0
        share = None if budget is None else max(0.0, budget - began) / (len(members) - k)
        r = explore_job(member, seed, share, *split, progress=progress, stop=stop)
        r.finding_at += began  # since the lane began, to compare with the other lanes
        out.append(r)
        if r.finding is not None or (stop is not None and stop()):
            break
    return out


def _lane_main(members: list[Scenario], seed: int, budget: float | None,
               split: tuple[int, int], parent: int) -> list[JobResult]:
    with _job_signals():
        out = _lane(members, seed, budget, split, None, _stop_when(_STOP, parent))
    _orphaned(parent)
    if any(r.finding is not None for r in out):
        _STOP.set()
    return out


def job_shares(schedules: int, jobs: int) -> list[int]:
    """`schedules` split over `jobs`: the bound is the scenario's, whatever the jobs."""
    return [schedules // jobs + (j < schedules % jobs) for j in range(jobs)]


def _run_jobs(scn: Scenario, opts: ExploreOptions) -> list[JobResult]:
    shares = job_shares(scn.explore.schedules, opts.jobs)
    k, n = opts.split  # local job j of J searches part k + n*j of n*J
    with _pool(opts.jobs) as pool:
        args = [(replace(scn, explore=replace(scn.explore, schedules=share)), opts.seed,
                 opts.budget, k + n * j, n * opts.jobs, os.getpid(), opts.checkpoint)
                for j, share in enumerate(shares)]
        return list(pool.starmap(_job_main, args))


def describe(scn: Scenario, r: JobResult) -> Finding:
    """Shrink the finding, replay the result, and say what it is."""
    assert r.finding is not None
    x = scn.explore
    start = r.finding
    world = World(scn, explored_groups(scn)[start.group])
    try:
        before = replay(world, start, x.max_steps)
        if before.anomaly is None or before.anomaly.kind.value != r.finding_kind:
            raise RuntimeError(f"{scn.name}: the failing schedule does not replay "
                               f"({r.finding_kind} expected, got {before.anomaly})")
        sh = shrink(start, fails_with(world, r.finding_kind, x.max_steps))
        shrunk = sh.best
        after = replay(world, shrunk, x.max_steps, trace=True)
        fewest = fewest_preemptions(world, shrunk, r.finding_kind, after.schedule.preemptions,
                                    x.max_steps)
        names = world.describe(shrunk.program)
    finally:
        world.close()
    if after.anomaly is None or after.anomaly.kind.value != r.finding_kind:
        raise RuntimeError(f"{scn.name}: the shrunk schedule does not replay "
                           f"({r.finding_kind} expected, got {after.anomaly})")
    a = after.anomaly
    digest = scenario_digest(scn)
    token = Token(scn.path, shrunk.seed, shrunk.program, shrunk.switches, digest, shrunk.group,
                  shrunk.draws)
    least = fewest.candidate
    return Finding(
        kind=a.kind.value, page=a.page, step=after.step, actor=a.worker, op=a.op,
        reason=a.reason, phase=after.phase, token=token.encode(),
        steps_before=before.schedule.steps, steps_after=after.schedule.steps,
        switches_before=len(start.switches), switches_after=len(shrunk.switches),
        ops_before=list(start.ops), ops_after=list(shrunk.ops), program=names,
        preemptions_after=after.schedule.preemptions, shrink_replays=sh.replays,
        preemptions_min=fewest.preemptions, preemptions_min_proven=fewest.proven,
        label=fewest.label, minimal_token=Token(scn.path, least.seed, least.program,
                                                least.switches, digest, least.group,
                                                least.draws).encode(),
        shrink_passes=sh.passes, outcome=after)


def finding_record(f: Finding) -> Found:
    """A finding as the summary keeps it (everything but the replayed outcome)."""
    kw: dict[str, Any] = {k.name: getattr(f, k.name) for k in fields(Found) if k.name != "raw"}
    return Found(**kw)


def replay_token(text: str, scenario: Path | None = None
                 ) -> tuple[Scenario, Token, JobResult, Finding | None]:
    """Replay a token exactly; the finding it ends in (None: it no longer fails).

    `scenario`: the file to replay it against, instead of the path the token names (that
    path is as `pagerace explore` was given it, relative to where it ran); the digest
    still has to match.
    """
    from stress.explore.token import TokenError, decode

    tok = decode(text)
    path = Path(tok.scenario) if scenario is None else scenario
    if scenario is None and not path.is_absolute() and not path.exists():
        raise TokenError(f"token for {tok.scenario}: no such file from {Path.cwd()} (the path "
                         "is relative to where the token was made: run there, or name the "
                         "file with --scenario)")
    scn = load_scenario(path)
    if scenario_digest(scn) != tok.digest:
        raise TokenError(f"token for {tok.scenario}: made for another configuration (the "
                         "scenario's model, roles or [explore] changed since, or the token "
                         "is another scenario's)")
    groups = explored_groups(scn)
    if tok.group >= len(groups):
        raise TokenError(f"token for {tok.scenario}: group {tok.group} of actors, the scenario "
                         f"explores {len(groups)}")
    world = World(scn, groups[tok.group])
    try:
        if len(tok.program) != world.n or any(
                i >= k for ops, k in zip(tok.program, world.widths, strict=True) for i in ops):
            raise TokenError(f"token for {tok.scenario}: its program does not fit the "
                             f"scenario, which explores {world.n} actors choosing among "
                             f"{', '.join(map(str, world.widths))} operations")
        if tok.draws is not None and len(tok.draws) != world.n:
            raise TokenError(f"token for {tok.scenario}: draws for {len(tok.draws)} actors, "
                             f"the scenario explores {world.n}")
        if any(actor >= world.n for _, actor in tok.switches):
            raise TokenError(f"token for {tok.scenario}: a switch names an actor the "
                             f"scenario does not have ({world.n} actors)")
        t0 = time.monotonic()
        try:
            o = replay(world, Candidate(tok.seed, tok.program, tok.switches, tok.group,
                                        tok.draws),
                       scn.explore.max_steps, trace=True)
        except Nondeterminism as e:
            raise TokenError(f"token for {tok.scenario}: its schedule does not fit the "
                             f"scenario ({e})") from None
        names = world.describe(tok.program)
        r = JobResult(schedules=1, steps=o.schedule.steps, seconds=time.monotonic() - t0)
    finally:
        world.close()
    if o.anomaly is None:
        return scn, tok, r, None
    a = o.anomaly
    r.finding_at = r.seconds
    n, ops = len(tok.switches), [len(p) for p in tok.program]
    f = Finding(kind=a.kind.value, page=a.page, step=o.step, actor=a.worker, op=a.op,
                reason=a.reason, phase=o.phase, token=text, steps_before=o.schedule.steps,
                steps_after=o.schedule.steps, switches_before=n, switches_after=n,
                ops_before=ops, ops_after=list(ops), program=names,
                preemptions_after=o.schedule.preemptions, shrink_replays=0, outcome=o)
    return scn, tok, r, f
