"""End-to-end runs through the CLI: verdicts, crashes, hangs and cleanup."""

from __future__ import annotations

import json
import os
import re
import signal
import tempfile
import time
from pathlib import Path

import numpy as np
import psutil
import pytest
from e2e import DATA, arena_of, pagerace, shm_files, start, start_long_run, summaries

import stress

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"  # the checkout's, never site's
pytestmark = pytest.mark.xdist_group("e2e")  # one run at a time: each wants both cores


def test_clean_pg_network_run_passes(tmp_path: Path) -> None:
    """C1's shape: pg_network under strays, readers, truncation and GUP is clean, with audits."""
    res = pagerace("run", str(DATA / "clean_pg_network.toml"), "--out", "runs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "pass" and s["anomalies"] == {}
    assert s["audits"] >= 3 and s["ops"] > 10_000
    run_dir = Path(s["run_dir"])
    for name in ("manifest.json", "supervisor.jsonl", "worker-0.jsonl", "worker-1.jsonl",
                 "traces.npz"):
        assert (run_dir / name).exists(), name
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 1 and manifest["backend"] == "atomic"
    assert manifest["build"] == stress.BUILD.name


def test_racy_backend_is_detected(tmp_path: Path) -> None:
    """Non-atomic refcount updates lose updates: the audit or the put sees it (C9).

    On a loaded machine the two workers share a CPU less often, so the run may take
    longer to hit the window: it races until the first detection, up to a minute.
    """
    res = pagerace("run", str(DATA / "racy.toml"), "--until-detected", "--duration", "60",
                   "--out", "runs", cwd=tmp_path)
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "pass", s
    assert {"lost-update", "refcount-underflow"} & set(s["anomalies"])
    assert res.returncode == 0


def test_clean_scenario_that_sees_an_anomaly_fails(tmp_path: Path) -> None:
    """A scenario expected clean that sees an anomaly is a fail, exit code 1.

    The anomaly comes from a fault one worker trips on its own (C3's stale PG_checked
    read as PG_network), not from a race: a loaded machine cannot make it miss.
    """
    scenario = tmp_path / "clean-but-faulty.toml"
    scenario.write_text((DATA / "clean_pg_network.toml").read_text().replace(
        'scheme = "pg_network"', 'scheme = "pg_network"\ntruncate_leaves_checked = true'))
    res = pagerace("run", str(scenario), "--out", "runs", cwd=tmp_path)
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "fail" and res.returncode == 1, s
    assert "misrouted-free" in s["anomalies"]
    assert "pagerace report" in res.stdout


def test_killed_worker_is_an_error_long_before_the_run_would_end(tmp_path: Path) -> None:
    """SIGKILL of a worker: verdict error, exit 3, traces dumped, no shm left.

    The bound is far from the one-second goal (measured by hand, see the README) so a
    loaded runner cannot fail it; it still tells a report from the 60 s run ending.
    """
    proc, run_dir, pids = start_long_run(tmp_path)
    t0 = time.monotonic()
    os.kill(pids[1], signal.SIGKILL)
    proc.wait(timeout=60)
    elapsed = time.monotonic() - t0
    assert proc.returncode == 3, proc.stderr.read() if proc.stderr else ""
    assert elapsed < 20.0
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["verdict"] == "error" and s["anomalies"].get("worker-crash") == 1
    assert any("SIGKILL" in e for e in s["errors"])
    traces = np.load(run_dir / "traces.npz")
    assert len(traces["worker_1"]) > 0  # the dead worker's ring survived it
    assert arena_of(run_dir) not in shm_files()
    report = pagerace("report", str(run_dir), cwd=tmp_path)
    assert report.returncode == 0 and "verdict error" in report.stdout
    assert "worker-crash: worker 1: pid" in report.stdout
    assert "worker 1 died: its last operations" in report.stdout


def test_killed_supervisor_takes_the_workers_with_it(tmp_path: Path) -> None:
    """SIGKILL of the supervisor: every worker exits, the arena and the temp dir are gone,
    even while whoever started it waits for its pipes (which the workers hold) before
    reaping it, so that it stays a zombie."""
    proc, run_dir, pids = start_long_run(tmp_path)
    proc.kill()
    proc.communicate(timeout=60)  # (pipes first: the supervisor is a zombie until then)
    deadline = time.monotonic() + 30.0  # workers look for their parent every few ms
    while time.monotonic() < deadline and any(_alive(p) for p in pids):
        time.sleep(0.05)
    assert not any(_alive(p) for p in pids)
    assert arena_of(run_dir) not in shm_files()
    tmp = Path(tempfile.gettempdir())
    assert not list(tmp.glob(f"pagerace-mp.{proc.pid}.*")), "the forkserver's directory"


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def test_sigterm_stops_cleanly_and_writes_the_summary(tmp_path: Path) -> None:
    """SIGTERM (like Ctrl-C) stops the run, writes the summary and exits 130."""
    proc, run_dir, _ = start_long_run(tmp_path)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=60)
    assert proc.returncode == 130
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["interrupted"] and s["ops"] > 0
    assert arena_of(run_dir) not in shm_files()


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[expect]\nclean = true\n[model]\nfoo = 1\n",
         "model.foo: unknown key"),
        ("name = 'x'\n[[roles]]\nrole = 'nicc'\n[expect]\nclean = true\n",
         "roles[0].role: unknown role 'nicc'"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[expect]\ndetect = ['lost-updates']\n",
         "expect.detect: unknown anomaly kind 'lost-updates'"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[run]\nworkers = 'two'\n[expect]\nclean = true\n",
         "run.workers: expected int"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[model]\nscheme = 'magic'\n[expect]\nclean = true\n",
         "model.scheme: unknown scheme 'magic' (known: driver_ref"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[model]\nqueue_size = 100\n[expect]\nclean = true\n",
         "model.queue_size: must be a power of two, got 100"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[model]\ndelays = {nowhere = 5}\n"
         "[expect]\nclean = true\n", "model.delays: unknown point 'nowhere'"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\nmix = {rx = -1}\n[expect]\nclean = true\n",
         "roles[0].mix.rx: weight must be in [0, 1e+09], got -1"),
        ("name = 'x'\n[[roles]]\nrole = 'nic'\n[expect]\nclean = true\ndetect = ['bad-page']\n",
         "expect: give either clean = true or a non-empty detect list"),
        ("name = 'x'\n[[roles]\n", "not valid TOML"),
    ],
)
def test_malformed_scenario_is_one_line_exit_2(tmp_path: Path, text: str, needle: str) -> None:
    """A bad scenario names the file, key and reason on one line and exits 2."""
    path = tmp_path / "bad.toml"
    path.write_text(text)
    res = pagerace("run", str(path), cwd=tmp_path)
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1 and str(path) in res.stderr and needle in res.stderr
    assert "Traceback" not in res.stderr


