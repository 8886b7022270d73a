"""The supervisor: owns the arena and the run directory, starts workers, audits, stops.

Its loop waits on the workers' sentinels with a short tick, so a dead worker is
an event the moment it happens.  Each tick dispatches by name to `on_<event>`
handlers: a crash or a hang is a normal event that ends the run with verdict
`error`; an audit is a stop-the-world pause; the deadline starts the drain.
The jobs around the loop live beside it: the processes (`fleet`), when a worker
counts as hung (`policy`, pure functions of time and heartbeats), the arena's
counters (`counters`) and the run record (`record`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from stress.anomalies import Anomaly, Kind
from stress.checks import audit
from stress.checks.contests import WindowCounter
from stress.checks.lifecycle import boot, finish
from stress.checks.scan import NegativeRefcounts
from stress.memory import Arena
from stress.memory.layout import (
    G_PAUSE_EPOCH,
    G_RUN_STATE,
    G_SUPERVISOR_PID,
    RUN_DRAIN,
    RUN_PAUSE,
    RUN_RUNNING,
    RUN_STOP,
)
from stress.memory.trace import all_rings
from stress.model import Machine
from stress.processes import record
from stress.processes.counters import Counters
from stress.processes.fleet import Fleet, how_it_ended
from stress.processes.policy import Heartbeats, Startup
from stress.processes.progress import Progress, Ticker
from stress.processes.reporting import AnomalyLog
from stress.processes.stop import stop_requested
from stress.processes.waits import wait_all
from stress.runrecord import Event
from stress.runs.logs import open_log
from stress.runs.plan import Plan, make_plan
from stress.runs.rundir import OutputError, RunDir
from stress.scenario import Scenario
from stress.schemes import load_scheme
from stress.summary import StressSummary, write_manifest, write_summary

TICK = 0.05
SCAN_EVERY = 0.1
DRAIN_TIMEOUT = 10.0
STATUS_EVERY = 0.1  # /proc is not free: a waiting worker's state, a few times a second


__all__ = ["Progress", "Supervisor", "how_it_ended"]


class Supervisor:
    def __init__(self, scn: Scenario, seed: int, run_dir: RunDir, *,
                 start_method: str = "forkserver",
                 progress: Callable[[Progress], None] | None = None,
                 until_detected: bool = False, budget: float | None = None) -> None:
        self.scn = scn
        self.until_detected = until_detected and scn.expect.decided_at_first_detection
        # Racing time allowed before budget-overrun (ops mode, or a duration that was cut).
        self.budget = budget
        self.seed = seed
        self.run_dir = run_dir
        self.start_method = start_method
        self.on_progress = progress or (lambda p: None)
        self.plan: Plan = make_plan(scn, seed)
        self.scheme = load_scheme(scn.model.scheme, probe=False)  # (loaded with it)
        self.tally = record.Tally(t0=time.monotonic())
        self.contests = WindowCounter(self.plan.config.nworkers)
        self.fleet = Fleet(run_dir)
        self.beats = Heartbeats(scn.run.hang_timeout)
        self.negative_refcounts = NegativeRefcounts()
        self.budget_deadline = float("inf")  # set when the race begins
        # Made by run(): the log, the arena and what reads it.
        self.logfile: Any = None
        self.log: Any = None
        self.arena: Arena | None = None
        self.counters: Counters | None = None
        self.anomaly_log: Any = None
        self.m: Machine | None = None

    @property
    def errors(self) -> list[str]:
        return self.tally.errors

    # -- reporting -------------------------------------------------------------------------

    def report(self, a: Anomaly) -> None:
        self.tally.count(a.kind.value)
        self.anomaly_log(a)

    def report_audit(self, result: Any) -> None:
        for kind, n in result.counts.items():
            self.tally.count(kind, n)
        for a in result.anomalies:
            self.anomaly_log(a)

    def health_event(self, kind: Kind, worker: int, reason: str) -> None:
        self.tally.errors.append(f"{kind.value}: worker {worker}: {reason}")
        self.report(Anomaly(kind, -1, "supervisor", reason=reason, worker=worker))

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> StressSummary:
        """Race, audit and drain; return the summary (also written, before the traces)."""
        self.tally.t0 = time.monotonic()
        self.logfile = self.run_dir.open_log("supervisor.jsonl")
        try:
            self.log = open_log(self.logfile, pid=os.getpid(), scenario=self.scn.name,
                                seed=self.seed)
            self.arena = Arena.create(self.plan.config, backend=self.scn.backend,
                                      start_method=self.start_method)
        except BaseException:
            self.logfile.close()
            raise
        self.counters = Counters(self.arena)
        self.anomaly_log = AnomalyLog(self.arena, self.log, {"scheme": self.scheme.name,
                                                             "seed": self.seed})
        try:
            self.setup()
            write_manifest(self.run_dir, record.manifest(
                self.scn, self.seed, self.scheme, self.plan, self.start_method,
                self.arena.name))
            self.fleet.start(self.arena, self.scn, self.plan, self.start_method)
            self.log.info(Event.WORKERS_STARTED, pids=self.fleet.pids)
            self.race()
            if not self.errors and not self.tally.interrupted:
                self.drain()
        except KeyboardInterrupt:
            self.tally.interrupted = True
            self.errors.append("interrupted")
            self._quietly(self.log.warning, Event.INTERRUPTED, by=stop_requested())
        except OutputError as e:
            self.errors.append(f"output error: {e}")
        except Exception as e:
            # A bug in the harness itself: verdict error, the traceback in supervisor.jsonl.
            self.errors.append(f"harness error: {e!r}")
            self._quietly(self.log.exception, Event.HARNESS_ERROR)
        finally:
            self.set_state(RUN_STOP)
            self.fleet.stop()
            summary = self.finish()
        return summary

    def finish(self) -> StressSummary:
        """The summary first, then the large files: a full disk still leaves the verdict."""
        assert self.arena is not None
        try:
            summary = self.write_summary()
            self.dump_traces()
        except OutputError as e:
            self.errors.append(f"output error: {e}")
            summary = self.summarize()
            self._quietly(write_summary, self.run_dir, summary)
        try:
            self._quietly(self.anomaly_log.close)
            self._quietly(self.log.info, Event.RUN_FINISHED, verdict=summary.verdict)
        finally:
            self.logfile.close()
            self.arena.close()
        return summary

    @staticmethod
    def _quietly(fn: Callable[..., Any], *args: Any, **kw: Any) -> None:
        """Write what still can be written once an output error is already the verdict."""
        try:
            fn(*args, **kw)
        except OutputError:
            pass

    def setup(self) -> None:
        assert self.arena is not None
        self.m = boot(self.arena, self.scn.model, self.scheme, self.report,
                      self.plan.pool_owners)
        self.arena.atomic.store(self.arena.layout.globals + G_SUPERVISOR_PID, os.getpid())

    def wait_ready(self) -> bool:
        """Every worker attached and built its actors: only then does the race clock start
        (policy.Startup says when one that is not counts as hung)."""
        assert self.counters is not None
        startup = Startup(time.monotonic(), len(self.fleet.procs), self.scn.run.hang_timeout)
        look = [startup.started]  # when to ask /proc next

        def hung(now: float, waiting: list[int]) -> dict[int, str]:
            statuses = None
            if now >= look[0]:
                look[0] = now + STATUS_EVERY
                statuses = {w: self.fleet.status(w) for w in waiting}
            return startup.hung(now, waiting, statuses)

        return wait_all(self.counters.not_ready, dead=self.on_dead_workers,
                        stop=self.on_stop_request, hung=hung, on_hung=self.hang, poll=0.002)

    def hang(self, w: int, why: str) -> None:
        self.health_event(Kind.WORKER_HANG, w, f"{why} ({self.fleet.last_words(w)})")

    def set_state(self, state: int) -> None:
        assert self.arena is not None
        self.arena.atomic.store(self.arena.layout.globals + G_RUN_STATE, state)

    def race(self) -> None:
        from multiprocess.connection import wait

        run, counters = self.scn.run, self.counters
        assert counters is not None
        if not self.wait_ready():
            return
        self.set_state(RUN_RUNNING)
        race_t0 = self.tally.race_t0 = time.monotonic()
        self.log.info(Event.RACE_STARTED, t0_ns=time.monotonic_ns())
        on_tick = Ticker(self.scn.name, self.seed, self.log, self.on_progress, counters,
                         self.tally, self.fleet, race_t0)
        self.beats.start(len(self.fleet.procs), race_t0)
        next_audit = race_t0 + run.audit_interval
        next_scan = race_t0
        deadline = race_t0 + run.duration if not run.ops else float("inf")
        self.budget_deadline = race_t0 + (self.budget if self.budget is not None
                                          else max(run.duration * 10, 60.0))
        detect = set(self.scn.expect.detect)
        while True:
            wait(self.fleet.sentinels, timeout=TICK)
            self.on_stop_request()
            now = time.monotonic()
            if self.on_dead_workers() or self.on_hung_workers(now):
                return
            if now >= next_scan and run.checks:
                self.on_scan()
                next_scan = now + SCAN_EVERY
            if now >= next_audit and run.checks:
                if not self.on_audit():
                    return
                next_audit = time.monotonic() + run.audit_interval
            on_tick(now, "racing")
            # Ops mode ends on the op counters, not a state word a pause could overwrite.
            if now >= deadline or (run.ops and min(counters.ops()) >= run.ops):
                return
            if self.until_detected and detect & set(self.tally.all_counts(counters)):
                return
            if now >= self.budget_deadline:
                self.health_event(Kind.BUDGET_OVERRUN, -1, "the run overran its time budget")
                return

    # -- events ----------------------------------------------------------------------------

    def on_dead_workers(self) -> bool:
        exited = self.fleet.exited()
        for w, how in exited:
            self.health_event(Kind.WORKER_CRASH, w, f"{how} mid-run")
        return bool(exited)

    def on_stop_request(self) -> None:
        if stop_requested():
            raise KeyboardInterrupt

    def on_hung_workers(self, now: float) -> bool:
        assert self.counters is not None
        hung = self.beats.hung(now, self.counters.beats())
        for w, why in hung.items():
            self.hang(w, why)
        return bool(hung)

    def on_scan(self) -> None:
        assert self.arena is not None
        for a in self.negative_refcounts(self.arena):
            self.report(a)

    def pause(self) -> bool:
        """Stop the world: every worker parks with its ledger published, or it hangs."""
        assert self.arena is not None and self.counters is not None
        g = self.arena.layout.globals
        epoch = self.arena.atomic.load(g + G_PAUSE_EPOCH) + 1
        self.arena.atomic.store(g + G_PAUSE_EPOCH, epoch)
        self.set_state(RUN_PAUSE)
        t0, limit = time.monotonic(), self.scn.run.hang_timeout
        return wait_all(lambda: self.counters.not_parked(epoch),  # type: ignore[union-attr]
                        dead=self.on_dead_workers, stop=self.on_stop_request,
                        hung=lambda now, waiting: dict.fromkeys(
                            waiting if now - t0 > limit else (), "did not park for an audit"),
                        on_hung=self.hang, poll=0.0005)

    def on_audit(self) -> bool:
        assert self.arena is not None
        if not self.pause():
            return False
        t = time.perf_counter()
        result = audit(self.arena, self.scheme)
        self.sample_windows()
        self.tally.audit_ms.append((time.perf_counter() - t) * 1000)
        self.tally.audits += 1
        self.report_audit(result)
        self.beats.excuse(time.monotonic())
        self.set_state(RUN_RUNNING)
        return True

    # -- the end ---------------------------------------------------------------------------

    def drain(self) -> None:
        """Workers drop what they hold; then the queues, the page cache and the pools go."""
        assert self.counters is not None and self.m is not None
        assert self.tally.race_t0 is not None
        self.tally.race_elapsed = time.monotonic() - self.tally.race_t0
        # The race's lost recycles, before the drain adds the driver's own teardown's.
        self.tally.released_shared_race = [r.released_shared for r in self.counters.pools()]
        self.set_state(RUN_DRAIN)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        for w in range(len(self.fleet.procs)):
            code = self.fleet.join(w, max(0.0, deadline - time.monotonic()))
            if code is None:
                self.health_event(Kind.WORKER_HANG, w, "did not finish draining")
            elif code != 0:
                self.health_event(Kind.WORKER_CRASH, w, f"pid {self.fleet.pids[w]} "
                                  f"{how_it_ended(code)} while draining")
        if self.errors:
            return
        self.sample_windows()  # the race's last windows, before the teardown's operations
        end = finish(self.m, self.report)
        self.tally.inflight_at_destroy = end.inflight_at_destroy
        for pool, inflight in end.inflight_at_destroy.items():
            if inflight > 0:
                self.log.warning(Event.POOL_SHUTDOWN_STALLED, pool=pool, inflight=inflight)
        self.tally.audits += 1
        self.report_audit(end.audit)

    def sample_windows(self) -> None:
        """Count the contested windows in the trace rings (workers parked or done)."""
        assert self.arena is not None
        if self.arena.layout.config.trace_entries:
            self.contests.sample(all_rings(self.arena.words, self.arena.layout))

    def dump_traces(self) -> None:
        assert self.arena is not None
        rings = all_rings(self.arena.words, self.arena.layout)
        if self.arena.layout.config.trace_entries:
            self.run_dir.save_npz("traces.npz", {f"worker_{w}": r for w, r in enumerate(rings)})

    def write_summary(self) -> StressSummary:
        summary = self.summarize()
        write_summary(self.run_dir, summary)
        return summary

    def summarize(self) -> StressSummary:
        assert self.counters is not None
        return record.summary(self.scn, self.seed, self.scheme, self.plan, self.tally,
                              self.counters, self.contests, self.fleet.health,
                              str(self.run_dir.path), self.fleet.pids)
