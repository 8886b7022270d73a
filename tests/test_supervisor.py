"""The supervisor in-process: a bug of the harness itself is a verdict, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.memory.arena import arena_path
from stress.processes.supervisor import Supervisor
from stress.runrecord import Event
from stress.runs.rundir import RunDir
from stress.scenario import load_scenario

DATA = Path(__file__).parent / "data"


def test_harness_exception_is_an_error_verdict(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside the supervisor ends the run with verdict error and no leftovers."""
    run_dir = RunDir.create(tmp_path, "run", 1)
    sup = Supervisor(load_scenario(DATA / "clean_pg_network.toml"), 1, run_dir)

    def broken(*args: object) -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(sup.fleet, "start", broken)
    s = sup.run()
    assert s.verdict == "error" and s.errors == ["harness error: RuntimeError('injected')"]
    assert sup.arena is not None and not arena_path(sup.arena.name).exists()
    assert Event.HARNESS_ERROR in (run_dir / "supervisor.jsonl").read_text()


def _stall_worker(monkeypatch: pytest.MonkeyPatch, stalled: int, how: str) -> None:
    """Make worker `stalled` never become ready; the fork start method carries the patch."""
    import os
    import signal

    from stress.processes import fleet

    real = fleet.worker_main

    def worker_main(handle: object, scn: object, specs: object, w: int, *args: object) -> None:
        if w == stalled:
            if how == "stop":
                os.kill(os.getpid(), signal.SIGSTOP)
            signal.pause()  # never ready: blocked until the supervisor kills it
        real(handle, scn, specs, w, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(fleet, "worker_main", worker_main)


@pytest.mark.parametrize(("how", "why"), [("sleep", "not ready"), ("stop", "stopped for")])
def test_worker_that_never_gets_ready_is_a_hang_in_seconds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, how: str, why: str) -> None:
    """A worker not ready long after its sibling, or stopped, is a worker-hang, not a 30 s wait."""
    _stall_worker(monkeypatch, 1, how)
    scn = load_scenario(DATA / "long.toml")
    sup = Supervisor(scn, 1, RunDir.create(tmp_path, "run", 1), start_method="fork")
    s = sup.run()
    assert s.verdict == "error" and s.anomalies == {"worker-hang": 1}, s
    [error] = s.errors
    assert error.startswith(f"worker-hang: worker 1: {why}") and "nothing logged yet" in error
    assert s.ops == 0  # the race never started: no worker raced alone
    assert sup.arena is not None and not arena_path(sup.arena.name).exists()
