"""Helpers for end-to-end tests: run the installed `pagerace` command in a scratch directory."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


def pagerace(*args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stress", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=timeout, env=os.environ | {"COLUMNS": "200"})


def start(*args: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "stress", *args], cwd=cwd, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def summaries(out: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/summary.json"))]


def wait_for_workers(out: Path, timeout: float = 20) -> tuple[Path, list[int]]:
    """The run directory and worker pids, once the supervisor has logged them."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for log in out.glob("*/supervisor.jsonl"):
            for line in log.read_text().splitlines():
                rec = json.loads(line)
                if rec.get("event") == "workers started":
                    # Give the workers a moment to be racing, not just started.
                    time.sleep(0.5)
                    return log.parent, rec["pids"]
        time.sleep(0.05)
    raise TimeoutError("no run started")


def shm_files(tag: str = "pagerace.") -> list[str]:
    return [f for f in os.listdir("/dev/shm") if f.startswith(tag)]


def arena_of(run_dir: Path) -> str:
    return str(json.loads((run_dir / "manifest.json").read_text())["arena"])


def start_long_run(cwd: Path) -> tuple[subprocess.Popen[str], Path, list[int]]:
    """A 60-second run in the background, once its workers race: (process, run dir, pids)."""
    proc = start("run", str(DATA / "long.toml"), "--out", "runs", cwd=cwd)
    run_dir, pids = wait_for_workers(cwd / "runs")
    return proc, run_dir, pids
