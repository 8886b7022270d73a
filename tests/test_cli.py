"""The command line's contract: usage errors are one line and exit code 2."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from stress.surfaces.cli import EXIT_USAGE, main

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
