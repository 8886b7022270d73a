"""The worker processes of one run: started, watched through psutil, stopped."""

from __future__ import annotations

import json
import os
import signal
from typing import Any

import psutil

from stress.memory import Arena
from stress.processes.worker import EXIT_LOG_FAILED, worker_main
from stress.runs import forkserver, tempdir
from stress.runs.plan import Plan
from stress.runs.rundir import RunDir
from stress.scenario import Scenario


def how_it_ended(code: int) -> str:
    if code < 0:
        return f"killed by signal {signal.Signals(-code).name}"
    if code == EXIT_LOG_FAILED:
        return "could not write its log (exit code 5)"
    return f"exited with code {code}"


class Fleet:
    """The workers, their exit codes and their health samples (cpu, rss)."""

    def __init__(self, run_dir: RunDir) -> None:
        self.run_dir = run_dir
        self.procs: list[Any] = []
        self.health: dict[int, dict[str, Any]] = {}

    def start(self, arena: Arena, scn: Scenario, plan: Plan, start_method: str) -> None:
        ctx = forkserver.context(start_method)
        handle = arena.handle()
        tmp = tempdir.claim()
        for w, seed in enumerate(plan.worker_seeds):
            p = ctx.Process(target=worker_main, name=f"pagerace-worker-{w}", daemon=True,
                            args=(handle, scn, plan.actors, w, seed,
                                  str(self.run_dir.path), os.getpid(), tmp))
            p.start()
            self.procs.append(p)

    @property
    def pids(self) -> list[int]:
        return [p.pid for p in self.procs]

    @property
    def sentinels(self) -> list[Any]:
        return [p.sentinel for p in self.procs]

    def exited(self) -> list[tuple[int, str]]:
        """(worker, how it ended) for every worker that is gone."""
        return [(w, f"pid {p.pid} {how_it_ended(p.exitcode)}")
                for w, p in enumerate(self.procs) if p.exitcode is not None]

    def status(self, w: int) -> str:
        try:
            return str(psutil.Process(self.procs[w].pid).status())
        except psutil.Error:
            return "gone"

    def last_words(self, w: int) -> str:
        """What a worker was doing, for a hang report: its state and its last log record."""
        status = self.status(w)
        last = "nothing logged yet"
        try:
            lines = (self.run_dir / f"worker-{w}.jsonl").read_bytes().splitlines()
            rec = json.loads(lines[-1]) if lines else None
            if rec:
                last = f"last logged {rec.get('event')!r} at {rec.get('timestamp')}"
        except (OSError, ValueError):
            pass
        return f"process {status}, {last}"

    def join(self, w: int, timeout: float) -> int | None:
        """Wait for worker `w` to exit; its exit code, or None if it has not."""
        p = self.procs[w]
        p.join(timeout)
        return p.exitcode  # type: ignore[no-any-return]

    def stop(self) -> None:
        """Whatever has not exited within half a second is killed (after a last sample)."""
        for p in self.procs:
            p.join(0.5)
        for w, p in enumerate(self.procs):
            if p.exitcode is None:
                self.sample_health(w)
                p.kill()
                p.join(1.0)
            self.health.setdefault(w, {})["exitcode"] = p.exitcode

    def sample_health(self, w: int) -> None:
        try:
            proc = psutil.Process(self.procs[w].pid)
            with proc.oneshot():
                cpu = proc.cpu_times()
                sample = {"cpu_s": round(cpu.user + cpu.system, 3),
                          "rss_mb": round(proc.memory_info().rss / 2**20, 1)}
            self.health[w] = self.health.get(w, {}) | sample
        except psutil.Error:
            pass

    def sample_all(self) -> None:
        for w in range(len(self.procs)):
            self.sample_health(w)