def test_missing_scenario_file_is_exit_2(tmp_path: Path) -> None:
    """A scenario path that does not exist is a one-line usage error."""
    res = pagerace("run", "nothere.toml", cwd=tmp_path)
    assert res.returncode == 2 and "nothere.toml: no such file" in res.stderr


def test_stopped_worker_is_a_hang(tmp_path: Path) -> None:
    """A worker that stops making progress (SIGSTOP) is a worker-hang: error, exit 3."""
    proc, run_dir, pids = start_long_run(tmp_path)
    t0 = time.monotonic()
    os.kill(pids[0], signal.SIGSTOP)
    proc.wait(timeout=60)
    assert proc.returncode == 3
    assert time.monotonic() - t0 < 20.0  # hang_timeout is 1 s: far from the 60 s run
    s = json.loads((run_dir / "summary.json").read_text())
    assert s["verdict"] == "error" and s["anomalies"].get("worker-hang") == 1
    assert not _alive(pids[0])


def test_ops_run_over_its_budget_is_budget_overrun(tmp_path: Path) -> None:
    """An ops-bounded run that cannot finish within --budget is a budget-overrun: exit 3."""
    res = pagerace("run", str(DATA / "clean_pg_network.toml"), "--ops", "1000000000",
                   "--budget", "2", "--out", "runs", cwd=tmp_path)
    assert res.returncode == 3, res.stdout + res.stderr
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "error" and s["anomalies"].get("budget-overrun") == 1


