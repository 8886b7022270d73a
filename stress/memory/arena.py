"""The shared arena: one mmap of a file in /dev/shm, named after the run.

A named file rather than `multiprocessing.shared_memory`: a child started by
`multiprocess` that attaches through the standard library's resource tracker
can unlink the segment under its parent.  The creator unlinks the file when it
closes; `reap_stale()` removes files whose creator pid is gone, so a killed run
leaves nothing behind for long.
"""

from __future__ import annotations

import mmap
import os
import secrets
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


class ArenaError(Exception):
    """An arena that cannot be created or attached; the message says which and why."""


@dataclass(frozen=True)
class ArenaHandle:
    """What a child process needs to attach: picklable, passed at process start."""

    name: str
    backend: str = "atomic"
    locks: tuple[Any, ...] = field(default=(), compare=False)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def arena_path(name: str) -> Path:
    return SHM_DIR / name


def reap_stale(directory: Path | None = None) -> list[str]:
    """Unlink arena files whose creating process no longer exists; return their names."""
    directory = directory or SHM_DIR
    reaped = []
    try:
        entries = list(directory.iterdir())
    except FileNotFoundError:
        return []
    for path in entries:
        if not path.name.startswith(PREFIX):
            continue
        try:
            pid = int(path.name.split(".")[1])
        except (IndexError, ValueError):
            continue
        if not _pid_alive(pid):
            try:
                path.unlink()
                reaped.append(path.name)
            except FileNotFoundError:
                pass
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
        self.atomic = Atomic64(mm)
        self.words: np.ndarray = np.frombuffer(mm, dtype="<i8", count=layout.nslots)
        self.pages: np.ndarray = np.frombuffer(
            mm, dtype=PAGE_DTYPE, count=layout.config.npages, offset=layout.pages * 8
        )
        self.memory: Memory = make_memory(backend, self.atomic, self.locks)

    @classmethod
    def create(cls, config: ArenaConfig, *, backend: str = "atomic", run_id: str | None = None,
               start_method: str = "forkserver") -> Arena:
        """Make a fresh, zeroed arena file and map it; reaps dead runs' files first.

        The locked backend's locks come from the context the workers will be
        started with: a lock of one start method cannot be handed to another's child.
        """
        if backend not in BACKENDS:
            raise ArenaError(f"unknown backend {backend!r} (choose from {', '.join(BACKENDS)})")
        reap_stale()
        layout = Layout.of(config)
        run_id = run_id or secrets.token_hex(4)
        name = f"{PREFIX}{os.getpid()}.{run_id}"
        path = arena_path(name)
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            raise ArenaError(f"arena {name}: already exists in {SHM_DIR}") from None
        except OSError as e:
            raise ArenaError(f"arena {name}: cannot create in {SHM_DIR}: {e.strerror}") from None
        try:
            os.ftruncate(fd, layout.nbytes)
            mm = mmap.mmap(fd, layout.nbytes)
        except OSError as e:
            os.close(fd)
            path.unlink(missing_ok=True)
            raise ArenaError(f"arena {name}: cannot size to {layout.nbytes} bytes: {e}") from None
        os.close(fd)
        locks: list[Any] = []
        if backend == "locked":
            import multiprocess

            ctx = multiprocess.get_context(start_method)
            locks = [ctx.Lock() for _ in range(LOCK_STRIPES)]
        arena = cls(name, mm, layout, owner=True, backend=backend, locks=locks)
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
        if self._mm.closed:
            return
        self.atomic.release()
        # The numpy views export the buffer too; mmap.close() refuses while they live.
        del self.words, self.pages
        self._mm.close()
        if self.owner:
            arena_path(self.name).unlink(missing_ok=True)

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
