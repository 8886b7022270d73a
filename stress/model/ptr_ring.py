"""A bounded multi-producer multi-consumer ring in the arena (include/linux/ptr_ring.h).

The kernel's ptr_ring takes a spinlock; here it is Vyukov's bounded queue, one
sequence word per cell, so producers and consumers in different processes never
block each other and a crashed worker cannot leave a lock held.
"""

from __future__ import annotations

from typing import Final

import numpy as np

from stress.anomalies import Anomaly, Kind
from stress.memory.backends import Memory
from stress.memory.layout import RING_HDR, RING_HEAD, RING_TAIL

# A healthy ring makes progress within a few tries per competing CPU; this many
# without progress means its sequence words are damaged, and waiting would hang.
MAX_TRIES: Final = 1 << 16


class RingStuck(Exception):
    """A ring loop ran out of tries: the ring at `base` is damaged (a finding, not a hang)."""

    def __init__(self, op: str, base: int, tries: int) -> None:
        super().__init__(f"{op}: no progress on the ring at slot {base} after {tries} tries")
        self.op = op
        self.base = base

    def anomaly(self, worker: int = -1) -> Anomaly:
        """The finding it is: a retry loop that ran out of tries (in `worker`, if one)."""
        return Anomaly(Kind.RETRY_BOUND, -1, self.op, reason=str(self), worker=worker)


def ptr_ring_init(words: np.ndarray, base: int, size: int) -> None:
    words[base + RING_HEAD] = 0
    words[base + RING_TAIL] = 0
    words[base + RING_HDR:base + RING_HDR + 2 * size:2] = np.arange(size, dtype=np.int64)


def ptr_ring_produce(sys: Memory, base: int, size: int, v: int) -> bool:
    """Append v; False when the ring is full."""
    mask = size - 1
    pos = sys.load(base + RING_TAIL)
    for _ in range(MAX_TRIES):
        cell = base + RING_HDR + 2 * (pos & mask)
        dif = sys.load(cell) - pos
        if dif == 0:
            seen = sys.cas(base + RING_TAIL, pos, pos + 1)
            if seen == pos:
                sys.store(cell + 1, v)
                sys.store(cell, pos + 1)
                return True
            pos = seen
        elif dif < 0:
            return False
        else:
            pos = sys.load(base + RING_TAIL)
    raise RingStuck("ptr_ring_produce", base, MAX_TRIES)


def ptr_ring_consume(sys: Memory, base: int, size: int) -> int:
    """Take the oldest value; -1 when the ring is empty."""
    mask = size - 1
    pos = sys.load(base + RING_HEAD)
    for _ in range(MAX_TRIES):
        cell = base + RING_HDR + 2 * (pos & mask)
        dif = sys.load(cell) - (pos + 1)
        if dif == 0:
            seen = sys.cas(base + RING_HEAD, pos, pos + 1)
            if seen == pos:
                v = sys.load(cell + 1)
                sys.store(cell, pos + size)
                return v
            pos = seen
        elif dif < 0:
            return -1
        else:
            pos = sys.load(base + RING_HEAD)
    raise RingStuck("ptr_ring_consume", base, MAX_TRIES)


def ptr_ring_entries(words: np.ndarray, base: int, size: int) -> np.ndarray:
    """The values in a quiescent ring, oldest first (for audits; none if it is damaged)."""
    head, tail = int(words[base + RING_HEAD]), int(words[base + RING_TAIL])
    if not 0 <= tail - head <= size:  # ptr_ring_damage says why
        return np.zeros(0, np.int64)
    idx = np.arange(head, tail, dtype=np.int64) & (size - 1)
    entries: np.ndarray = words[base + RING_HDR + 1 + 2 * idx].copy()
    return entries


def ptr_ring_damage(words: np.ndarray, base: int, size: int) -> str | None:
    """Why a quiescent ring's sequence words disagree with its head and tail, or None.

    Between operations, the cell of every position in [head, tail) holds position + 1
    (filled, for the consumer), and the cell of every position in [tail, head + size)
    holds the position itself (empty, for the producer of that lap).
    """
    head, tail = int(words[base + RING_HEAD]), int(words[base + RING_TAIL])
    if not 0 <= tail - head <= size:
        return f"head {head}, tail {tail}: {tail - head} entries in a ring of {size}"
    pos = np.arange(head, head + size, dtype=np.int64)
    want = np.where(pos < tail, pos + 1, pos)
    seq = words[base + RING_HDR + 2 * (pos & (size - 1))]
    bad = np.flatnonzero(seq != want)
    if bad.size:
        k = int(bad[0])
        what = "filled" if pos[k] < tail else "empty"
        return (f"cell {int(pos[k]) & (size - 1)} ({what}, position {int(pos[k])}) has sequence "
                f"{int(seq[k])}, not {int(want[k])}")
    return None
