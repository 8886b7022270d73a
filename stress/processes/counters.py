"""The arena's counters read back as typed rows: per worker, per kind, per pool.

Workers count their own detections, first-detection times and operations in
their control regions, and the pools count recycles; this is the one place that
knows those words' offsets.
"""

from __future__ import annotations

from dataclasses import dataclass

from stress.memory import Arena
from stress.memory.layout import (
    POOL_RECYCLE_RELEASED,
    POOL_RECYCLED_CACHE,
    POOL_RECYCLED_RING,
    POOL_RELEASED_SHARED,
    POOL_RING_FULL,
    W_COUNTS,
    W_FIRST_NS,
    W_HEARTBEAT,
    W_OPS,
    W_PARKED_EPOCH,
    W_PID,
)
from stress.processes.reporting import KIND_INDEX


@dataclass(frozen=True)
class PoolRow:
    """One page pool's recycling, as page_pool_put_page counted it."""

    pool: int
    recycled_cache: int
    recycled_ring: int
    released: int
    released_ring_full: int
    released_shared: int

    @property
    def recycle_ratio(self) -> float | None:
        total = self.recycled_cache + self.recycled_ring + self.released
        return round((self.recycled_cache + self.recycled_ring) / total, 4) if total else None


class Counters:
    """Reads (never writes) the counters of one arena."""

    def __init__(self, arena: Arena) -> None:
        self.arena = arena
        self.layout, self.words = arena.layout, arena.words
        self.nworkers = self.layout.config.nworkers

    def _word(self, w: int, offset: int) -> int:
        return int(self.words[self.layout.worker(w) + offset])

    def _per_kind(self, offset: int) -> list[dict[str, int]]:
        """Each worker's nonzero per-kind words at `offset` in its control region."""
        out = []
        for w in range(self.nworkers):
            base = self.layout.worker(w) + offset
            out.append({kind: v for kind, k in KIND_INDEX.items()
                        if (v := int(self.words[base + k]))})
        return out

    def kind_counts(self) -> dict[str, int]:
        """Detections the workers made, summed over workers."""
        out: dict[str, int] = {}
        for counts in self._per_kind(W_COUNTS):
            for kind, n in counts.items():
                out[kind] = out.get(kind, 0) + n
        return out

    def first_ns(self) -> dict[str, int]:
        """Each kind's first report by any worker (monotonic ns)."""
        out: dict[str, int] = {}
        for firsts in self._per_kind(W_FIRST_NS):
            for kind, ns in firsts.items():
                out[kind] = min(out.get(kind, ns), ns)
        return out

    def ops(self) -> list[int]:
        return [self._word(w, W_OPS) for w in range(self.nworkers)]

    def beats(self) -> list[int]:
        return [self._word(w, W_HEARTBEAT) for w in range(self.nworkers)]

    def not_ready(self) -> list[int]:
        """Workers that have not published their pid (not attached, actors not built)."""
        return [w for w in range(self.nworkers) if self._word(w, W_PID) == 0]

    def not_parked(self, epoch: int) -> list[int]:
        return [w for w in range(self.nworkers) if self._word(w, W_PARKED_EPOCH) != epoch]

    def pools(self) -> list[PoolRow]:
        rows = []
        for k in range(self.layout.config.npools):
            base = self.layout.pool(k)
            rows.append(PoolRow(k, *(int(self.words[base + off]) for off in (
                POOL_RECYCLED_CACHE, POOL_RECYCLED_RING, POOL_RECYCLE_RELEASED, POOL_RING_FULL,
                POOL_RELEASED_SHARED))))
        return rows
