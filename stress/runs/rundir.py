"""The run directory: the one place that writes under `--out`.

Every write goes through `RunDir`, so a failing filesystem (full, read-only,
gone) is one `OutputError` naming the path and the reason, never a traceback.
Directories are created atomically (`mkdir` without `exist_ok`, a numbered
suffix on collision), so concurrent runs sharing an `--out` never share a
directory.  Whole files (manifest, summary, traces) are written to a temporary
name and renamed, so a reader sees the old file, the new file or none, never
half of one.
"""

from __future__ import annotations

import errno
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import IO, Any

MAX_COLLISIONS = 10_000


class OutputError(Exception):
    """Writing under `--out` failed: the message is `path: reason`."""

    @classmethod
    def of(cls, path: Path | str, e: OSError, doing: str = "cannot write") -> OutputError:
        return cls(f"{path}: {doing}: {e.strerror or e}")


def check_out(out: Path) -> Path:
    """Make `--out` (and its parents) and show that a run directory can be made in it.

    Called once before any run, so an unusable `--out` is a usage error (exit 2)
    and not a failure in the middle of a suite.
    """
    out = out.resolve()
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: --out: not a directory")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError.of(out, e, "--out: cannot create") from None
    # access() is not enough: it does not see a full disk or every read-only mount.
    probe = out / f".pagerace-probe-{os.getpid()}-{time.monotonic_ns()}"
    try:
        probe.mkdir()
        probe.rmdir()
    except OSError as e:
        raise OutputError.of(out, e, "--out: cannot create a run directory") from None
    return out


class _LineFile:
    """A log file whose write errors name the file: structlog's WriteLogger writes here.

    The first failure raises; later records are dropped, so one full disk is one
    error and not a cascade from every place that logs while the run winds down.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.failed: OutputError | None = None
        try:
            self._f: IO[str] = path.open("a", encoding="utf-8", buffering=1)
        except OSError as e:
            raise OutputError.of(path, e, "cannot open") from None

    def write(self, text: str) -> int:
        if self.failed:
            return 0
        try:
            return self._f.write(text)
        except OSError as e:
            self.failed = OutputError.of(self.path, e)
            raise self.failed from None

    def flush(self) -> None:
        if self.failed:
            return
        try:
            self._f.flush()
        except OSError as e:
            self.failed = OutputError.of(self.path, e)
            raise self.failed from None

    def close(self) -> None:
        try:
            self._f.close()
        except OSError:
            pass  # the lines that could be written were flushed one by one


class RunDir:
    """One run's directory under `--out`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    @classmethod
    def create(cls, out: Path, name: str, seed: int) -> RunDir:
        """A new directory `NAME-sSEED-STAMP[-K]` that no other run shares."""
        stamp = time.strftime("%Y%m%dT%H%M%S")
        base = f"{name}-s{seed}-{stamp}"
        out = out.resolve()
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise OutputError.of(out, e, "cannot create") from None
        for k in range(1, MAX_COLLISIONS):
            path = out / (base if k == 1 else f"{base}-{k}")
            try:
                path.mkdir()
                return cls(path)
            except FileExistsError:
                continue
            except OSError as e:
                raise OutputError.of(path, e, "cannot create") from None
        raise OutputError.of(out / base, OSError(errno.EEXIST, "too many runs of this name "
                                                  "in this second"), "cannot create")

    def __truediv__(self, name: str) -> Path:
        return self.path / name

    def open_log(self, name: str) -> _LineFile:
        return _LineFile(self.path / name)

    def write_json(self, name: str, data: Mapping[str, Any]) -> None:
        self.write_bytes(name, json.dumps(data, indent=2, default=str).encode())

    def write_bytes(self, name: str, data: bytes) -> None:
        self._replace(name, lambda f: f.write(data))

    def save_npz(self, name: str, arrays: Mapping[str, Any]) -> None:
        import numpy as np

        self._replace(name, lambda f: np.savez(f, **arrays))

    def _replace(self, name: str, write: Any) -> None:
        final = self.path / name
        tmp = self.path / f".{name}.tmp"
        try:
            with tmp.open("wb") as f:
                write(f)
            os.replace(tmp, final)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise OutputError.of(final, e) from None
