"""JSON-lines logs, one file per process, written through structlog.

`WriteLogger` flushes after every record, so whatever a process logged before
it crashed is on disk.
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import numpy as np
import structlog

from stress.memory.trace import op_of, worker_of
from stress.model.machine import OP_NAMES


def open_log(path: Path, **context: Any) -> tuple[Any, IO[str]]:
    """A bound structlog logger writing JSON lines to path, and the file to close."""
    f = path.open("a", encoding="utf-8", buffering=1)
    logger = structlog.wrap_logger(
        structlog.WriteLogger(f),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
    )
    return logger.bind(**context), f


def op_name(code: int) -> str:
    return OP_NAMES.get(code, f"op{code}")


def history_rows(records: np.ndarray) -> list[dict[str, int | str]]:
    """Trace records as plain dicts for a log line or a report."""
    return [
        {"ts": int(r["ts"]), "worker": int(worker_of(int(r["tag"]))),
         "op": op_name(int(op_of(int(r["tag"])))), "page": int(r["page"]),
         "before": int(r["before"]), "after": int(r["after"]), "result": int(r["result"]),
         "gen": int(r["gen"]), "aux": int(r["aux"])}
        for r in records
    ]
