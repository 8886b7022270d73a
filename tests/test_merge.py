"""One result from many jobs: `pagerace merge`, JUnit XML, and the outputs CI reads."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from e2e import DATA, pagerace

from stress.summary import ExploreSummary, StressSummary
from stress.surfaces.cli import main
from stress.surfaces.results import EXIT_ERROR, EXIT_FAIL, EXIT_OK, EXIT_USAGE

ROOT = Path(__file__).parent.parent


def _summary(out: Path, name: str, seed: int, verdict: str, **extra: object) -> None:
    d = out / f"{name}-s{seed}"
    d.mkdir(parents=True)
    s = {"scenario": name, "claim": "C1", "seed": seed, "verdict": verdict,
         "expected": "clean", "anomalies": {} if verdict == "pass" else {"lost-update": 2},
         "first_detection_s": {}, "ops": 10, "ops_per_s": 10, "workers": 2,
         "duration_s": 0.5, "audits": 1, "errors": [], "run_dir": str(d)} | extra
    (d / "summary.json").write_text(json.dumps(s))


@pytest.mark.parametrize(("verdicts", "code"), [
    (["pass", "pass"], EXIT_OK), (["pass", "fail"], EXIT_FAIL), (["fail", "error"], EXIT_ERROR),
])
def test_merge_exits_as_one_run_would(tmp_path: Path, verdicts: list[str], code: int,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Shards' verdicts combine: any error is 3, else any fail is 1, else 0."""
    for k, v in enumerate(verdicts):
        _summary(tmp_path / f"shard{k}", f"s{k}", 1, v)
    junit = tmp_path / "j.xml"
    assert main(["merge", str(tmp_path / "shard0"), str(tmp_path / "shard1"),
                 "--junitxml", str(junit)]) == code
    out = capsys.readouterr().out
    passed = verdicts.count("pass")
    assert out.rstrip().splitlines()[-1] == f"pagerace: {passed} passed, {2 - passed} failed"
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None and suite.get("tests") == "2"
    assert suite.get("failures") == str(verdicts.count("fail"))
    assert suite.get("errors") == str(verdicts.count("error"))


