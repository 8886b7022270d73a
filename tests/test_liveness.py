"""A killed command's zombie counts as gone: its workers and jobs must not wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil

from stress.runs.liveness import gone


def test_a_zombie_is_gone_and_we_are_not() -> None:
    """An exited, unreaped child is gone (kill(pid, 0) would still find it); we are alive."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    deadline = time.monotonic() + 60
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() < deadline, "the child never exited"
        time.sleep(0.01)
    os.kill(child.pid, 0)  # (what the workers used to ask: it says the zombie exists)
    assert gone(child.pid)
    child.wait()
    assert gone(child.pid)  # reaped: no such process
    assert not gone(os.getpid())
