"""The shared arena: one mmap of a file in /dev/shm, named after the run.

A named file rather than `multiprocessing.shared_memory`: a child started by
`multiprocess` that attaches through the standard library's resource tracker
can unlink the segment under its parent.  The creator unlinks the file when it
closes.

The creator holds an exclusive `flock` on the file for the run's life, and
`reap_stale()` removes only files whose lock it can take.  A pid would not do:
runs in other PID namespaces (CI containers sharing `/dev/shm`) have pids this
process cannot see, and pids are reused.  The file's blocks are reserved with
`posix_fallocate` when it is made, so a short `/dev/shm` is an error then and
never a SIGBUS in the middle of a race.
"""

from __future__ import annotations

import atexit
import fcntl
import mmap
import os
import secrets
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from stress._atomic import Atomic64
from stress.memory.backends import BACKENDS, Memory, make_memory
from stress.memory.layout import (
    HEADER_WORDS,
    LAYOUT_VERSION,
    MAGIC,
    PAGE_DTYPE,
    ArenaConfig,
    Layout,
    read_header,
)

SHM_DIR = Path(os.environ.get("PAGERACE_SHM_DIR", "/dev/shm"))
PREFIX = "pagerace."
LOCK_STRIPES = 64
NEW_FILE_AGE = 60.0  # seconds before a half-made arena file counts as abandoned


# Arenas this process made and has not closed: name -> creator pid.  An interrupt between
# making one and handing it to whoever closes it must not leave it in /dev/shm.
_OWNED: dict[str, int] = {}


@atexit.register
def _unlink_owned() -> None:
    me = os.getpid()  # a forked child inherits the table: it unlinks only its own
    for name, pid in list(_OWNED.items()):
        if pid == me:
            arena_path(name).unlink(missing_ok=True)


class ArenaError(Exception):
    """An arena that cannot be created or attached; the message says which and why."""


@dataclass(frozen=True)
class ArenaHandle:
    """What a child process needs to attach: picklable, passed at process start."""

    name: str
    backend: str = "atomic"
    locks: tuple[Any, ...] = field(default=(), compare=False)


def arena_path(name: str) -> Path:
    return SHM_DIR / name


def reap_stale(directory: Path | None = None) -> list[str]:
    """Unlink arena files that no live run holds locked; return their names.

    A file is unlinked while this process holds its lock, so its owner cannot
    have come back in between.  Files still being made (`.pagerace.*.new`) are
    left alone until they are old: their creator may not have locked them yet.
    """
    directory = directory or SHM_DIR
    reaped = []
    try:
        entries = list(directory.iterdir())
    except OSError:
        return []
    now = time.time()
    for path in entries:
        making = path.name.startswith("." + PREFIX)
        if not (path.name.startswith(PREFIX) or making):
            continue
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            continue
        try:
            if making and now - os.fstat(fd).st_mtime < NEW_FILE_AGE:
                continue
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            path.unlink(missing_ok=True)
            reaped.append(path.name)
        except OSError:  # locked: its run is alive
            continue
        finally:
            os.close(fd)
    return reaped


