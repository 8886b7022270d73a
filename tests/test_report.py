"""`pagerace report`: the text, JSON and HTML views of a run, including a broken one."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from e2e import DATA, pagerace, summaries

pytestmark = pytest.mark.xdist_group("e2e")


@pytest.fixture(scope="module")
def c2_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One real dtor_ref1 run with misrouted frees, shared by the tests here."""
    cwd = tmp_path_factory.mktemp("c2")
    res = pagerace("run", str(DATA / "dtor_tryget.toml"), "--out", "runs", cwd=cwd)
    assert res.returncode == 0, res.stdout + res.stderr
    [s] = summaries(cwd / "runs")
    return Path(s["run_dir"])


def test_text_report_tells_the_race(c2_run: Path, tmp_path: Path) -> None:
    """The text report has the configuration, counts, an account and the page's timeline."""
    res = pagerace("report", str(c2_run), "--per-kind", "2", cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    out = res.stdout
    assert "scenario test-dtor-tryget (C2), seed 1, verdict pass" in out
    assert "scheme dtor_ref1" in out and re.search(r"misrouted-free [\d,]+ \(first at", out)
    # C2 is a check-then-act: its account is the window, from the network put's read.
    # (The report goes with each assertion: one failed once in ~10 full runs under load.)
    assert "The free path sent page" in out and "network put read refcount" in out, out
    assert "speculative tryget raised it to 2" in out, out
    assert "get_page_unless_zero" in out, out  # the timeline table
    assert re.search(r"shutdown stalled, [\d,]+ pages still in flight at destroy", out), out


def test_json_report(c2_run: Path, tmp_path: Path) -> None:
    """--json carries counts, and per anomaly its account and merged history."""
    res = pagerace("report", str(c2_run), "--json", "--per-kind", "1", cwd=tmp_path)
    data = json.loads(res.stdout)
    assert data["summary"]["verdict"] == "pass" and data["counts"]["misrouted-free"] >= 1
    [a] = [a for a in data["anomalies"] if a["kind"] == "misrouted-free"]
    assert a["account"].startswith("The free path")
    [stalled] = [a for a in data["anomalies"] if a["kind"] == "pool-stalled-shutdown"]
    assert "pages still in flight after the drain" in stalled["account"]
    assert a["history"] and {"ts", "worker", "op", "before", "after", "gen"} <= set(a["history"][0])
    workers = {e["worker"] for e in a["history"]}
    assert workers <= {0, 1}
    assert data["progress"] and data["progress"][-1]["ops"] > 0


def test_report_from_a_run_that_never_finished(c2_run: Path, tmp_path: Path) -> None:
    """Without a summary and with a log cut mid-line, the report is built from what is there."""
    broken = tmp_path / "broken"
    shutil.copytree(c2_run, broken)
    (broken / "summary.json").unlink()
    log = broken / "worker-0.jsonl"
    log.write_text(log.read_text() + '{"event": "anomaly", "kind": "misr')
    res = pagerace("report", str(broken), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    assert "no summary.json" in res.stdout and "misrouted-free" in res.stdout


def test_report_of_a_missing_directory_is_exit_2(tmp_path: Path) -> None:
    """A directory that is not a run is one line and exit code 2."""
    res = pagerace("report", str(tmp_path / "nothere"), cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "no such run" in res.stderr


def test_html_is_self_contained(c2_run: Path, tmp_path: Path) -> None:
    """The page loads nothing from anywhere: no external scripts, styles or images."""
    page = tmp_path / "r.html"
    res = pagerace("report", str(c2_run), "--html", str(page), cwd=tmp_path)
    assert res.returncode == 0, res.stderr
    html = page.read_text()
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html)
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", html)
    assert 'class="timeline"' in html and 'id="throughput"' in html


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_html_in_a_real_browser(c2_run: Path, tmp_path: Path) -> None:
    """Headless Chromium renders the page: lanes per worker, anomaly markers, the script ran."""
    page = tmp_path / "r.html"
    pagerace("report", str(c2_run), "--html", str(page), cwd=tmp_path)
    flags = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1200,1600"]
    dom = subprocess.run([*flags, "--dump-dom", page.as_uri()], capture_output=True, text=True,
                         timeout=60).stdout
    assert 'data-ready="1"' in dom  # the inline script ran
    assert len(re.findall(r'<g class="lane" data-worker="\d"', dom)) >= 2
    assert 'class="anomaly-marker"' in dom and 'class="ops-rate"' in dom
    assert re.search(r'<article class="anomaly" data-kind="misrouted-free"', dom)
    shot = tmp_path / "shot.png"
    subprocess.run([*flags, f"--screenshot={shot}", page.as_uri()], capture_output=True,
                   timeout=60)
    assert shot.exists() and shot.stat().st_size > 10_000
