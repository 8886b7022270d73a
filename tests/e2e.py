"""Helpers for end-to-end tests: run the installed `pagerace` command in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from stress.runrecord import Event

DATA = Path(__file__).parent / "data"


def pagerace(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stress", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=os.environ | {"COLUMNS": "200"})


# Commands started in the background by the test running now: whatever it leaves alive
# (a failed assertion before its wait) conftest's `no_leftover_commands` kills.
STARTED: list[subprocess.Popen[str]] = []


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-m", "stress", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    STARTED.append(proc)
    return proc


def kill_leftovers() -> list[int]:
    """Kill every command `start` began that still runs, with its children; their pids."""
    import psutil

    left = []
    while STARTED:
        proc = STARTED.pop()
        if proc.poll() is not None:
            continue
        left.append(proc.pid)
        try:
            family = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(True)]
        except psutil.NoSuchProcess:
            continue
        for p in family:
            try:
                p.kill()
            except psutil.NoSuchProcess:
                pass
        proc.communicate()
    return left


def summaries(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/summary.json"))]


def records(log: Path) -> list[dict[str, Any]]:
    """The complete JSON lines of a log so far (a line being written is not one yet)."""
    out = []
    for line in log.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            break
    return out


def wait_for_event(out: Path, event: str, until: Any = lambda rec: True,
                   timeout: float = 120) -> tuple[Path, dict[str, Any]]:
    """The run directory and the first supervisor record of `event` that satisfies `until`.

    Waits for what the harness logs, never for a fixed time: a loaded machine
    only makes it come later.  The timeout is a backstop for a run that broke.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in out.glob("*/supervisor.jsonl"):
            for rec in records(log):
                if rec.get("event") == event and until(rec):
                    return log.parent, rec
        time.sleep(0.02)
    raise TimeoutError(f"no {event!r} record in {out} within {timeout} s")


def wait_until_racing(out: Path) -> tuple[Path, list[int]]:
    """The run directory and worker pids, once every worker's op counter has moved."""
    run_dir, started = wait_for_event(out, Event.WORKERS_STARTED)
    wait_for_event(out, Event.PROGRESS, lambda rec: all(n > 0 for n in rec.get("worker_ops", [0])))
    return run_dir, started["pids"]


def shm_files(tag: str = "pagerace.") -> list[str]:
    return [f for f in os.listdir("/dev/shm") if f.startswith(tag)]


def arena_of(run_dir: Path) -> str:
    return str(json.loads((run_dir / "manifest.json").read_text())["arena"])


def start_long_run(cwd: Path) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """A 60-second run in the background, once its workers race: (process, run dir, pids)."""
    proc = start("run", str(DATA / "long.toml"), "--out", "runs", cwd=cwd)
    run_dir, pids = wait_until_racing(cwd / "runs")
    return proc, run_dir, pids
