"""The supervisor in-process: a bug of the harness itself is a verdict, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.memory.arena import arena_path
from stress.processes.rundir import RunDir
from stress.processes.supervisor import Supervisor
from stress.scenario import load_scenario

DATA = Path(__file__).parent / "data"


def test_harness_exception_is_an_error_verdict(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """An exception inside the supervisor ends the run with verdict error and no leftovers."""
    run_dir = RunDir.create(tmp_path, "run", 1)
    sup = Supervisor(load_scenario(DATA / "clean_pg_network.toml"), 1, run_dir)

    def broken() -> None:
        raise RuntimeError("injected")

    monkeypatch.setattr(sup, "start_workers", broken)
    s = sup.run()
    assert s["verdict"] == "error" and s["errors"] == ["harness error: RuntimeError('injected')"]
    assert not arena_path(sup.arena.name).exists()
    assert "harness error" in (run_dir / "supervisor.jsonl").read_text()
