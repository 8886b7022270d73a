"""JSON-lines logs, one file per process, written through structlog.

`WriteLogger` flushes after every record, so whatever a process logged before
it crashed is on disk.  The file comes from `RunDir.open_log`, whose write
errors name the file.
"""

from __future__ import annotations

from typing import Any, Protocol, TextIO, cast

import numpy as np
import structlog

from stress.memory.trace import op_of, worker_of
from stress.model.machine import OP_NAMES


class LineSink(Protocol):
    def write(self, text: str, /) -> int: ...
    def flush(self) -> None: ...


def open_log(f: LineSink, **context: Any) -> Any:
    """A bound structlog logger writing JSON lines to f, flushed per record."""
    logger = structlog.wrap_logger(
        structlog.WriteLogger(cast(TextIO, f)),  # it only writes and flushes
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.dict_tracebacks,
            structlog.processors.JSONRenderer(),
        ],
    )
    return logger.bind(**context)


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
