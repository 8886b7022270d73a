"""The run directory read back: one reader per file kind, each checking what it reads.

Everything `report`, `merge` and the pytest plugin read from a run directory goes
through here: `summary.json`, `manifest.json`, the JSON-lines logs and
`traces.npz`.  They come back from CI artifacts, other machines and crashed runs,
so each reader checks the shape the readers after it rely on (the fields and
their types, docs/design.md "the run-directory contract") and turns any damage
into one `RecordError` line naming the file, the field and what is wrong.
"""

from __future__ import annotations

import json
import math
import zipfile
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from stress.summary import Manifest, Summary, summary_from_dict

VERDICTS = ("pass", "fail", "inconclusive", "error")


class Event(StrEnum):
    """The events of the JSON-lines logs: every writer and every reader names them here."""

    WORKER_STARTED = "worker started"
    WORKER_FINISHED = "worker finished"
    WORKER_CRASHED = "worker crashed"
    WORKERS_STARTED = "workers started"
    RACE_STARTED = "race started"
    PROGRESS = "progress"
    ANOMALY = "anomaly"
    ANOMALIES_SUPPRESSED = "anomalies suppressed"
    POOL_SHUTDOWN_STALLED = "pool shutdown stalled"
    INTERRUPTED = "interrupted"
    HARNESS_ERROR = "harness error"
    RUN_FINISHED = "run finished"
    EXPLORE_FINISHED = "explore finished"
MAX_READ = 64 << 20  # bytes: a summary, manifest or log larger is not one pagerace wrote


class RecordError(Exception):
    """A file of a run directory that cannot be used: one line, exit code 2."""


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v: object) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(float(v))  # type: ignore[arg-type]


def _counts(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _is_int(n) and n >= 0
                                       for k, n in v.items())


def _seconds(v: object) -> bool:
    return isinstance(v, dict) and all(isinstance(k, str) and _is_number(t)
                                       for k, t in v.items())


def _texts(v: object) -> bool:
    return isinstance(v, list) and all(isinstance(x, str) for x in v)


def _finding(v: object) -> bool:
    if not isinstance(v, dict):
        return False
    ints = ("page", "step", "steps_before", "steps_after", "switches_before", "switches_after")
    return (isinstance(v.get("kind"), str) and all(_is_int(v.get(k)) for k in ints)
            and isinstance(v.get("phase"), str))


def _pools(v: object) -> bool:
    counts = ("pool", "recycled_cache", "recycled_ring", "released")
    return isinstance(v, list) and all(
        isinstance(p, dict) and all(_is_int(p.get(k)) for k in counts)
        and (p.get("recycle_ratio") is None or _is_number(p.get("recycle_ratio")))
        for p in v)


def _explored(v: object) -> bool:
    return (isinstance(v, dict) and v.get("verdict") in VERDICTS
            and isinstance(v.get("strategy"), str) and _is_int(v.get("schedules"))
            and isinstance(v.get("exhausted"), bool)
            and (v.get("found") is None or isinstance(v.get("found"), str))
            and (v.get("token") is None or isinstance(v.get("token"), str)))


def _optional(check: Callable[[object], bool]) -> Callable[[object], bool]:
    return lambda v: v is None or check(v)


_SHAPES: dict[str, tuple[Callable[[object], bool], str]] = {
    "scenario": (lambda v: isinstance(v, str) and v != "", "a name"),
    "seed": (_is_int, "an integer"),
    "verdict": (lambda v: v in VERDICTS, "one of " + ", ".join(VERDICTS)),
    "expected": (lambda v: isinstance(v, str), "text"),
    "anomalies": (_counts, "counts by kind"),
    "first_detection_s": (_seconds, "seconds by kind"),
    "errors": (_texts, "a list of lines"),
    "ops": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "ops_per_s": (_is_number, "a number"),
    "audits": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "duration_s": (_is_number, "a number"),
}
# Present in some summaries (an explorer's, a merged part's): checked when there.
_OPTIONAL: dict[str, tuple[Callable[[object], bool], str]] = {
    "claim": (_optional(lambda v: isinstance(v, str)), "text"),
    "mode": (lambda v: v in ("stress", "explore"), "stress or explore"),
    "interrupted": (lambda v: isinstance(v, bool), "true or false"),
    "run_dir": (lambda v: isinstance(v, str), "a path"),
    "scenario_file": (_optional(lambda v: isinstance(v, str)), "a path"),
    "strategy": (lambda v: isinstance(v, str), "text"),
    "found_by": (_optional(lambda v: isinstance(v, str)), "text"),
    "token": (_optional(lambda v: isinstance(v, str)), "text"),
    "schedules": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "steps": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "abandoned": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "blocked": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "cut": (lambda v: _is_int(v) and v >= 0, "a count"),  # type: ignore[operator]
    "steps_per_s": (_is_number, "a number"),
    "seconds": (_is_number, "a number"),
    "exhausted": (lambda v: isinstance(v, bool), "true or false"),
    "searched": (lambda v: isinstance(v, bool), "true or false"),
    "covered": (_optional(lambda v: isinstance(v, dict)), "a table"),
    "finding": (_optional(_finding), "a finding (kind, page, step, phase, the shrink's counts)"),
    "pools": (_pools, "a list of pools with their counts"),
    "windows": (lambda v: isinstance(v, dict) and all(
        isinstance(w, dict) and _is_int(w.get("windows")) and _is_int(w.get("contested"))
        for w in v.values()), "windows and contested counts by kind of read"),
    "contenders": (lambda v: isinstance(v, list) and all(isinstance(r, str) for r in v),
                   "a list of roles"),
    "explored": (_optional(_explored), "the explorer's outcome (verdict, strategy, schedules, "
                 "exhausted, found)"),
    "reproducer": (_optional(_explored), "the explorer's reproducer hunt (kind, strategy, "
                   "schedules, exhausted, found)"),
    "split": (lambda v: isinstance(v, list) and len(v) == 2 and _is_int(v[1]) and v[1] >= 1
              and (v[0] is None or _is_int(v[0]) and 1 <= v[0] <= v[1]), "[part, parts]"),
    "health": (lambda v: isinstance(v, dict) and all(isinstance(h, dict) for h in v.values()),
               "a table per worker"),
    "members": (lambda v: isinstance(v, list) and all(isinstance(m, dict) for m in v),
                "a list of tables"),
}


