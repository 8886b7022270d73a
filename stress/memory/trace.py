"""Per-worker trace rings, like the kernel's page_ref tracepoints.

Each worker appends 8-word records to its own ring in the arena with
`Atomic64.trace` (one C call: timestamp and stores).  The rings live in shared
memory, so they outlive a crashed worker; merged by time they give the last
operations on any page across all workers.
"""

from __future__ import annotations

import numpy as np

from stress.memory.layout import TRACE_WORDS, Layout

TRACE_DTYPE = np.dtype([
    ("ts", "<i8"), ("tag", "<i8"), ("page", "<i8"), ("before", "<i8"), ("after", "<i8"),
    ("result", "<i8"), ("gen", "<i8"), ("aux", "<i8"),
])
assert TRACE_DTYPE.itemsize == TRACE_WORDS * 8


def worker_of(tag: np.ndarray | int) -> np.ndarray | int:
    return tag >> 16


def op_of(tag: np.ndarray | int) -> np.ndarray | int:
    return tag & 0xFFFF


def ring_records(words: np.ndarray, layout: Layout, worker: int) -> np.ndarray:
    """A copy of one worker's ring, oldest first (records being written may be torn)."""
    base = layout.trace_ring(worker)
    n = layout.config.trace_entries
    if n == 0:
        return np.zeros(0, TRACE_DTYPE)
    seq = int(words[base])
    raw = words[base + 1:base + 1 + n * TRACE_WORDS].copy().view(TRACE_DTYPE)
    if seq <= n:
        return raw[:seq]
    start = seq % n
    return np.concatenate([raw[start:], raw[:start]])


def all_records(words: np.ndarray, layout: Layout) -> np.ndarray:
    """Every worker's ring, merged by timestamp."""
    parts = [ring_records(words, layout, w) for w in range(layout.config.nworkers)]
    merged = np.concatenate(parts) if parts else np.zeros(0, TRACE_DTYPE)
    return merged[np.argsort(merged["ts"], kind="stable")]


def page_history(records: np.ndarray, page: int, worker: int, read_ops: set[int],
                      last: int = 32, longest: int = 256) -> np.ndarray:
    """A page's history that reaches back to `worker`'s (else anyone's) last read.

    An anomaly from a check-then-act is explained by its window, which opens at the
    reader's read: however many records came after it (up to `longest`), the history
    starts there, not just `last` records back.
    """
    mine: np.ndarray = records[records["page"] == page]
    start = max(0, len(mine) - last)
    if read_ops:
        is_read = np.isin(op_of(mine["tag"]), list(read_ops))
        reads = np.flatnonzero(is_read & (worker_of(mine["tag"]) == worker))
        if not reads.size:  # the reporter is not the reader (a stranger's final put)
            reads = np.flatnonzero(is_read)
        if reads.size and reads[-1] < start:
            start = max(int(reads[-1]), len(mine) - longest)
    return mine[start:]


def all_rings(words: np.ndarray, layout: Layout) -> list[np.ndarray]:
    """Every worker's ring (`ring_records`), worker by worker."""
    return [ring_records(words, layout, w) for w in range(layout.config.nworkers)]
