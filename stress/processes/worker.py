"""The worker process: run its actors' operations in batches, obey the run state word.

Between batches a worker bumps its heartbeat and op counter.  On a pause it
finishes the current operation, publishes its ledger and parks; on drain it
drops every reference its actors hold and exits.  It exits on its own when the
supervisor is gone.  Nothing here imports the surfaces.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from stress._atomic import monotonic_ns
from stress.anomalies import PageBug
from stress.memory import Arena, ArenaHandle
from stress.memory.arena import arena_path
from stress.memory.layout import (
    G_PAUSE_EPOCH,
    G_RUN_STATE,
    RUN_DRAIN,
    RUN_PAUSE,
    RUN_RUNNING,
    RUN_STOP,
    W_HEARTBEAT,
    W_LEDGER_LEN,
    W_OPS,
    W_PARKED_EPOCH,
    W_PID,
)
from stress.model import Machine
from stress.model.ptr_ring import RingStuck
from stress.processes.loop import SCHEDULE_BITS, run_batch
from stress.processes.reporting import WorkerReporter
from stress.roles import ROLES, Actor, ActorSpec, build_schedule
from stress.runrecord import Event
from stress.runs.liveness import gone
from stress.runs.logs import open_log
from stress.runs.rundir import OutputError, RunDir
from stress.scenario import Scenario
from stress.schemes import load_scheme

# Exit codes the supervisor explains (anything else is a crash with a traceback in the log).
EXIT_SUPERVISOR_GONE = 4
EXIT_LOG_FAILED = 5
ALIVE_CHECK_EVERY = 64  # batches between checks that the supervisor still exists


class SupervisorGone(Exception):
    pass


class Worker:
    def __init__(self, arena: Arena, scn: Scenario, specs: Sequence[ActorSpec], w: int,
                 seed: int, log: object, supervisor_pid: int) -> None:
        self.arena = arena
        self.scn = scn
        self.w = w
        self.sys = arena.atomic
        self.ctrl = arena.layout.worker(w)
        self.state_slot = arena.layout.globals + G_RUN_STATE
        self.epoch_slot = arena.layout.globals + G_PAUSE_EPOCH
        self.supervisor_pid = supervisor_pid
        scheme = load_scheme(scn.model.scheme, probe=False)  # (the parent probed it)
        self.reporter = WorkerReporter(arena, w, log, {"scheme": scheme.name, "seed": seed})
        self.m = Machine(arena, scn.model, scheme, self.reporter, worker=w,
                         trace=scn.run.trace, checks=scn.run.checks)
        rng = random.Random(seed)
        self.getrandbits = rng.getrandbits
        self.actors: list[Actor] = [ROLES[s.role](self.m, rng, s) for s in specs if s.worker == w]
        ops = [op for a in self.actors for op in a.ops()]
        self.schedule: list[Callable[[], None]] = build_schedule(ops, SCHEDULE_BITS) if ops else []

    def heartbeat(self) -> None:
        self.sys.store(self.ctrl + W_HEARTBEAT, monotonic_ns())

    def check_supervisor(self) -> None:
        if gone(self.supervisor_pid):  # (a killed supervisor's zombie counts as gone)
            raise SupervisorGone

    def publish_ledger(self) -> None:
        base = self.arena.layout.ledger(self.w)
        cap = self.arena.layout.config.ledger_size
        n = 0
        for a in self.actors:
            for p in a.references():
                if n == cap:
                    raise RuntimeError(f"worker {self.w}: ledger overflows {cap} references")
                self.sys.store(base + n, p)
                n += 1
        self.sys.store(self.ctrl + W_LEDGER_LEN, n)

    def park(self) -> None:
        """Stop-the-world: publish the ledger, wait while the supervisor audits."""
        sys_, parked = self.sys, -1
        k = 0
        while sys_.load(self.state_slot) == RUN_PAUSE:
            epoch = sys_.load(self.epoch_slot)
            if epoch != parked:
                self.publish_ledger()
                sys_.store(self.ctrl + W_PARKED_EPOCH, epoch)
                parked = epoch
            self.heartbeat()
            time.sleep(0.0002)
            k += 1
            if k % 1000 == 0:
                self.check_supervisor()

    def ring_stuck(self, e: RingStuck) -> None:
        """A damaged ring is a finding: report it and abandon the operation."""
        self.reporter(e.anomaly(self.w))
        self.heartbeat()  # reporting is progress, not a hang

    def drain(self) -> None:
        for a in self.actors:
            for _ in range(1000):
                try:
                    a.drain()
                    break
                except PageBug:
                    continue
                except RingStuck as e:
                    self.ring_stuck(e)
                    break
        self.sys.store(self.ctrl + W_LEDGER_LEN, 0)

    def run(self) -> None:
        sys_, ctrl = self.sys, self.ctrl
        state_slot = self.state_slot
        schedule, getrandbits = self.schedule, self.getrandbits
        batch = self.scn.run.batch
        limit = self.scn.run.ops
        done = 0
        batches = 0
        sys_.store(ctrl + W_PID, os.getpid())
        while True:
            state = sys_.load(state_slot)
            if state == RUN_RUNNING and schedule and not (limit and done >= limit):
                run_batch(schedule, getrandbits, batch, self.ring_stuck)
                done += batch
                sys_.store(ctrl + W_OPS, done)
                sys_.store(ctrl + W_HEARTBEAT, monotonic_ns())
            elif state == RUN_PAUSE:
                self.park()
            elif state == RUN_DRAIN:
                self.drain()
                return
            elif state == RUN_STOP:
                return
            else:  # starting, out of work, or waiting for the others to finish
                self.heartbeat()
                time.sleep(0.0005)
            batches += 1
            if batches % ALIVE_CHECK_EVERY == 0:
                self.check_supervisor()


def worker_main(handle: ArenaHandle, scn: Scenario, specs: Sequence[ActorSpec], w: int,
                seed: int, run_dir: str, supervisor_pid: int, mp_tempdir: str) -> None:
    """Process entry point."""
    # Ctrl-C reaches the whole process group: the supervisor alone decides how to stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        logfile = RunDir(Path(run_dir)).open_log(f"worker-{w}.jsonl")
    except OutputError:
        sys.exit(EXIT_LOG_FAILED)
    log = open_log(logfile, worker=w, pid=os.getpid())
    arena = Arena.attach(handle)
    worker = None
    try:
        log.info(Event.WORKER_STARTED, seed=seed, actors=[s.role for s in specs if s.worker == w])
        worker = Worker(arena, scn, specs, w, seed, log, supervisor_pid)
        worker.run()
        worker.reporter.close()
        log.info(Event.WORKER_FINISHED, ops=arena.atomic.load(arena.layout.worker(w) + W_OPS))
    except SupervisorGone:
        # Nobody is left to remove the arena and the forkserver's directory: the workers
        # do (both idempotent; a worker still mapping the arena keeps it until it exits).
        arena_path(handle.name).unlink(missing_ok=True)
        shutil.rmtree(mp_tempdir, ignore_errors=True)
        log.error("supervisor gone, exiting")
        sys.exit(EXIT_SUPERVISOR_GONE)
    except OutputError:
        # Its log is the one thing that failed; the supervisor says so from the exit code.
        sys.exit(EXIT_LOG_FAILED)
    except BaseException:
        log.exception(Event.WORKER_CRASHED)
        raise
    finally:
        if worker is not None:
            del worker
        arena.close()
        logfile.close()
