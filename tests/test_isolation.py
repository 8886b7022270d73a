"""Runs that share a machine: run directories, /dev/shm, /tmp, namespaces, full and read-only disks.

The mount and PID namespace tests need root and `unshare` (CI runs as root); the
filesystems they mount exist only inside their own namespace.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from e2e import DATA, summaries, wait_for_event

from stress.memory import Arena, ArenaConfig
from stress.memory.arena import arena_path
from stress.runrecord import Event
from stress.runs import tempdir
from stress.runs.rundir import RunDir

CONFIG = ArenaConfig(npages=64, nworkers=1, trace_entries=0)


def _can_unshare(*flags: str) -> bool:
    if os.geteuid() != 0 or not shutil.which("unshare"):
        return False
    probe = subprocess.run(["unshare", *flags, "true"], capture_output=True)
    return probe.returncode == 0


needs_mount_ns = pytest.mark.skipif(not _can_unshare("-m"), reason="needs root and unshare -m")
needs_pid_ns = pytest.mark.skipif(not _can_unshare("-p", "-f", "--mount-proc"),
                                  reason="needs root and unshare -p")


def in_mount_ns(setup: str, argv: list[str], cwd: Path,
                env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run argv after the shell commands `setup`, in a mount namespace of its own."""
    script = f"{setup} && exec {shlex.join(argv)}"
    return subprocess.run(["unshare", "-m", "sh", "-c", script], cwd=cwd, capture_output=True,
                          text=True, timeout=300, env=os.environ | (env or {}))


CLEAN_RUN = [sys.executable, "-m", "stress", "run", str(DATA / "clean_pg_network.toml")]


