"""The temporary directory `multiprocess` keeps its forkserver socket in, owned like the arena.

`multiprocess` makes a `/tmp/pymp-*` directory and removes it from an exit
handler, which a SIGKILLed supervisor never runs.  pagerace hands it a
directory of its own instead: locked by the supervisor for its life (like the
arena file), removed at exit, removed by the workers when they find the
supervisor gone, and reaped by the next run when nothing holds its lock.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

PREFIX = "pagerace-mp."
LOCK = "owner.lock"
NEW_DIR_AGE = 60.0  # seconds: a younger directory may be between mkdtemp and its lock


def _remove(rmtree: Callable[..., None], path: str, fd: int) -> None:
    # rmtree is passed in: module globals may be gone when a late exit handler runs.
    rmtree(path, ignore_errors=True)
    os.close(fd)


def claim() -> str:
    """The directory `multiprocess` uses in this process, made ours on first call."""
    from multiprocess import process, util

    config = process.current_process()._config
    if config.get("tempdir"):
        return str(config["tempdir"])
    base = Path(tempfile.gettempdir())
    reap_stale(base)
    path = tempfile.mkdtemp(prefix=f"{PREFIX}{os.getpid()}.", dir=base)
    # The lock file appears under its name already locked: a reaper that finds it
    # unlocked can only be looking at a dead supervisor's.
    fd = os.open(os.path.join(path, LOCK + ".new"), os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.rename(os.path.join(path, LOCK + ".new"), os.path.join(path, LOCK))
    # What get_temp_dir() itself would register, plus the lock's descriptor.
    util.Finalize(None, _remove, args=(shutil.rmtree, path, fd), exitpriority=-100)
    config["tempdir"] = path
    return path


def reap_stale(base: Path) -> list[str]:
    """Remove directories of ours that no live supervisor holds locked."""
    reaped = []
    try:
        entries = [p for p in base.iterdir() if p.name.startswith(PREFIX)]
    except OSError:
        return []
    now = time.time()
    for path in entries:
        try:
            if now - path.stat().st_mtime < NEW_DIR_AGE and not (path / LOCK).exists():
                continue
            fd = os.open(path / LOCK, os.O_RDONLY)
        except FileNotFoundError:
            fd = -1  # an old directory without a lock: nobody owns it
        except OSError:
            continue
        try:
            if fd >= 0:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path, ignore_errors=True)
            reaped.append(path.name)
        except OSError:  # locked: its supervisor is alive
            continue
        finally:
            if fd >= 0:
                os.close(fd)
    return reaped