def test_run_ends_with_a_plain_closing_line(tmp_path: Path) -> None:
    """CI logs end with 'pagerace: N passed, N failed'."""
    res = pagerace("run", str(DATA / "clean_pg_network.toml"), "--duration", "0.5", "--out",
                   "runs", cwd=tmp_path)
    assert res.stdout.rstrip().splitlines()[-1] == "pagerace: 1 passed, 0 failed"


def test_repeat_until_detected_reports_reliability(tmp_path: Path) -> None:
    """--repeat N runs seeds 1..N; --until-detected ends a buggy race at its first detection."""
    res = pagerace("run", str(DATA / "dtor_tryget.toml"), "--repeat", "2", "--until-detected",
                   "--duration", "20", "--out", "runs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "reliability over seeds" in res.stdout and "100%" in res.stdout
    runs = summaries(tmp_path / "runs")
    assert sorted(s["seed"] for s in runs) == [1, 2]
    assert all(s["duration_s"] < 19 for s in runs)  # stopped long before its 20 s


def test_ops_run_ends_when_every_worker_is_done_despite_audits(tmp_path: Path) -> None:
    """An --ops run whose workers finish at different times, with audits between, still ends."""
    res = pagerace("run", str(DATA / "clean_pg_network.toml"), "--ops", "600000", "--out",
                   "runs", cwd=tmp_path, timeout=60)
    [s] = summaries(tmp_path / "runs")
    assert res.returncode == 0 and s["verdict"] == "pass", s
    assert s["ops"] >= 2 * 600_000 and s["audits"] >= 2 and s["duration_s"] < 10


def test_worker_exception_is_reported_with_its_cause(tmp_path: Path) -> None:
    """A worker that raises (here: its ledger overflows) is an error whose report names why."""
    scenario = tmp_path / "tiny-ledger.toml"
    # An audit overflows the ledger only if the worker holds two references just then (about
    # three audits in four): 30 audits, not 6, so that none overflowing is not a chance.
    scenario.write_text((DATA / "clean_pg_network.toml").read_text().replace(
        "pages = 1024", "pages = 1024\nledger_size = 1").replace(
        "audit_interval = 0.25", "audit_interval = 0.05"))
    res = pagerace("run", str(scenario), "--out", "runs", cwd=tmp_path)
    assert res.returncode == 3, res.stdout + res.stderr
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "error" and s["anomalies"].get("worker-crash", 0) >= 1
    report = pagerace("report", s["run_dir"], cwd=tmp_path)
    assert re.search(r"worker \d crashed: RuntimeError: worker \d: ledger overflows 1 references",
                     report.stdout), report.stdout


def test_a_pool_that_cannot_drain_is_a_stalled_shutdown(tmp_path: Path) -> None:
    """C11's driver frees pool pages through put_page: after the drain the pool still counts
    them out, and the run says which pool and how many (page_pool's stalled shutdown)."""
    c11 = Path(__file__).parent.parent / "scenarios" / "c11-pp-magic-put-page.toml"
    res = pagerace("run", str(c11), "--duration", "0.3", "--out", "runs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    [s] = summaries(tmp_path / "runs")
    [pool] = s["pools"]
    assert pool["inflight_at_destroy"] > 0
    assert s["anomalies"]["pool-stalled-shutdown"] == 1
    log = (Path(s["run_dir"]) / "supervisor.jsonl").read_text()
    assert f"pool 0: {pool['inflight_at_destroy']} pages still in flight after the drain" in log


def test_lost_recycles_where_none_are_expected_fail_the_run(tmp_path: Path) -> None:
    """C8's control with the stray trygets put back: the lost recycles alone fail it."""
    scn = (SCENARIOS
           / "c08-driver-ref-lost-recycles.toml").read_text()
    f = tmp_path / "lost.toml"
    f.write_text(scn.replace("lost_recycles = true", "lost_recycles = false"))
    res = pagerace("run", str(f), "--out", "runs", cwd=tmp_path)
    [s] = summaries(tmp_path / "runs")
    assert s["verdict"] == "fail" and res.returncode == 1, s
    assert "pool-alloc-refcount" in s["anomalies"]  # the detection alone would have passed
    assert s["pools"][0]["released_shared_race"] > 0


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_ctrl_c_during_explore_is_130_and_leaves_no_arena(jobs: str, tmp_path: Path) -> None:
    """SIGINT once the explorer reports progress: exit 130, one line, nothing in /dev/shm."""
    scn = SCENARIOS / "c01-pg-network-tryget.toml"
    proc = start("explore", str(scn), "--strategy", "dfs", "--jobs", jobs, "--out", "runs",
                 cwd=tmp_path)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:  # an explorer maps its arena: it is exploring
        assert proc.poll() is None, proc.communicate()[1]
        children = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        if _maps_an_arena([proc.pid, *children]):
            break
        time.sleep(0.05)
    else:
        pytest.fail("the explorer never created its arena")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    for pid in [proc.pid, *children]:
        assert not shm_files(f"pagerace.{pid}."), pid


def test_until_detected_still_judges_lost_recycles_over_the_whole_race(tmp_path: Path) -> None:
    """--until-detected would stop at the first pool-alloc-refcount; lost recycles need more."""
    scn = SCENARIOS / "c08-driver-ref-lost-recycles.toml"
    res = pagerace("run", str(scn), "--until-detected", "--out", "runs", cwd=tmp_path)
    [s] = summaries(tmp_path / "runs")
    assert res.returncode == 0 and s["verdict"] == "pass", s
    assert s["duration_s"] >= 1.5 and s["pools"][0]["released_shared_race"] > 0


def _maps_an_arena(pids: list[int]) -> bool:
    """Has one of these processes mapped an arena?  (The explorer's has no name in /dev/shm:
    it is unlinked once mapped, so the mapping is the sign.)"""
    for pid in pids:
        try:
            if any("pagerace." in m.path for m in psutil.Process(pid).memory_maps()):
                return True
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return False


def test_a_killed_explorer_leaves_no_job_running(tmp_path: Path) -> None:
    """SIGKILL to pagerace explore --jobs 2: its jobs notice (its zombie, while its pipes
    are waited for, is gone too), close their worlds, remove its directory and exit."""
    proc = start("explore", str(SCENARIOS / "c01-pg-network-tryget.toml"), "--strategy", "dfs",
                 "--jobs", "2", "--schedules", "100000000", "--out", "runs", cwd=tmp_path)
    deadline = time.monotonic() + 120  # the search alone would last hours
    while time.monotonic() < deadline:  # a job maps its arena: the jobs are exploring
        assert proc.poll() is None, proc.communicate()[1]
        family = [c.pid for c in psutil.Process(proc.pid).children(recursive=True)]
        if _maps_an_arena(family):
            break
        time.sleep(0.05)
    else:
        pytest.fail("no job ever created its arena")
    proc.kill()
    proc.communicate(timeout=60)  # (pipes first: the command is a zombie until then)
    while time.monotonic() < deadline:  # each job checks its parent every half second
        alive = [pid for pid in family if psutil.pid_exists(pid)
                 and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE]
        if not alive and not any(shm_files(f"pagerace.{pid}.") for pid in family):
            break
        time.sleep(0.05)
    else:
        pytest.fail(f"still running after the command was killed: {alive}")
    assert not list(Path(tempfile.gettempdir()).glob(f"pagerace-mp.{proc.pid}.*"))
