"""The supervisor: owns the arena and the run directory, starts workers, audits, stops.

Its loop waits on the workers' sentinels with a short tick, so a dead worker is
an event the moment it happens.  Each tick dispatches by name to `on_<event>`
handlers: a crash or a hang is a normal event that ends the run with verdict
`error`; an audit is a stop-the-world pause; the deadline starts the drain.
"""

from __future__ import annotations

import json
import os
import platform
import signal
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import psutil

from stress import BUILD, __version__
from stress.anomalies import HARNESS, Anomaly, Kind
from stress.checks import audit, final_audit, live_scan
from stress.checks.audit import audit_says
from stress.checks.contests import WindowCounter
from stress.checks.teardown import teardown
from stress.checks.verdict import verdict
from stress.memory import Arena
from stress.memory.layout import (
    G_PAUSE_EPOCH,
    G_RUN_STATE,
    G_SUPERVISOR_PID,
    POOL_RECYCLE_RELEASED,
    POOL_RECYCLED_CACHE,
    POOL_RECYCLED_RING,
    POOL_RELEASED_SHARED,
    POOL_RING_FULL,
    RUN_DRAIN,
    RUN_PAUSE,
    RUN_RUNNING,
    RUN_STOP,
    W_COUNTS,
    W_FIRST_NS,
    W_HEARTBEAT,
    W_OPS,
    W_PARKED_EPOCH,
    W_PID,
)
from stress.memory.trace import ring_records
from stress.model import (
    Machine,
    mem_init,
    page_pool_init,
)
from stress.processes.reporting import KIND_INDEX, AnomalyLog
from stress.processes.stop import stop_requested
from stress.processes.worker import EXIT_LOG_FAILED, worker_main
from stress.roles import ROLES
from stress.runs import forkserver, tempdir
from stress.runs.logs import open_log
from stress.runs.plan import Plan, make_plan
from stress.runs.rundir import OutputError, RunDir
from stress.scenario import Scenario
from stress.schemes import load_scheme

TICK = 0.05
SCAN_EVERY = 0.1
DRAIN_TIMEOUT = 10.0
STARTUP_TIMEOUT = 30.0  # no worker ready at all
STARTUP_GRACE = 5.0  # at least this long for the rest once one is ready
STOPPED = (psutil.STATUS_STOPPED, psutil.STATUS_TRACING_STOP)
PROGRESS_EVERY = 0.25


@dataclass
class Progress:
    """What the live display shows; handed to the progress callback every tick."""

    scenario: str
    seed: int
    elapsed: float = 0.0
    ops: int = 0
    ops_per_s: float = 0.0
    audits: int = 0
    anomalies: dict[str, int] = field(default_factory=dict)
    phase: str = "starting"