def test_merge_shows_reliability_when_seeds_repeat(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The same scenario under several seeds across jobs gets the reliability table too."""
    _summary(tmp_path / "a", "c01", 1, "pass")
    _summary(tmp_path / "b", "c01", 2, "fail")
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "b")]) == EXIT_FAIL
    out = capsys.readouterr().out
    assert "reliability over seeds" in out and "50%" in out


def test_a_folder_named_twice_counts_once(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A run reached through its --out folder and its own directory is one run."""
    _summary(tmp_path / "a", "c01", 1, "pass")
    assert main(["merge", str(tmp_path / "a"), str(tmp_path / "a" / "c01-s1")]) == EXIT_OK
    assert "pagerace: 1 passed, 0 failed" in capsys.readouterr().out


@pytest.mark.parametrize(("setup", "needle"), [
    ("missing", "no such directory"),
    ("empty", "no run directories in it"),
    ("corrupt", "summary.json: not JSON"),
])
def test_merge_bad_input_is_one_line(tmp_path: Path, setup: str, needle: str,
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A folder that is missing, holds no runs or a broken summary: one line, exit 2."""
    d = tmp_path / "d"
    if setup != "missing":
        d.mkdir()
    if setup == "corrupt":
        (d / "r").mkdir()
        (d / "r" / "summary.json").write_text("{\"scenario\": ")
    assert main(["merge", str(d)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


@pytest.mark.xdist_group("e2e")
def test_shards_merge_into_one_junit_file(tmp_path: Path) -> None:
    """Two real runs in two --out folders merge into one table and one JUnit file."""
    for k, out in ((1, "a"), (2, "b")):
        res = pagerace("run", str(DATA / "clean_pg_network.toml"), "--duration", "0.3",
                       "--seed", str(k), "--out", out, "--junitxml", f"{out}.xml", cwd=tmp_path)
        assert res.returncode == 0, res.stdout + res.stderr
        assert ET.parse(tmp_path / f"{out}.xml").getroot()[0].get("tests") == "1"
    res = pagerace("merge", "a", "b", "--junitxml", "all.xml", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    cases = ET.parse(tmp_path / "all.xml").getroot().iter("testcase")
    assert sorted(c.get("name") for c in cases) == [
        "test-clean-pg-network[seed=1]", "test-clean-pg-network[seed=2]"]


def test_narrow_verdict_table_never_cuts_a_name(capsys: pytest.CaptureFixture[str]) -> None:
    """At 80 columns the table drops throughput and timing, and folds instead of cutting."""
    from rich.console import Console

    from stress.surfaces.results import verdict_table

    name = "c02-dtor-ref1-tryget-with-a-long-name"
    s = StressSummary(scenario=name, claim="C2", seed=1, verdict="pass",
                      expected="detect misrouted-free | use-after-free | double-free",
                      anomalies={"misrouted-free": 123456, "use-after-free": 3},
                      first_detection_s={"misrouted-free": 0.001}, ops_per_s=900000, audits=8)
    console = Console(width=80, file=sys.stdout, color_system=None)
    console.print(verdict_table([s], console.width))
    out = capsys.readouterr().out
    assert max(len(line) for line in out.splitlines()) <= 80
    assert "…" not in out and "ops/s" not in out and "pass" in out
    assert name in out  # on one line: the scenario column is as wide as the longest name


def test_version_and_list_json(tmp_path: Path) -> None:
    """`pagerace --version` answers; `list --json` is every scenario, whole, through a pipe."""
    env = os.environ | {"COLUMNS": "80"}
    version = subprocess.run([sys.executable, "-m", "stress", "--version"], capture_output=True,
                             text=True, cwd=tmp_path, env=env)
    assert version.returncode == 0 and version.stdout.startswith("pagerace ")
    listed = subprocess.run([sys.executable, "-m", "stress", "list", "--json"],
                            capture_output=True, text=True, cwd=ROOT, env=env, check=True)
    data = json.loads(listed.stdout)
    assert {d["file"] for d in data} == {f"scenarios/{p.name}"
                                         for p in (ROOT / "scenarios").glob("*.toml")}
    table = subprocess.run([sys.executable, "-m", "stress", "list"], capture_output=True,
                           text=True, cwd=ROOT, env=env, check=True).stdout
    assert all(d["name"] in table for d in data)  # piped: whole, not cut at 80 columns


def test_python_m_stress_works_from_the_repository_root() -> None:
    """From a checkout's root the source tree shadows the package; the command still runs."""
    res = subprocess.run([sys.executable, "-m", "stress", "--version"], capture_output=True,
                         text=True, cwd=ROOT)
    assert res.returncode == 0 and res.stdout.startswith("pagerace "), res.stderr
    # ... and says the installed build, not the checkout's pure sources.
    expected = os.environ.get("PAGERACE_EXPECT_BUILD")
    if expected:
        assert f"({expected} build" in res.stdout, res.stdout


def test_a_failed_run_names_its_reproducer() -> None:
    """A failed stress run points at the explorer, an explorer run at its token, else nothing."""
    from stress.surfaces.results import reproducer

    def stress(file: str | None) -> StressSummary:
        return StressSummary(scenario="c10", seed=1, verdict="fail", expected="clean",
                             scenario_file=file)

    def explored(token: str | None) -> ExploreSummary:
        return ExploreSummary(scenario="c10", seed=1, verdict="fail", expected="clean",
                              strategy="pct", token=token)

    assert reproducer(stress("s/c10.toml")) == (
        "a deterministic, minimal reproducer: pagerace explore s/c10.toml")
    assert reproducer(explored("T1")) == "pagerace replay 'T1'"
    assert reproducer(explored(None)) is None
    assert reproducer(stress(None)) is None
