"""Every input validated: one line naming the file, key and reason, exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from stress.scenario import ScenarioError, load_scenario
from stress.surfaces.cli import EXIT_USAGE, main

DATA = Path(__file__).parent / "data"
GOOD = (DATA / "clean_pg_network.toml").read_text()


def _with(text: str, old: str, new: str) -> str:
    assert old in text
    return text.replace(old, new, 1)


NAME = 'name = "test-clean-pg-network"'
CASES = [
    (_with(GOOD, NAME, 'name = "../../x"'), "name: '../../x' is not a portable name"),
    (_with(GOOD, NAME, 'name = "/etc/x"'), "name: '/etc/x' is not a portable name"),
    (_with(GOOD, NAME, f'name = "{"a" * 300}"'), "name: 300 characters, at most 64"),
    (_with(GOOD, NAME, 'name = "two\\nlines"'), "name: 'two\\nlines' is not a portable name"),
    (_with(GOOD, NAME, 'name = "\\u001b[31mred"'), "is not a portable name"),
    (_with(GOOD, NAME, 'name = ".hidden"'), "name: '.hidden' is not a portable name"),
    (_with(GOOD, 'claim = "C1"', 'claim = "C1\\u001b[2J"'),
     "claim: control character '\\x1b' at offset 2"),
    (_with(GOOD, "duration = 1.5", "duration = nan"), "run.duration: must be a finite number"),
    (_with(GOOD, "duration = 1.5", "duration = inf"), "run.duration: must be a finite number"),
    (_with(GOOD, "duration = 1.5", "duration = 1e9"), "run.duration: must be in [0.001, 604800]"),
    (_with(GOOD, "[run]", "[run]\nseeds = [3, -1]"), "run.seeds[1]: must be in [0, "),
    (_with(GOOD, "[run]", "[run]\nhang_timeout = 0.001"), "run.hang_timeout: must be in [0.1,"),
    (_with(GOOD, "workers = 2", "workers = 100000"), "run.workers: must be in [1, 1024]"),
    (_with(GOOD, "audit_interval = 0.25", "audit_interval = -inf"),
     "run.audit_interval: must be a finite number"),
    (_with(GOOD, "cache_slots = 64", "cache_slots = 0"), "model.cache_slots: must be in [1, "),
    (_with(GOOD, 'role = "zerocopy"', 'role = "zerocopy"\nmap_ratio = 2.0'),
     "roles[1].map_ratio: must be in [0, 1], got 2"),
    (_with(GOOD, 'role = "zerocopy"', 'role = "zerocopy"\nmix = {recv = nan}'),
     "roles[1].mix.recv: weight must be a finite number"),
    (GOOD + "\n[explore]\nsteps = 3\n", "explore.steps: unknown key (known: actors"),
    (GOOD + "\n[explore]\nstrategy = \"bfs\"\n",
     "explore.strategy: must be one of portfolio, random, pct, dfs, dpor, got 'bfs'"),
    (GOOD + "\n[explore]\nops = \"two\"\n", "explore.ops: expected int, got str 'two'"),
    (GOOD + "\n[explore]\npreemptions = 99\n", "explore.preemptions: must be in [0, 16]"),
    (GOOD + "\n[explore]\nqueue_size = 6\n", "explore.queue_size: must be a power of two"),
    (GOOD + "\n[explore]\npool_ring_size = 3\n",
     "explore.pool_ring_size: must be a power of two"),
]


@pytest.mark.parametrize(("text", "needle"), CASES, ids=[n for _, n in CASES])
def test_bad_value_names_file_key_and_reason(tmp_path: Path, text: str, needle: str) -> None:
    """A bad name, number or string in a scenario is a ScenarioError naming file and key."""
    path = tmp_path / "bad.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert str(e.value).startswith(f"{path}: ") and needle in str(e.value), str(e.value)
    assert "\n" not in str(e.value).rstrip("\n")


def test_the_unmodified_scenario_loads(tmp_path: Path) -> None:
    """The scenario every case above breaks is itself valid: each case fails for its reason."""
    path = tmp_path / "good.toml"
    path.write_text(GOOD, encoding="utf-8")
    assert load_scenario(path).name == "test-clean-pg-network"


@pytest.mark.parametrize(("data", "needle"), [
    ('name = "caf\u00e9"\n'.encode("latin-1"), "not UTF-8 text: byte 0xe9 at offset 11"),
    (bytes(range(256)), "not UTF-8 text: byte 0x80 at offset 128"),
])
def test_file_that_is_not_utf8_is_one_line(tmp_path: Path, data: bytes, needle: str,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """Latin-1 or binary scenario files are one line and exit 2 through the CLI."""
    path = tmp_path / "latin1.toml"
    path.write_bytes(data)
    assert main(["run", str(path)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err and needle in err, err


@pytest.mark.parametrize(("argv", "needle"), [
    (["--seed", "-1"], "--seed: must be in [0, "),
    (["--duration", "nan"], "--duration: must be a finite number"),
    (["--duration", "inf"], "--duration: must be a finite number"),
    (["--budget", "inf"], "--budget: must be a finite number"),
    (["--workers", "0"], "--workers: must be in [1, 1024]"),
    (["--ops", str(10**30)], "--ops: must be in [1, "),
    (["--repeat", "0"], "--repeat: must be in [1, "),
])
def test_out_of_range_option_is_one_line(tmp_path: Path, argv: list[str], needle: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    """Numeric options share the scenario's bounds: one line, exit 2."""
    assert main(["run", str(DATA / "clean_pg_network.toml"), *argv]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err and "Traceback" not in err, err


@pytest.mark.parametrize("kind", ["file", "proc", "under-file"])
def test_unusable_out_is_refused_before_any_run(tmp_path: Path, kind: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """--out naming a file, a path under /proc or below a file: one line, exit 2, no run."""
    (tmp_path / "afile").write_text("x")
    out = {"file": tmp_path / "afile", "proc": Path("/proc/pagerace-test/runs"),
           "under-file": tmp_path / "afile" / "runs"}[kind]
    assert main(["run", str(DATA / "clean_pg_network.toml"), "--out", str(out)]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"pagerace: {out}") and "--out" in err, err


def test_admission_refuses_a_run_that_does_not_fit(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """Too many workers for memory: refused before the arena exists, naming the keys."""
    path = tmp_path / "big.toml"
    path.write_text(_with(GOOD, "workers = 2", "workers = 1000"), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and str(path) in err, err
    assert "needs" in err and "available; lower run.workers" in err, err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_admission_refuses_huge_pages(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    """Two billion pages do not fit anywhere: the refusal names model.pages first."""
    path = tmp_path / "pages.toml"
    path.write_text(_with(GOOD, "pages = 1024", "pages = 2147483647"), encoding="utf-8")
    assert main(["run", str(path), "--out", str(tmp_path / "runs")]) == EXIT_USAGE
    assert "lower model.pages" in capsys.readouterr().err


@pytest.mark.parametrize("text, says", [
    ("a = " + "[" * 5000 + "]" * 5000 + "\n", "not valid TOML: nested too deep"),
    ('name = "x"\n[[roles]]\nrole = "nic"\ncount = 1000000\n',
     "roles[0].count: must be 1 to 1024, got 1000000"),
    ("# " + "x" * (1 << 20) + "\n", "larger than 1024 KiB"),
])
def test_unbounded_inputs_are_refused_in_one_line(tmp_path: Path, text: str, says: str) -> None:
    """Deep nesting, a million actors, a file of megabytes: refused before any work."""
    f = tmp_path / "big.toml"
    f.write_text(text)
    with pytest.raises(ScenarioError) as e:
        load_scenario(f)
    assert str(e.value).startswith(f"{f}: ") and says in str(e.value)


def test_a_device_is_not_read_as_a_scenario() -> None:
    """/dev/zero named as a scenario (or in a token): refused, never read whole."""
    with pytest.raises(ScenarioError, match="/dev/zero: not a regular file"):
        load_scenario("/dev/zero")
