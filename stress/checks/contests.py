"""Contested race windows: did another worker touch the page between a check and its act?

A clean verdict says little if the races it was meant to survive never happened.  The
model traces the reads its check-then-act points rely on (a lockless lookup's
`slot_read`, a network put's `refcount_check`, the driver's `page_pool_put_page`
read, `swapcache_delete`); the window of each runs from that read to the reading
worker's next traced operation, its act.  A window is contested when a record of
another worker on the same page falls strictly inside it.

The trace rings hold each worker's last `trace_entries` records, so the counts are a
sample: the windows the rings held at each audit (workers parked) and at the end,
each window counted once.  What is counted is exact; what fell out of a ring between
two samples is not counted at all.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from stress.memory.trace import op_of
from stress.model.machine import OP_NAMES, Op

# The reads that open a window (docs/design.md, "Forensics"), each with the acts that
# close it: the tryget a lookup's slot load was for; the put a network put's refcount
# check was for; the driver's recycle or release; swap-cache removal's dropped reference
# (a put either side of clearing PG_swapcache).
WINDOWS = {
    Op.slot_read: (Op.get_page_unless_zero,),
    Op.refcount_check: (Op.put_page,),
    Op.page_pool_put_page: (Op.page_pool_recycle, Op.page_pool_release, Op.put_page),
    Op.swapcache_delete: (Op.put_page,),
}
WINDOW_READS = tuple(WINDOWS)


class WindowCounter:
    """Windows seen and contested per kind of read, over successive samples of the rings."""

    def __init__(self, nworkers: int) -> None:
        self.after = [np.iinfo(np.int64).min] * nworkers  # each worker's last counted read
        self.windows = dict.fromkeys(WINDOW_READS, 0)
        self.contested = dict.fromkeys(WINDOW_READS, 0)

    def sample(self, rings: Sequence[np.ndarray]) -> None:
        """Count the windows in these rings (one per worker, oldest first) not counted yet."""
        if not any(len(r) for r in rings):
            return
        merged = np.concatenate(rings)
        owner = np.concatenate([np.full(len(r), w, np.int64) for w, r in enumerate(rings)])
        # One sortable key per record: page rank, then time rank (ranks keep it in int64).
        _, page_rank = np.unique(merged["page"], return_inverse=True)
        ts_values, ts_rank = np.unique(merged["ts"], return_inverse=True)
        stride = len(ts_values) + 1
        key = page_rank.astype(np.int64) * stride + ts_rank
        order = np.argsort(key, kind="stable")
        key_sorted, owner_sorted = key[order], owner[order]
        at = 0
        for w, ring in enumerate(rings):
            mine = np.arange(at, at + len(ring))
            at += len(ring)
            ops = np.asarray(op_of(ring["tag"]))
            others = np.concatenate([[0], np.cumsum(owner_sorted != w)])
            last = self.after[w]
            for read, acts in WINDOWS.items():
                cur, act = _windows(ring, ops, read, acts)
                fresh = ring["ts"][cur] > self.after[w]  # not counted by an earlier sample
                cur, act = cur[fresh], act[fresh]
                if not cur.size:
                    continue
                base = page_rank[mine[cur]].astype(np.int64) * stride
                lo = np.searchsorted(key_sorted, base + ts_rank[mine[cur]], "right")
                hi = np.searchsorted(key_sorted, base + ts_rank[mine[act]], "left")
                self.windows[read] += int(cur.size)
                self.contested[read] += int(np.count_nonzero(
                    others[np.maximum(hi, lo)] - others[lo]))
                last = max(last, int(ring["ts"][cur[-1]]))
            self.after[w] = last

    def summary(self) -> dict[str, dict[str, int]]:
        """{read: {"windows": n, "contested": k}} for the kinds of window that were seen."""
        return {OP_NAMES[op]: {"windows": n, "contested": self.contested[op]}
                for op, n in self.windows.items() if n}


def _windows(ring: np.ndarray, ops: np.ndarray, read: int,
             acts: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Indexes of each closed window's read and act in one worker's ring (oldest first).

    The act is the worker's next record on the same page among the read and its acts; a
    read followed by another read of the page, or by nothing yet, closes no window.
    """
    sel = np.flatnonzero((ops == read) | np.isin(ops, acts))
    sel = sel[np.lexsort((sel, ring["page"][sel]))]
    cur, nxt = sel[:-1], sel[1:]
    closed = (ops[cur] == read) & (ring["page"][nxt] == ring["page"][cur]) \
        & np.isin(ops[nxt], acts)
    order = np.argsort(cur[closed], kind="stable")
    return cur[closed][order], nxt[closed][order]


def never_contested(windows: dict[str, dict[str, int]]) -> bool:
    """Not one window was contested (or none opened): the race did not happen."""
    return not any(w["contested"] for w in windows.values())
