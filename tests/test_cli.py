"""The command line's contract: usage errors are one line and exit code 2; list and bench."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import stress
from stress.surfaces.cli import EXIT_USAGE, build_parser, main

pytestmark = pytest.mark.xdist_group("e2e")  # the benches want both cores

BAD_USAGE = [[], ["frobnicate"], ["bench", "--repeat", "0"], ["bench", "atomics", "--calls", "0"],
             ["bench", "atomics", "--calls", "many"]]


@pytest.mark.parametrize("argv", BAD_USAGE)
def test_usage_errors_are_one_line_exit_2(argv: list[str], capsys) -> None:
    """Bad usage prints a single line on stderr and exits 2, never a traceback."""
    assert main(argv) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("pagerace") and "Traceback" not in err


def test_bench_atomics_json(tmp_path) -> None:
    """`pagerace bench atomics --json` reports every backend with a positive time per call."""
    out = subprocess.run([sys.executable, "-m", "stress", "bench", "atomics", "--calls", "20000",
                          "--repeat", "1", "--json"], capture_output=True, text=True, check=True,
                         cwd=tmp_path)  # not the source tree: test the installed package
    data = json.loads(out.stdout)
    assert {b["backend"] for b in data["backends"]} == {"atomic", "locked", "racy"}
    assert all(b["ns_per_call_1p"] > 0 and b["ns_per_call_2p"] > 0 for b in data["backends"])


def test_list_shows_every_scenario_of_the_suite(tmp_path) -> None:
    """`pagerace list` reads scenarios/ and shows claims and expectations."""
    (tmp_path / "scenarios").mkdir()
    src = Path(__file__).parent / "data" / "clean_pg_network.toml"
    (tmp_path / "scenarios" / "a.toml").write_text(src.read_text())
    out = subprocess.run([sys.executable, "-m", "stress", "list"], capture_output=True,
                         text=True, check=True, cwd=tmp_path, env=os.environ | {"COLUMNS": "200"})
    assert "test-clean-pg-network" in out.stdout and "C1" in out.stdout
    assert "clean" in out.stdout


def test_bench_harness_json_keys(tmp_path) -> None:
    """`pagerace bench --json` gives the keys the issue names, each a positive number."""
    out = subprocess.run([sys.executable, "-m", "stress", "bench", "--repeat", "1",
                          "--duration", "0.3", "--json"], capture_output=True, text=True,
                         check=True, cwd=tmp_path, timeout=300)
    data = json.loads(out.stdout)
    for key in ("ops_per_s_per_worker", "ops_per_s_per_worker_unchecked", "atomic_call_ns",
                "audit_ms_1m", "scan_ms_1m", "scaling_2_over_1"):
        assert data[key] > 0, key
    assert data["build"] == stress.BUILD.name  # which build the figures are of


@pytest.mark.parametrize(("argv", "keys"), [
    (["bench", "--duration", "0.05", "explore", "--repeat", "1", "--json"],
     ("points_per_s_inline", "points_per_s_audit", "points_per_s_jobs_2")),
    (["bench", "inline", "--ops", "2000", "--repeat", "1", "--json"],
     ("ops_per_s_checked", "ns_per_op_checked", "ops_per_s_unchecked")),
])
def test_bench_explore_and_inline_json(argv: list[str], keys: tuple[str, ...],
                                       tmp_path: Path) -> None:
    """`bench explore` and `bench inline` give their figures, and say which build made them."""
    out = subprocess.run([sys.executable, "-m", "stress", *argv], capture_output=True,
                         text=True, check=True, cwd=tmp_path, timeout=300)
    data = json.loads(out.stdout)
    assert all(data[k] > 0 for k in keys), data
    assert data["build"] == stress.BUILD.name


@pytest.mark.parametrize("argv", [["bench", "--repeat", "3", "--json", "atomics"],
                                  ["bench", "atomics", "--repeat", "3", "--json"]])
def test_bench_options_count_on_either_side_of_atomics(argv: list[str]) -> None:
    """`bench --repeat 3 atomics` and `bench atomics --repeat 3` mean the same."""
    args = build_parser().parse_args(argv)
    assert (args.what, args.repeat, args.json, args.start_method) == (
        "atomics", 3, True, "forkserver")


@pytest.mark.parametrize("argv", [["bench", "--duration", "0.5", "explore"],
                                  ["bench", "explore", "--duration", "0.5"]])
def test_bench_explore_takes_duration_on_either_side(argv: list[str]) -> None:
    """`bench explore --duration S`, as the README writes it, means `bench --duration S
    explore`; without it, the bench's default."""
    assert build_parser().parse_args(argv).duration == 0.5
    assert build_parser().parse_args(["bench", "explore"]).duration == 1.0


# Where the output goes can fail too: one line, exit 3, never a traceback.

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full here")
@pytest.mark.parametrize("command", [["list"], ["schema"], ["roles"]])
def test_a_full_output_is_one_line(command: list[str]) -> None:
    """Standard output on a full device: the reason in one line on stderr, exit 3."""
    with open("/dev/full", "w") as full:
        res = subprocess.run([sys.executable, "-m", "stress", *command], cwd=ROOT, stdout=full,
                             stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 3
    assert res.stderr.strip() == "pagerace: cannot write the output (No space left on device)"


def test_a_closed_output_is_one_line() -> None:
    """Started with standard output closed (>&-): said so, exit 3, not exit 0 with the
    output lost."""
    res = subprocess.run(f"'{sys.executable}' -m stress list >&-", shell=True, cwd=ROOT,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 3 and "standard output is closed" in res.stderr
    assert "Traceback" not in res.stderr


def test_a_reader_that_goes_away_is_one_line() -> None:
    """The output's reader has gone (a pipe with no reader): one line, exit 3, no traceback."""
    r, w = os.pipe()
    os.close(r)
    try:
        res = subprocess.run([sys.executable, "-m", "stress", "list"], cwd=ROOT, stdout=w,
                             stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(w)
    assert res.returncode == 3, res.stderr
    assert "reader went away" in res.stderr and "Traceback" not in res.stderr


def test_explore_jobs_are_admitted_against_the_cpus(capsys: pytest.CaptureFixture[str]) -> None:
    """--jobs 256 on this machine: refused in one line naming its CPUs, before any work."""
    assert main(["explore", "--jobs", "256", "--strategy", "random"]) == EXIT_USAGE
    err = capsys.readouterr().err.strip()
    assert f"this machine has {os.cpu_count()} CPU" in err and "\n" not in err


def test_an_interrupt_while_the_command_loads_is_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    """Ctrl-C (or SIGTERM, which the entry point turns into it) while the command line is
    still being imported: 'pagerace: interrupted', exit 130, no traceback."""
    import signal

    from stress.surfaces import entry

    class Interrupting:
        def find_spec(self, name: str, path: object, target: object = None) -> None:
            if name == "stress.surfaces.cli":
                raise KeyboardInterrupt

    monkeypatch.delitem(sys.modules, "stress.surfaces.cli")
    monkeypatch.setattr(sys, "meta_path", [Interrupting(), *sys.meta_path])
    before = signal.getsignal(signal.SIGTERM)
    try:
        assert entry.main(["list"]) == 130
        assert signal.getsignal(signal.SIGTERM) is entry._terminate
    finally:
        signal.signal(signal.SIGTERM, before)
    assert capsys.readouterr().err == "pagerace: interrupted\n"
