"""`pagerace run` with both engines: the explorer's phase, its reproducer hunt, one verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from e2e import pagerace, summaries

from stress.scenario import Expect
from stress.summary import Explored, StressSummary
from stress.surfaces.both_engines import join_verdicts, unexpected_kind

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def run(verdict: str, found: str | None, **anomalies: int) -> StressSummary:
    """A stress summary as the supervisor writes it, with the explorer's outcome joined."""
    return StressSummary(scenario="s", seed=1, verdict=verdict, expected="clean",
                         anomalies=anomalies, first_detection_s=dict.fromkeys(anomalies, 0.1),
                         explored=Explored(found=found, verdict="fail" if found else "pass",
                                           strategy="pct", schedules=1, exhausted=False))


def seen(anomalies: dict[str, int], firsts: dict[str, float]) -> StressSummary:
    return StressSummary(scenario="s", seed=1, verdict="fail", expected="clean",
                         anomalies=anomalies, first_detection_s=firsts)


def test_the_unexpected_kind_is_the_first_one_that_failed_the_run() -> None:
    """The reproducer hunts the earliest kind the verdict failed the run for: a forbidden
    one, not an incidental one the scenario neither detects nor forbids."""
    s = seen({"bad-page": 3, "misrouted-free": 1, "page-leak": 2},
             {"bad-page": 0.5, "misrouted-free": 0.9, "page-leak": 0.2})
    assert unexpected_kind(s, Expect(detect=("page-leak",), forbid=("misrouted-free",))) \
        == "misrouted-free"
    assert unexpected_kind(s, Expect(clean=True)) == "page-leak"
    assert unexpected_kind(seen({}, {}), Expect(detect=("bad-page",))) is None


def test_a_missed_detection_beside_incidental_kinds_has_nothing_to_reproduce() -> None:
    """A buggy run that failed for the detection it missed, with kinds it does not judge
    (and a health kind, an error's), hunts nothing."""
    s = seen({"pool-stalled-shutdown": 1, "worker-hang": 1},
             {"pool-stalled-shutdown": 0.1, "worker-hang": 0.2})
    assert unexpected_kind(s, Expect(detect=("stale-tryget",))) is None
    assert unexpected_kind(s, Expect(clean=True)) == "pool-stalled-shutdown"


@pytest.mark.parametrize("expect, verdict, after", [
    (Expect(clean=True), "pass", "fail"),
    (Expect(clean=True), "inconclusive", "fail"),
    (Expect(detect=("bad-page",), forbid=("misrouted-free",)), "pass", "fail"),
    (Expect(detect=("misrouted-free",)), "pass", "pass"),
])
def test_the_explorer_fails_a_run_only_with_a_kind_it_does_not_allow(
        expect: Expect, verdict: str, after: str) -> None:
    """A clean or forbidden kind found by the explorer fails the run; a detection does not."""
    s = run(verdict, "misrouted-free")
    join_verdicts(s, expect)
    assert s.verdict == after


def test_nothing_found_keeps_the_stress_verdict() -> None:
    """An exploration that found nothing leaves the verdict as stress gave it."""
    for verdict in ("pass", "inconclusive", "fail", "error"):
        s = run(verdict, None)
        join_verdicts(s, Expect(clean=True))
        assert s.verdict == verdict


@pytest.mark.xdist_group("e2e")
def test_a_failed_run_gets_its_reproducer_from_the_explorer(tmp_path: Path) -> None:
    """A buggy scenario mislabelled clean: stress fails it, the explorer replays the same kind."""
    text = (SCENARIOS / "c06-memcg-unmap.toml").read_text()
    (tmp_path / "wrong.toml").write_text(text.replace('detect = ["memcg-escape"]',
                                                      "clean = true"))
    res = pagerace("run", "wrong.toml", "--explore", "20", "--duration", "0.5", "--out", "runs",
                   cwd=tmp_path, timeout=300)
    assert res.returncode == 1, res.stdout + res.stderr
    [s] = summaries(tmp_path / "runs")
    r = s["reproducer"]
    assert r["kind"] == r["found"] == "memcg-escape" and r["token"], r
    assert s["explored"]["found"] == "memcg-escape"
    assert f"pagerace replay '{r['token']}'" in res.stdout  # the line under the table
    replay = pagerace("replay", r["token"], "--out", "replayed", cwd=tmp_path)
    assert replay.returncode == 0 and "memcg-escape" in replay.stdout, replay.stderr
    report = pagerace("report", s["run_dir"], cwd=tmp_path)
    assert f"reproducer: the explorer ({r['strategy']}) found memcg-escape" in report.stdout
    on_disk = json.loads((Path(s["run_dir"]) / "summary.json").read_text())
    assert on_disk["reproducer"] == r  # merge and report read the joined record


@pytest.mark.xdist_group("e2e")
def test_named_scenarios_race_alone_unless_asked(tmp_path: Path) -> None:
    """Without --explore a named scenario is stress only; with it, its line says what the
    explorer covered."""
    clean = str(SCENARIOS / "c08-driver-ref-own-pages.toml")
    alone = pagerace("run", clean, "--duration", "0.3", "--out", "alone", cwd=tmp_path)
    both = pagerace("run", clean, "--duration", "0.3", "--explore", "5", "--out", "both",
                    cwd=tmp_path)
    assert alone.returncode == 0 and both.returncode == 0, alone.stderr + both.stderr
    [a], [b] = summaries(tmp_path / "alone"), summaries(tmp_path / "both")
    assert "explored" not in a
    x = b["explored"]
    assert x["verdict"] == "pass" and x["found"] is None and x["schedules"] > 0
    assert "explorer" in both.stdout and f"nothing in {x['schedules']:,}" in both.stdout


def test_a_scenario_the_explorer_cannot_hold_keeps_its_stress_verdict(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Refused by the explorer's admission: a line saying why, and the summary untouched."""
    from stress.scenario import load_scenario
    from stress.surfaces import both_engines

    monkeypatch.setattr(both_engines, "admit_explore", lambda scn, jobs: "too big to hold")
    scn = load_scenario(SCENARIOS / "c08-driver-ref-own-pages.toml")
    s = StressSummary(scenario=scn.name, seed=1, verdict="pass", expected="clean")
    phase = both_engines.Phase(tmp_path, None, 1.0)
    phase.explore([s], [scn])
    assert s.explored is None
    assert phase.skipped == [f"{scn.name}: not explored: too big to hold"]
