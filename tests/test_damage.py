"""A run directory damaged in transit: `report` and `merge` say which file and what, exit 2."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from test_report import c2_run  # noqa: F401  (the fixture, shared)

from stress.runrecord import RecordError, read_log, read_summary, read_trace
from stress.surfaces.cli import main

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def run_dir(c2_run: Path) -> Path:  # noqa: F811  (the fixture, asked for by name)
    """test_report's real run with anomalies, a log per process and traces: damaged copy by
    copy."""
    return c2_run


def _edit_summary(change: Callable[[dict], object]) -> Callable[[Path], None]:  # type: ignore[type-arg]
    def damage(d: Path) -> None:
        s = json.loads((d / "summary.json").read_text())
        change(s)
        (d / "summary.json").write_text(json.dumps(s))
    return damage


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda d: (d / name).write_bytes(data)


def _insert_log_line(line: str) -> Callable[[Path], None]:
    def damage(d: Path) -> None:
        log = d / "supervisor.jsonl"
        lines = log.read_text().splitlines()
        log.write_text("\n".join([lines[0], line, *lines[1:]]) + "\n")
    return damage


SUMMARY_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "null": (_write("summary.json", b"null"), "not a pagerace summary (a JSON NoneType"),
    "a list": (_write("summary.json", b"[1, 2]"), "a JSON list, not an object"),
    "a number": (_write("summary.json", b"42"), "a JSON int, not an object"),
    "cut short": (_write("summary.json", b'{"scenario": "x", "se'), "not JSON"),
    "empty": (_write("summary.json", b""), "not JSON"),
    "not text": (_write("summary.json", bytes(range(128, 256))), "not UTF-8"),
    "deep": (_write("summary.json", b"[" * 100_000), "not JSON"),
    "unknown verdict": (_edit_summary(lambda s: s.update(verdict="maybe")),
                        "verdict is 'maybe', not one of pass, fail, inconclusive, error"),
    "no verdict": (_edit_summary(lambda s: s.pop("verdict")), "no 'verdict'"),
    "seed as text": (_edit_summary(lambda s: s.update(seed="1")), "seed is '1', not an integer"),
    "anomalies a list": (_edit_summary(lambda s: s.update(anomalies=["x"])),
                         "anomalies is [\"x\"], not counts by kind"),
    "negative count": (_edit_summary(lambda s: s.update(anomalies={"x": -1})), "counts by kind"),
    "detection as text": (_edit_summary(lambda s: s.update(first_detection_s={"x": "soon"})),
                          "seconds by kind"),
    "errors as text": (_edit_summary(lambda s: s.update(errors="oops")), "a list of lines"),
    "scenario a number": (_edit_summary(lambda s: s.update(scenario=5)), "scenario is 5"),
    "split out of range": (_edit_summary(lambda s: s.update(split=[9, 2])), "[part, parts]"),
    "finding without kind": (_edit_summary(lambda s: s.update(finding={"page": 1})),
                             "a finding (kind"),
    "pools damaged": (_edit_summary(lambda s: s.update(pools=[{"pool": "zero"}])),
                      "a list of pools"),
    "ops per second not finite": (_edit_summary(lambda s: s.update(ops_per_s=float("nan"))),
                                  "ops_per_s is NaN"),
}


@pytest.mark.parametrize("command", ["report", "merge"])
@pytest.mark.parametrize("case", sorted(SUMMARY_DAMAGE))
def test_a_damaged_summary_is_one_line(case: str, command: str, run_dir: Path, tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Each damage: exit 2, one line naming summary.json and what is wrong with it."""
    damage, says = SUMMARY_DAMAGE[case]
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    damage(d)
    assert main([command, str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert "summary.json" in err and says in err and "\n" not in err, err


LOG_DAMAGE: dict[str, tuple[Callable[[Path], None], str]] = {
    "a scalar line": (_insert_log_line("42"), "a JSON int, not a log record"),
    "a list line": (_insert_log_line("[1]"), "a JSON list, not a log record"),
    "garbage mid-log": (_insert_log_line("}{"), "not a JSON line"),
    "anomaly without kind": (_insert_log_line('{"event": "anomaly", "page": 3}'),
                             "'anomaly' record: kind is missing"),
    "start time as text": (_insert_log_line('{"event": "race started", "t0_ns": "x"}'),
                           "'race started' record: t0_ns is 'x'"),
    "manifest null": (_write("manifest.json", b"null"), "manifest.json: not a pagerace "
                                                        "manifest"),
    "manifest scenario text": (
        lambda d: (d / "manifest.json").write_text(json.dumps(
            dict(json.loads((d / "manifest.json").read_text()), scenario="x"))),
        "scenario is 'x', not a table"),
}


@pytest.mark.parametrize("case", sorted(LOG_DAMAGE))
def test_a_damaged_log_or_manifest_is_one_line(case: str, run_dir: Path, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """report: exit 2, one line naming the file (and the log's line) and what is wrong."""
    damage, says = LOG_DAMAGE[case]
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    damage(d)
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert says in err and "\n" not in err, err


def test_a_log_cut_mid_line_by_a_crash_is_still_read(tmp_path: Path) -> None:
    """Only the last line may be cut: the records before it are read, the stub skipped."""
    log = tmp_path / "w.jsonl"
    log.write_text('{"event": "progress", "t": 1}\n{"event": "prog')
    assert [r["t"] for r in read_log(log)] == [1]


@pytest.mark.parametrize("damage", ["truncated", "random", "wrong dtype", "pickled"])
def test_a_damaged_trace_archive_is_one_line(damage: str, run_dir: Path,
                                             tmp_path: Path) -> None:
    """traces.npz cut short, random, of another layout or pickled: RecordError naming it."""
    path = tmp_path / "traces.npz"
    whole = (run_dir / "traces.npz").read_bytes()
    if damage == "truncated":
        path.write_bytes(whole[: len(whole) // 3])
    elif damage == "random":
        path.write_bytes(np.random.default_rng(1).bytes(4096))
    elif damage == "wrong dtype":
        np.savez(path, worker_0=np.arange(10))
    else:
        np.savez(path, worker_0=np.array([{"a": 1}], dtype=object))
    with pytest.raises(RecordError, match="traces.npz"):
        read_trace(path, "worker_0")


def test_a_crashed_run_with_a_damaged_trace_archive_reports_in_one_line(
        run_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The report reads the traces for a crashed worker: damaged, it says so, exit 2."""
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    _insert_log_line('{"event": "worker crashed", "worker": 0, "error": "x"}')(d)
    (d / "traces.npz").write_bytes(b"PK\x03\x04 not really")
    assert main(["report", str(d)]) == 2
    err = capsys.readouterr().err.strip()
    assert "traces.npz" in err and "\n" not in err


def test_markup_in_a_name_is_printed_as_it_is(run_dir: Path, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    """A scenario named `x[/]`: merge and report print the name, not a rich MarkupError."""
    d = tmp_path / "run"
    shutil.copytree(run_dir, d)
    _edit_summary(lambda s: s.update(scenario="x[/]", claim="[bold]C2",
                                     errors=["[/red] y"]))(d)
    manifest = json.loads((d / "manifest.json").read_text())
    manifest["scenario"]["name"] = "x[/]"
    (d / "manifest.json").write_text(json.dumps(manifest))
    assert main(["merge", str(d)]) == 0
    assert "x[/]" in capsys.readouterr().out
    assert main(["report", str(d)]) == 0
    out = capsys.readouterr().out
    assert "x[/]" in out and "[/red] y" in out


def test_the_reader_gives_back_what_a_run_wrote(run_dir: Path) -> None:
    """The real summary passes, with its run directory filled in."""
    s = read_summary(run_dir / "summary.json")
    assert s.verdict == "pass" and Path(s.run_dir) == run_dir