def _read_text(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_READ:
            raise RecordError(f"{path}: {path.stat().st_size:,} bytes, larger than any "
                              "pagerace writes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise RecordError(f"{path}: not UTF-8 text") from None
    except OSError as e:
        raise RecordError(f"{path}: cannot be read ({e.strerror or e})") from None


def _read_object(path: Path, what: str) -> dict[str, Any]:
    text = _read_text(path)
    try:
        data = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as e:
        raise RecordError(f"{path}: not JSON ({getattr(e, 'msg', 'nested too deep')})") \
            from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: not a {what} (a JSON {type(data).__name__}, "
                          "not an object)")
    return data


def read_summary(path: Path) -> Summary:
    """A run's summary.json, every field the surfaces rely on present and of its type,
    as the typed summary of its engine."""
    s = _read_object(path, "pagerace summary")
    for key, (ok, want) in _SHAPES.items():
        if key not in s:
            raise RecordError(f"{path}: not a pagerace summary (no {key!r})")
        if not ok(s[key]):
            raise RecordError(f"{path}: {key} is {_shown(s[key])}, not {want}")
    for key, (ok, want) in _OPTIONAL.items():
        if key in s and not ok(s[key]):
            raise RecordError(f"{path}: {key} is {_shown(s[key])}, not {want}")
    if s.get("mode") == "explore":
        for key in ("schedules", "steps", "seconds", "strategy", "exhausted"):
            if key not in s:
                raise RecordError(f"{path}: not an exploration's summary (no {key!r})")
    s["run_dir"] = s.get("run_dir") or str(path.parent)
    return summary_from_dict(s)


_MANIFEST: dict[str, tuple[Callable[[object], bool], str]] = {
    "scenario": (lambda v: isinstance(v, dict), "a table"),
    "mode": (lambda v: v in ("stress", "explore"), "stress or explore"),
    "seed": (_is_int, "an integer"),
    "backend": (lambda v: isinstance(v, str), "text"),
    "start_method": (lambda v: isinstance(v, str), "text"),
    "worker_seeds": (lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
                     "a list of seeds"),
    "workers": (_is_int, "a count"),
    "actors": (lambda v: isinstance(v, list) and all(
        isinstance(a, dict) and isinstance(a.get("role"), str) and _is_int(a.get("worker"))
        for a in v), "a list of actors (role, worker)"),
}


def read_manifest(path: Path) -> Manifest | None:
    """A run's manifest.json (None when there is none: a run killed before writing it)."""
    if not path.exists():
        return None
    m = _read_object(path, "pagerace manifest")
    for key, (ok, want) in _MANIFEST.items():
        if key in m and not ok(m[key]):
            raise RecordError(f"{path}: {key} is {_shown(m[key])}, not {want}")
    return Manifest.from_dict(m)


# Each logged event a reader uses, with the fields it reads and their checks.
_EVENTS: dict[str, dict[str, Callable[[object], bool]]] = {
    Event.ANOMALY: {"kind": lambda v: isinstance(v, str)},
    Event.ANOMALIES_SUPPRESSED: {"kind": lambda v: isinstance(v, str),
                                 "suppressed": lambda v: _is_int(v)},
    Event.PROGRESS: {"t": _is_number},
    Event.RACE_STARTED: {"t0_ns": _is_int},
    Event.WORKER_CRASHED: {"worker": _is_int},
}


def read_log(path: Path) -> Iterator[dict[str, Any]]:
    """The records of a JSON-lines log.  A last line cut short by a crash is skipped (the
    log is otherwise whole); anything else that is not a pagerace record is damage."""
    lines = _read_text(path).split("\n")
    for n, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except (json.JSONDecodeError, RecursionError):
            if n >= len(lines) - 1:
                continue  # the line a crash cut short
            raise RecordError(f"{path}:{n}: not a JSON line") from None
        if not isinstance(rec, dict):
            raise RecordError(f"{path}:{n}: a JSON {type(rec).__name__}, not a log record")
        for key, ok in _EVENTS.get(rec.get("event"), {}).items():  # type: ignore[arg-type]
            if key not in rec or not ok(rec[key]):
                raise RecordError(f"{path}:{n}: {rec['event']!r} record: {key} is "
                                  + ("missing" if key not in rec else _shown(rec[key])))
        yield rec


def read_trace(path: Path, key: str) -> np.ndarray | None:
    """One ring of traces.npz (None when the run has no such ring)."""
    from stress.memory.trace import TRACE_DTYPE

    try:
        with np.load(path, allow_pickle=False) as rings:
            if key not in rings:
                return None
            ring: np.ndarray = rings[key]
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as e:
        raise RecordError(f"{path}: not a pagerace trace archive ({e})") from None
    if ring.dtype != TRACE_DTYPE or ring.ndim != 1:
        raise RecordError(f"{path}: {key} holds {ring.dtype} x {ring.shape}, not trace records")
    return ring


def _shown(v: object) -> str:
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."
