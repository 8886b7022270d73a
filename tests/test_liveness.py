"""A killed command's zombie counts as gone: its workers and jobs must not wait for it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

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


def _ignore_sigterm() -> int:
    """Make this pool worker outlive a SIGTERM, as one whose signal was lost does."""
    import signal

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return os.getpid()


@pytest.mark.parametrize("done", [False, True], ids=["cut-short", "done"])
def test_an_explorer_pool_never_waits_for_ever_on_a_worker(done: bool) -> None:
    """A pool worker that outlives its SIGTERM (one can: a signal that came as its job
    ended is dropped when the default handler is back) is killed after the grace, and
    the pool ends; the pool's own terminate would wait in its join for ever."""
    import threading

    from stress.explore.runner import _end_pool, _pool

    pool_cm = _pool(1)
    pool = pool_cm.__enter__()
    pid = pool.apply(_ignore_sigterm)
    ender = threading.Thread(target=_end_pool, args=(pool, done, 0.5), daemon=True)
    t0 = time.monotonic()
    ender.start()
    ender.join(60)
    assert not ender.is_alive(), "the pool's end waited on the worker"
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
    assert time.monotonic() - t0 < 60