def run_on_tmpfs(tmp_path: Path, folder: str, options: str, args: list[str],
                 env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """`pagerace run` of a clean scenario with `folder` a tmpfs mounted with `options`."""
    (tmp_path / folder).mkdir()
    return in_mount_ns(f"mount -t tmpfs -o {options} tmpfs {folder}", [*CLEAN_RUN, *args],
                       tmp_path, env)


def test_concurrent_creates_never_share_a_directory(tmp_path: Path) -> None:
    """Sixteen threads making a run directory of one name in one second get sixteen."""
    made: list[Path] = []
    barrier = threading.Barrier(16)

    def make() -> None:
        barrier.wait()
        made.append(RunDir.create(tmp_path, "same", 1).path)

    threads = [threading.Thread(target=make) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(set(made)) == 16 and all(p.is_dir() for p in made)


@pytest.mark.xdist_group("e2e")
def test_concurrent_runs_with_one_out_get_a_directory_each(tmp_path: Path) -> None:
    """Four `pagerace run` started together with one --out: four directories, four summaries."""
    procs = [subprocess.Popen([sys.executable, "-m", "stress", "run",
                               str(DATA / "clean_pg_network.toml"), "--duration", "0.2",
                               "--workers", "1", "--out", "same"], cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    for p in procs:
        out, err = p.communicate(timeout=300)
        # One worker cannot contest a window, so a clean run may be inconclusive (4).
        assert p.returncode in (0, 4), out + err
    runs = summaries(tmp_path / "same")
    assert len(runs) == 4 and len({s["run_dir"] for s in runs}) == 4
    assert {s["pids"]["supervisor"] for s in runs} == {p.pid for p in procs}
    for s in runs:  # each directory holds one supervisor's log only
        pids = {json.loads(line)["pid"] for line in
                (Path(s["run_dir"]) / "supervisor.jsonl").read_text().splitlines()}
        assert pids == {s["pids"]["supervisor"]}


@needs_mount_ns
@pytest.mark.xdist_group("e2e")
def test_read_only_out_is_refused_up_front(tmp_path: Path) -> None:
    """--out on a read-only filesystem: one line naming it and the reason, exit 2."""
    res = run_on_tmpfs(tmp_path, "ro", "ro,size=1m", ["--out", "ro/runs"])
    assert res.returncode == 2, res.stderr
    assert res.stderr.count("\n") == 1 and "Read-only file system" in res.stderr, res.stderr
    assert str(tmp_path / "ro" / "runs") in res.stderr


@needs_mount_ns
@pytest.mark.xdist_group("e2e")
def test_full_disk_mid_run_keeps_the_summary(tmp_path: Path) -> None:
    """A disk that fills during the run: exit 3, one line, the summary kept, no half file.

    The filesystem exists only in the namespace, so what it holds is read from inside.
    """
    (tmp_path / "small").mkdir()
    run = shlex.join([*CLEAN_RUN, "--duration", "0.3", "--out", "small"])
    script = (f"{run} >stdout.txt 2>stderr.txt; echo $? >rc.txt; "
              "cp small/*/summary.json summary.json; ls -a small/*/ >listing.txt")
    res = in_mount_ns("mount -t tmpfs -o size=128k tmpfs small", ["sh", "-c", script], tmp_path,
                      env={"COLUMNS": "300"})
    assert res.returncode == 0, res.stderr
    stdout, stderr = (tmp_path / "stdout.txt").read_text(), (tmp_path / "stderr.txt").read_text()
    assert (tmp_path / "rc.txt").read_text().strip() == "3", stdout + stderr
    assert "Traceback" not in stderr
    [line] = [ln for ln in stdout.splitlines() if ln.startswith("error:")]
    assert "No space left on device" in line and "traces.npz" in line, line
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["verdict"] == "error"
    assert any("No space left on device" in e for e in summary["errors"]), summary["errors"]
    listing = (tmp_path / "listing.txt").read_text().split()
    assert {"manifest.json", "summary.json", "supervisor.jsonl"} <= set(listing)
    assert "traces.npz" not in listing and ".traces.npz.tmp" not in listing, listing


@needs_mount_ns
@pytest.mark.xdist_group("e2e")
def test_small_shm_is_refused_before_the_arena(tmp_path: Path) -> None:
    """A /dev/shm too small for the arena: refused in one line with the figures, exit 2."""
    res = run_on_tmpfs(tmp_path, "shm", "size=64k", ["--out", "runs"],
                       env={"PAGERACE_SHM_DIR": str(tmp_path / "shm")})
    assert res.returncode == 2, res.stdout + res.stderr
    assert res.stderr.count("\n") == 1 and f"{tmp_path / 'shm'} has" in res.stderr, res.stderr
    assert "lower " in res.stderr


@needs_mount_ns
def test_arena_blocks_are_reserved_at_creation(tmp_path: Path) -> None:
    """posix_fallocate: a short /dev/shm fails at creation (no SIGBUS later), nothing left."""
    (tmp_path / "shm").mkdir()
    code = ("from stress.memory import Arena, ArenaConfig, ArenaError\n"
            "import os\n"
            "try:\n"
            "    Arena.create(ArenaConfig(npages=4096))\n"
            "except ArenaError as e:\n"
            "    print(e)\n"
            "print(os.listdir(os.environ['PAGERACE_SHM_DIR']))\n")
    res = in_mount_ns("mount -t tmpfs -o size=64k tmpfs shm", [sys.executable, "-c", code],
                      tmp_path, env={"PAGERACE_SHM_DIR": str(tmp_path / "shm")})
    assert res.returncode == 0, res.stderr
    first, second = res.stdout.splitlines()
    assert "cannot reserve" in first and "No space left on device" in first, first
    assert second == "[]"


@needs_pid_ns
def test_live_arena_survives_a_reaper_in_another_pid_namespace(tmp_path: Path) -> None:
    """A run in another PID namespace cannot see this pid, yet leaves this arena alone."""
    code = ("import os, sys\n"
            "from stress.memory.arena import reap_stale\n"
            "pid = int(sys.argv[1])\n"
            "try:\n"
            "    os.kill(pid, 0); print('visible')\n"
            "except ProcessLookupError:\n"
            "    print('invisible')\n"
            "print(reap_stale())\n")
    with Arena.create(CONFIG) as a:
        # Not from the checkout: its stress/ would shadow the installed package.
        res = subprocess.run(["unshare", "-p", "-f", "--mount-proc", sys.executable, "-c", code,
                              str(os.getpid())], capture_output=True, text=True, timeout=60,
                             cwd=tmp_path)
        assert res.returncode == 0, res.stderr
        visible, reaped = res.stdout.splitlines()
        assert visible == "invisible"  # what fooled the pid-based check
        assert a.name not in reaped and arena_path(a.name).exists()


def test_stale_temp_dir_is_reaped_and_a_live_one_kept(tmp_path: Path) -> None:
    """A killed supervisor's multiprocess directory is reaped; a live one's is not."""
    code = ("from stress.runs import tempdir\n"
            "import signal\n"
            "print(tempdir.claim(), flush=True)\n"
            "signal.pause()\n")  # alive, holding its lock, until the test kills it
    env = os.environ | {"TMPDIR": str(tmp_path)}
    live, dead = (subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                   text=True, env=env, cwd=tmp_path) for _ in range(2))
    try:
        assert live.stdout and dead.stdout
        live_dir, dead_dir = live.stdout.readline().strip(), dead.stdout.readline().strip()
        dead.send_signal(signal.SIGKILL)
        dead.wait()
        assert Path(dead_dir).is_dir()  # nothing at exit ran: what the reaper is for
        reaped = tempdir.reap_stale(tmp_path)
        assert reaped == [Path(dead_dir).name] and not Path(dead_dir).exists()
        assert Path(live_dir).is_dir()
    finally:
        live.kill()
        live.wait()


@pytest.mark.xdist_group("e2e")
def test_sigint_before_the_race_is_interrupted_not_failed(tmp_path: Path) -> None:
    """Ctrl-C while workers start: exit 130, no run counted failed, a summary written."""
    proc = subprocess.Popen([sys.executable, "-m", "stress", "run", str(DATA / "long.toml"),
                             "--out", "runs"], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=os.environ | {"COLUMNS": "200"})
    wait_for_event(tmp_path / "runs", Event.WORKERS_STARTED)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    log = "".join(p.read_text() for p in (tmp_path / "runs").glob("*/supervisor.jsonl"))
    assert proc.returncode == 130, stdout + stderr + log
    assert stdout.rstrip().splitlines()[-1] == "pagerace: 0 passed, 0 failed"
    [s] = summaries(tmp_path / "runs")
    assert s["interrupted"] and s["verdict"] == "error"


def test_admission_warns_past_four_workers_per_cpu() -> None:
    """More workers than four per CPU fit, but are told they will mostly wait."""
    from stress.runs.admission import admit
    from stress.runs.plan import make_plan
    from stress.scenario import load_scenario

    scn = load_scenario(DATA / "clean_pg_network.toml")
    cpus = os.cpu_count() or 1
    few = admit(make_plan(scn.with_overrides(workers=2), 0))
    many = admit(make_plan(scn.with_overrides(workers=4 * cpus + 1), 0))
    assert few.warning is None and few.refusal is None
    assert many.warning and f"{4 * cpus + 1} workers on {cpus} CPUs" in many.warning


def test_a_temp_dir_being_made_is_never_reaped(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A reaper that runs between making the lock file and locking it leaves the dir alone.

    Four runs starting together hit that window once (a forkserver socket vanished);
    here another supervisor's reaper runs exactly there, every time.
    """
    import fcntl
    import tempfile

    from multiprocess import process

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    monkeypatch.setitem(process.current_process()._config, "tempdir", None)
    real_flock = fcntl.flock

    def flock_after_a_reaper(fd: int, op: int) -> None:
        if op == fcntl.LOCK_EX:  # claim() taking its lock: someone else reaps first
            tempdir.reap_stale(tmp_path)
        real_flock(fd, op)

    monkeypatch.setattr(tempdir.fcntl, "flock", flock_after_a_reaper)
    path = Path(tempdir.claim())
    assert path.is_dir() and (path / tempdir.LOCK).is_file()
