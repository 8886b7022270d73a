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


def _sigterm_handler_name() -> str:
    """What a pool worker does with SIGTERM between jobs (run in the worker)."""
    import signal

    h = signal.getsignal(signal.SIGTERM)
    return getattr(h, "__name__", str(h))


def test_an_explorer_pool_worker_unwinds_on_sigterm_between_jobs_too() -> None:
    """The pool's terminate must end a worker whatever it is doing: its SIGTERM handler
    stays the explorer's after a job (a default put back there lost a signal that came
    just before, and the command waited forever for the idle worker)."""
    from dataclasses import replace

    from stress.explore.runner import _job_main, _pool
    from stress.scenario import load_scenario

    scn = load_scenario(os.path.join(os.path.dirname(__file__), os.pardir, "scenarios",
                                     "c08-driver-ref-own-pages.toml"))
    scn = replace(scn, explore=replace(scn.explore, strategy="dfs"))
    with _pool(1) as pool:
        pool.apply(_job_main, (scn, 1, 0.2, 0, 1, os.getpid(), None))  # one job, done
        assert pool.apply(_sigterm_handler_name) == "_terminated"
        pool.terminate()
        pool.join()  # (would wait forever for a worker that outlived its SIGTERM)