class Arena:
    """A mapped arena: the atomic slots, numpy views for scans, and the layout."""

    def __init__(self, name: str, mm: mmap.mmap, layout: Layout, *, owner: bool,
                 backend: str = "atomic", locks: Sequence[Any] = ()) -> None:
        self.name = name
        self.layout = layout
        self.owner = owner
        self.backend = backend
        self.locks = tuple(locks)
        self._mm = mm
        self._lock_fd = -1  # the creator's open, flocked descriptor: "this run is alive"
        self.atomic = Atomic64(mm)
        self.words: np.ndarray = np.frombuffer(mm, dtype="<i8", count=layout.nslots)
        self.pages: np.ndarray = np.frombuffer(
            mm, dtype=PAGE_DTYPE, count=layout.config.npages, offset=layout.pages * 8
        )
        self.memory: Memory = make_memory(backend, self.atomic, self.locks)

    @classmethod
    def create(cls, config: ArenaConfig, *, backend: str = "atomic", run_id: str | None = None,
               start_method: str = "forkserver", private: bool = False) -> Arena:
        """Make a fresh, zeroed arena file and map it; reaps dead runs' files first.

        The locked backend's locks come from the context the workers will be
        started with: a lock of one start method cannot be handed to another's child.
        `private`: no other process will attach (the explorer's), so the file is
        unlinked as soon as it is mapped, and not even SIGKILL can leave it behind.
        """
        if backend not in BACKENDS:
            raise ArenaError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
        reap_stale()
        layout = Layout.of(config)
        run_id = run_id or secrets.token_hex(4)
        name = f"{PREFIX}{os.getpid()}.{run_id}"
        path = arena_path(name)
        # Made under a name the reaper leaves alone, locked, sized, then given its name.
        making = arena_path(f".{name}.new")
        try:
            fd = os.open(making, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except OSError as e:
            raise ArenaError(f"arena {name}: cannot create in {SHM_DIR}: {e.strerror}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.posix_fallocate(fd, 0, layout.nbytes)
            mm = mmap.mmap(fd, layout.nbytes)
        except OSError as e:
            os.close(fd)
            making.unlink(missing_ok=True)
            raise ArenaError(f"arena {name}: cannot reserve {layout.nbytes:,} bytes in "
                             f"{SHM_DIR}: {e.strerror}") from None
        try:
            if not private:
                os.link(making, path)  # unlike rename, never replaces another run's file
        except OSError as e:
            mm.close()
            os.close(fd)
            making.unlink(missing_ok=True)
            raise ArenaError(f"arena {name}: cannot create in {SHM_DIR}: {e.strerror}") from None
        making.unlink()
        if not private:
            _OWNED[name] = os.getpid()
        locks: list[Any] = []
        if backend == "locked":
            import multiprocess

            ctx = multiprocess.get_context(start_method)
            locks = [ctx.Lock() for _ in range(LOCK_STRIPES)]
        arena = cls(name, mm, layout, owner=True, backend=backend, locks=locks)
        arena._lock_fd = fd
        for k, v in layout.header(os.getpid()).items():
            arena.words[k] = v
        return arena

    @classmethod
    def attach(cls, handle: ArenaHandle | str) -> Arena:
        """Map an existing arena by name, refusing a missing file or a foreign layout."""
        if isinstance(handle, str):
            handle = ArenaHandle(handle)
        path = arena_path(handle.name)
        try:
            fd = os.open(path, os.O_RDWR)
        except FileNotFoundError:
            raise ArenaError(f"arena {handle.name}: no such segment in {SHM_DIR}") from None
        try:
            size = os.fstat(fd).st_size
            if size < HEADER_WORDS * 8:
                raise ArenaError(f"arena {handle.name}: {size} bytes is too small for a header")
            mm = mmap.mmap(fd, size)
        finally:
            os.close(fd)
        try:
            layout = cls._check_header(handle.name, mm, size)
        except ArenaError:
            mm.close()
            raise
        return cls(handle.name, mm, layout, owner=False, backend=handle.backend,
                   locks=handle.locks)

    @staticmethod
    def _check_header(name: str, mm: mmap.mmap, size: int) -> Layout:
        words = np.frombuffer(mm, dtype="<i8", count=HEADER_WORDS).copy()
        magic, version = int(words[0]), int(words[1])
        if magic != MAGIC:
            raise ArenaError(f"arena {name}: bad magic {magic:#x}, not a pagerace arena")
        if version != LAYOUT_VERSION:
            raise ArenaError(
                f"arena {name}: layout version {version}, this build reads {LAYOUT_VERSION}"
            )
        _, _, nbytes, _, config, offsets = read_header(words)
        layout = Layout.of(config)
        if nbytes != size or layout.nbytes != size:
            raise ArenaError(f"arena {name}: header says {nbytes} bytes, layout needs "
                             f"{layout.nbytes}, file has {size}")
        if layout.offsets() != offsets:
            raise ArenaError(f"arena {name}: region offsets differ from this build's layout")
        return layout

    def handle(self) -> ArenaHandle:
        return ArenaHandle(self.name, self.backend, self.locks)

    @property
    def creator_pid(self) -> int:
        return int(self.words[3])

    def close(self) -> None:
        """Unmap (and, for the creator, unlink).  Safe to call twice."""
        if self._mm.closed or "words" not in self.__dict__:
            return
        # The name first: whatever happens below, nothing is left in /dev/shm.
        if self.owner:
            arena_path(self.name).unlink(missing_ok=True)
            _OWNED.pop(self.name, None)
        self.atomic.release()
        # The numpy views export the buffer too; mmap.close() refuses while they live.
        self.__dict__.pop("words", None)
        self.__dict__.pop("pages", None)
        try:
            self._mm.close()
        except BufferError:
            # A view still lives (an interrupted frame holds one): the mapping goes at exit.
            pass
        if self._lock_fd >= 0:
            os.close(self._lock_fd)
            self._lock_fd = -1

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