def how_it_ended(code: int) -> str:
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    if code == EXIT_LOG_FAILED:
        return "could not write its log (exit code 5)"
    return f"exited with code {code}"


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
        self.counts: dict[str, int] = {}  # the supervisor's own detections
        self.first: dict[str, float] = {}
        self.errors: list[str] = []
        self.audits = 0
        self.audit_ms: list[float] = []
        self.contests = WindowCounter(self.plan.config.nworkers)
        self.health: dict[int, dict[str, Any]] = {}
        self.interrupted = False
        self.procs: list[Any] = []
        self.last_beat: dict[int, tuple[int, float]] = {}
        self.reported_negative: set[tuple[int, int]] = set()
        self.inflight_at_destroy: dict[int, int] = {}
        # Per pool, page_pool_put_page's shared finds when the race ended (set by drain).
        self.released_shared_race: list[int] | None = None

    # -- reporting -------------------------------------------------------------------------

    def report(self, a: Anomaly) -> None:
        kind = a.kind.value
        self.counts[kind] = self.counts.get(kind, 0) + 1
        self.first.setdefault(kind, time.monotonic() - self.t0)
        self.anomaly_log(a)

    def report_audit(self, result: Any) -> None:
        for kind, n in result.counts.items():
            self.counts[kind] = self.counts.get(kind, 0) + n
            self.first.setdefault(kind, time.monotonic() - self.t0)
        for a in result.anomalies:
            self.anomaly_log(a)

    def health_event(self, kind: Kind, worker: int, reason: str) -> None:
        self.errors.append(f"{kind.value}: worker {worker}: {reason}")
        self.report(Anomaly(kind, -1, "supervisor", reason=reason, worker=worker))

    # -- counters in the arena ---------------------------------------------------------------

    def _per_kind(self, offset: int) -> list[dict[str, int]]:
        """Each worker's nonzero per-kind words at `offset` in its control region."""
        L, words = self.arena.layout, self.arena.words
        out = []
        for w in range(L.config.nworkers):
            base = L.worker(w) + offset
            out.append({kind: v for kind, k in KIND_INDEX.items() if (v := int(words[base + k]))})
        return out

    def worker_counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for counts in self._per_kind(W_COUNTS):
            for kind, n in counts.items():
                out[kind] = out.get(kind, 0) + n
        return out

    def worker_first(self) -> dict[str, float]:
        """Seconds from the supervisor's start to each kind's first report by a worker."""
        out: dict[str, float] = {}
        for firsts in self._per_kind(W_FIRST_NS):
            for kind, ns in firsts.items():
                t = ns / 1e9 - self.t0
                out[kind] = min(out.get(kind, t), t)
        return out

    def all_counts(self) -> dict[str, int]:
        out = self.worker_counts()
        for k, n in self.counts.items():
            out[k] = out.get(k, 0) + n
        return dict(sorted(out.items()))

    def total_ops(self) -> int:
        L, words = self.arena.layout, self.arena.words
        return sum(int(words[L.worker(w) + W_OPS]) for w in range(L.config.nworkers))

    # -- the run ---------------------------------------------------------------------------

    def run(self) -> dict[str, Any]:
        """Race, audit and drain; return the summary (also written, before the traces)."""
        self.t0 = time.monotonic()
        self.logfile = self.run_dir.open_log("supervisor.jsonl")
        try:
            self.log = open_log(self.logfile, pid=os.getpid(), scenario=self.scn.name,
                                seed=self.seed)
            self.arena = Arena.create(self.plan.config, backend=self.scn.backend,
                                      start_method=self.start_method)
        except BaseException:
            self.logfile.close()
            raise
        self.anomaly_log = AnomalyLog(self.arena, self.log, {"scheme": self.scheme.name,
                                                             "seed": self.seed})
        summary: dict[str, Any] = {}
        try:
            self.setup()
            self.write_manifest()
            self.start_workers()
            self.race()
            if not self.errors and not self.interrupted:
                self.drain()
        except KeyboardInterrupt:
            self.interrupted = True
            self.errors.append("interrupted")
            self._quietly(self.log.warning, "interrupted", by=stop_requested())
        except OutputError as e:
            self.errors.append(f"output error: {e}")
        except Exception as e:
            # A bug in the harness itself: verdict error, the traceback in supervisor.jsonl.
            self.errors.append(f"harness error: {e!r}")
            self._quietly(self.log.exception, "harness error")
        finally:
            self.stop_workers()
            summary = self.finish()
        return summary

    def finish(self) -> dict[str, Any]:
        """The summary first, then the large files: a full disk still leaves the verdict."""
        try:
            summary = self.write_summary()
            self.dump_traces()
        except OutputError as e:
            self.errors.append(f"output error: {e}")
            summary = self.summarize()
            self._quietly(self.run_dir.write_json, "summary.json", summary)
        try:
            self._quietly(self.anomaly_log.close)
            self._quietly(self.log.info, "run finished", verdict=summary.get("verdict"))
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
        mem_init(self.arena)
        sys_ = self.arena.atomic
        sys_.store(self.arena.layout.globals + G_SUPERVISOR_PID, os.getpid())
        self.m = Machine(self.arena, self.scn.model, self.scheme, self.report, worker=-1)
        for pool, owner in enumerate(self.plan.pool_owners):
            page_pool_init(self.m, pool, owner)

    def write_manifest(self) -> None:
        import multiprocess
        import structlog

        manifest = {
            "scenario": self.scn.to_dict(), "seed": self.seed,
            "scheme": {"spec": self.scn.model.scheme, "name": self.scheme.name,
                       "class": f"{type(self.scheme).__module__}.{type(self.scheme).__qualname__}",
                       "summary": self.scheme.summary},
            "worker_seeds": list(self.plan.worker_seeds), "backend": self.scn.backend,
            "start_method": self.start_method, "arena": self.arena.name,
            **BUILD.describe(),  # the workers import the same modules, so the same build
            "arena_config": asdict(self.plan.config),
            "actors": [a.__dict__ | {"mix": dict(a.mix), "params": dict(a.params)}
                       for a in self.plan.actors],
            "versions": {"pagerace": __version__, "python": sys.version.split()[0],
                         "numpy": np.__version__, "multiprocess": multiprocess.__version__,
                         "structlog": structlog.__version__, "psutil": psutil.__version__},
            "host": {"platform": platform.platform(), "cpus": os.cpu_count(),
                     "memory_bytes": psutil.virtual_memory().total, "pid": os.getpid()},
        }
        self.run_dir.write_json("manifest.json", manifest)

    def start_workers(self) -> None:
        ctx = forkserver.context(self.start_method)
        handle = self.arena.handle()
        tmp = tempdir.claim()
        for w, seed in enumerate(self.plan.worker_seeds):
            p = ctx.Process(target=worker_main, name=f"pagerace-worker-{w}", daemon=True,
                            args=(handle, self.scn, self.plan.actors, w, seed,
                                  str(self.run_dir.path), os.getpid(), tmp))
            p.start()
            self.procs.append(p)
        self.log.info("workers started", pids=[p.pid for p in self.procs])

    def wait_ready(self) -> bool:
        """Every worker attached and built its actors: only then does the race clock start.

        A worker is hung when it is still not ready STARTUP_GRACE seconds (or twice
        what the first one took, on a loaded machine) after a sibling became ready,
        when the kernel has it stopped for longer than the hang timeout, or when no
        worker at all is ready after STARTUP_TIMEOUT.
        """
        L, words = self.arena.layout, self.arena.words
        started = time.monotonic()
        first_ready: float | None = None
        next_look = started
        stopped_since: dict[int, float] = {}
        while True:
            waiting = [w for w in range(len(self.procs)) if int(words[L.worker(w) + W_PID]) == 0]
            if not waiting:
                return True
            if self.on_dead_workers():
                return False
            self.on_stop_request()
            now = time.monotonic()
            if first_ready is None and len(waiting) < len(self.procs):
                first_ready = now
            hung: dict[int, str] = {}
            if first_ready is not None:
                grace = max(STARTUP_GRACE, 2 * (first_ready - started))
                if now - first_ready > grace:
                    hung = {w: f"not ready {now - first_ready:.1f} s after its first sibling"
                            for w in waiting}
            elif now - started > STARTUP_TIMEOUT:
                hung = {w: f"not ready after {now - started:.1f} s" for w in waiting}
            if now >= next_look:  # /proc is not free: look a few times a second
                next_look = now + 0.1
                for w in waiting:
                    if self.process_status(w) in STOPPED:
                        since = stopped_since.setdefault(w, now)
                        if now - since > self.scn.run.hang_timeout:
                            hung.setdefault(w, f"stopped for {now - since:.1f} s before ready")
                    else:
                        stopped_since.pop(w, None)
            if hung:
                for w, why in hung.items():
                    self.health_event(Kind.WORKER_HANG, w, f"{why} ({self.last_words(w)})")
                return False
            time.sleep(0.002)

    def process_status(self, w: int) -> str:
        try:
            return str(psutil.Process(self.procs[w].pid).status())
        except psutil.Error:
            return "gone"

    def last_words(self, w: int) -> str:
        """What a worker was doing, for a hang report: its state and its last log record."""
        status = self.process_status(w)
        last = "nothing logged yet"
        try:
            lines = (self.run_dir / f"worker-{w}.jsonl").read_bytes().splitlines()
            rec = json.loads(lines[-1]) if lines else None
            if rec:
                last = f"last logged {rec.get('event')!r} at {rec.get('timestamp')}"
        except (OSError, ValueError):
            pass
        return f"process {status}, {last}"

    def set_state(self, state: int) -> None:
        self.arena.atomic.store(self.arena.layout.globals + G_RUN_STATE, state)

    def race(self) -> None:
        from multiprocess.connection import wait

        run = self.scn.run
        if not self.wait_ready():
            return
        self.set_state(RUN_RUNNING)
        self.race_t0 = time.monotonic()
        self.log.info("race started", t0_ns=time.monotonic_ns())
        self.next_progress = self.race_t0
        self.next_health = self.race_t0
        for w in range(len(self.procs)):
            self.last_beat[w] = (0, self.race_t0)
        next_audit = self.race_t0 + run.audit_interval
        next_scan = self.race_t0
        deadline = self.race_t0 + run.duration if not run.ops else float("inf")
        self.budget_deadline = self.race_t0 + (self.budget if self.budget is not None
                                               else max(run.duration * 10, 60.0))
        detect = set(self.scn.expect.detect)
        while True:
            wait([p.sentinel for p in self.procs], timeout=TICK)
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
            self.on_tick(now, "racing")
            if now >= deadline or (run.ops and self.all_done()):
                return
            if self.until_detected and detect & set(self.all_counts()):
                return
            if now >= self.budget_deadline:
                self.health_event(Kind.BUDGET_OVERRUN, -1, "the run overran its time budget")
                return

    def all_done(self) -> bool:
        L, words = self.arena.layout, self.arena.words
        # Derived from the op counters, not a state word a pause could overwrite.
        limit = self.scn.run.ops
        return all(int(words[L.worker(w) + W_OPS]) >= limit for w in range(len(self.procs)))

    # -- events ----------------------------------------------------------------------------

    def on_dead_workers(self) -> bool:
        dead = False
        for w, p in enumerate(self.procs):
            if p.exitcode is not None:
                self.health_event(Kind.WORKER_CRASH, w, f"pid {p.pid} {how_it_ended(p.exitcode)} "
                                  "mid-run")
                dead = True
        return dead

    def on_stop_request(self) -> None:
        if stop_requested():
            raise KeyboardInterrupt

    def on_hung_workers(self, now: float) -> bool:
        L, words = self.arena.layout, self.arena.words
        hung = False
        for w in range(len(self.procs)):
            beat = int(words[L.worker(w) + W_HEARTBEAT])
            last, since = self.last_beat[w]
            if beat != last:
                self.last_beat[w] = (beat, now)
            elif now - since > self.scn.run.hang_timeout:
                self.health_event(Kind.WORKER_HANG, w, f"no heartbeat for {now - since:.2f} s "
                                  f"({self.last_words(w)})")
                hung = True
        return hung

    def on_scan(self) -> None:
        for p in live_scan(self.arena):
            gen = int(self.arena.pages["gen"][p])
            if (int(p), gen) in self.reported_negative:
                continue
            self.reported_negative.add((int(p), gen))
            self.report(Anomaly(Kind.REFCOUNT_UNDERFLOW, int(p), "live_scan",
                                refcount=int(self.arena.pages["refcount"][p]), gen=gen,
                                reason="live scan found a negative refcount",
                                origin=HARNESS, says=audit_says(Kind.REFCOUNT_UNDERFLOW)))

    def pause(self) -> bool:
        """Stop the world: every worker parks with its ledger published, or it hangs."""
        g = self.arena.layout.globals
        sys_ = self.arena.atomic
        epoch = sys_.load(g + G_PAUSE_EPOCH) + 1
        sys_.store(g + G_PAUSE_EPOCH, epoch)
        self.set_state(RUN_PAUSE)
        L, words = self.arena.layout, self.arena.words
        t0 = time.monotonic()
        while True:
            waiting = [w for w in range(len(self.procs))
                       if int(words[L.worker(w) + W_PARKED_EPOCH]) != epoch]
            if not waiting:
                return True
            if self.on_dead_workers():
                return False
            self.on_stop_request()
            if time.monotonic() - t0 > self.scn.run.hang_timeout:
                for w in waiting:
                    self.health_event(Kind.WORKER_HANG, w, "did not park for an audit "
                                      f"({self.last_words(w)})")
                return False
            time.sleep(0.0005)

    def on_audit(self) -> bool:
        if not self.pause():
            return False
        t = time.perf_counter()
        result = audit(self.arena, self.scheme)
        self.sample_windows()
        self.audit_ms.append((time.perf_counter() - t) * 1000)
        self.audits += 1
        self.report_audit(result)
        now = time.monotonic()
        for w in range(len(self.procs)):  # parked time is not a hang
            self.last_beat[w] = (self.last_beat[w][0], now)
        self.set_state(RUN_RUNNING)
        return True

    def on_tick(self, now: float, phase: str) -> None:
        if now >= self.next_health:
            for w, p in enumerate(self.procs):
                self.sample_health(w, p)
            self.next_health = now + 1.0
        elapsed = now - self.race_t0
        ops = self.total_ops()
        counts = self.all_counts()
        if now >= self.next_progress:  # the throughput-over-time view of a report
            L, words = self.arena.layout, self.arena.words
            self.log.info("progress", t=round(elapsed, 3), ops=ops, audits=self.audits,
                          anomalies=counts, worker_ops=[int(words[L.worker(w) + W_OPS])
                                                        for w in range(len(self.procs))])
            self.next_progress = now + PROGRESS_EVERY
        self.on_progress(Progress(self.scn.name, self.seed, elapsed, ops,
                                  ops / elapsed if elapsed > 0 else 0.0, self.audits,
                                  counts, phase))

    # -- the end ---------------------------------------------------------------------------

    def drain(self) -> None:
        """Workers drop what they hold; then the queues, the page cache and the pools go."""
        self.race_elapsed = time.monotonic() - self.race_t0
        L, words = self.arena.layout, self.arena.words
        # The race's lost recycles, before the drain adds the driver's own teardown's.
        self.released_shared_race = [int(words[L.pool(k) + POOL_RELEASED_SHARED])
                                     for k in range(L.config.npools)]
        self.set_state(RUN_DRAIN)
        deadline = time.monotonic() + DRAIN_TIMEOUT
        for w, p in enumerate(self.procs):
            p.join(max(0.0, deadline - time.monotonic()))
            if p.exitcode is None:
                self.health_event(Kind.WORKER_HANG, w, "did not finish draining")
            elif p.exitcode != 0:
                self.health_event(Kind.WORKER_CRASH, w, f"pid {p.pid} "
                                  f"{how_it_ended(p.exitcode)} while draining")
        if self.errors:
            return
        self.sample_windows()  # the race's last windows, before the teardown's operations
        self.inflight_at_destroy = teardown(self.m, self.report)
        for pool, inflight in self.inflight_at_destroy.items():
            if inflight > 0:
                self.log.warning("pool shutdown stalled", pool=pool, inflight=inflight)
        result = final_audit(self.arena, self.scheme)
        self.audits += 1
        self.report_audit(result)

    def stop_workers(self) -> None:
        self.set_state(RUN_STOP)
        for p in self.procs:
            p.join(0.5)
        for w, p in enumerate(self.procs):
            if p.exitcode is None:
                self.sample_health(w, p)
                p.kill()
                p.join(1.0)
            self.health.setdefault(w, {})["exitcode"] = p.exitcode

    def sample_health(self, w: int, p: Any) -> None:
        try:
            proc = psutil.Process(p.pid)
            with proc.oneshot():
                cpu = proc.cpu_times()
                sample = {"cpu_s": round(cpu.user + cpu.system, 3),
                          "rss_mb": round(proc.memory_info().rss / 2**20, 1)}
            self.health[w] = self.health.get(w, {}) | sample
        except psutil.Error:
            pass

    def sample_windows(self) -> None:
        """Count the contested windows in the trace rings (workers parked or done)."""
        L = self.arena.layout
        if L.config.trace_entries:
            self.contests.sample([ring_records(self.arena.words, L, w)
                                  for w in range(L.config.nworkers)])

    def dump_traces(self) -> None:
        L = self.arena.layout
        if not L.config.trace_entries:
            return
        rings = {f"worker_{w}": ring_records(self.arena.words, L, w)
                 for w in range(L.config.nworkers)}
        self.run_dir.save_npz("traces.npz", rings)

    def write_summary(self) -> dict[str, Any]:
        summary = self.summarize()
        self.run_dir.write_json("summary.json", summary)
        return summary

    def summarize(self) -> dict[str, Any]:
        counts = self.all_counts()
        first = self.worker_first()
        for kind, t in self.first.items():
            first[kind] = min(first.get(kind, t), t)
        race_t0 = getattr(self, "race_t0", self.t0)
        duration = getattr(self, "race_elapsed", time.monotonic() - race_t0)
        ops = self.total_ops()
        pools = []
        L, words = self.arena.layout, self.arena.words
        race_lost = self.released_shared_race
        for k in range(L.config.npools):
            base = L.pool(k)
            cache, ring, released = (int(words[base + off]) for off in
                                     (POOL_RECYCLED_CACHE, POOL_RECYCLED_RING,
                                      POOL_RECYCLE_RELEASED))
            total = cache + ring + released
            pools.append({"pool": k, "recycled_cache": cache, "recycled_ring": ring,
                          "released": released,
                          "released_ring_full": int(words[base + POOL_RING_FULL]),
                          "released_shared": int(words[base + POOL_RELEASED_SHARED]),
                          "released_shared_race": race_lost[k] if race_lost else None,
                          "recycle_ratio": round((cache + ring) / total, 4) if total else None,
                          "inflight_at_destroy": self.inflight_at_destroy.get(k)})
        windows = self.contests.summary()
        contenders = sorted({a.role for a in self.plan.actors if ROLES[a.role].SPECULATIVE})
        summary = {
            "scenario": self.scn.name, "claim": self.scn.claim, "seed": self.seed,
            "scenario_file": self.scn.path,
            "verdict": verdict(self.scn.expect, counts, bool(self.errors),
                               lost_recycles=sum(race_lost) if race_lost else None,
                               windows=windows if contenders else None),
            "expected": self.scn.expect.describe(), "anomalies": counts,
            "first_detection_s": {k: round(v - (race_t0 - self.t0), 4)
                                  for k, v in sorted(first.items())},
            "ops": ops, "ops_per_s": round(ops / duration) if duration > 0 else 0,
            "workers": L.config.nworkers, "duration_s": round(duration, 3),
            "audits": self.audits,
            "audit_ms_max": round(max(self.audit_ms), 2) if self.audit_ms else None,
            "backend": self.scn.backend, "scheme": self.scheme.name,
            "delays_us": dict(self.scn.model.delays), "windows": windows,
            "contenders": contenders,
            "pools": pools, "health": self.health, "errors": self.errors,
            "interrupted": self.interrupted, "run_dir": str(self.run_dir.path),
            "pids": {"supervisor": os.getpid(), "workers": [p.pid for p in self.procs]},
        }
        return summary
