"""Where everything lives in the arena, in 64-bit slots.

The layout is a pure function of `ArenaConfig`, so a process that attaches by
name recomputes it from the sizes in the header and compares offsets: a
mismatch means another build of pagerace made the arena, and it is refused.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Final

import numpy as np

# Final: mypyc compiles a use of these to the number itself, not a lookup by name.
MAGIC: Final = 0x5041474552414345  # "PAGERACE"
# 5: the lifetime-charge and PTE-map shadows; 4: lru.next in the page record; 3: page lock
# holders; 2: no worker state word, no pool destroyed word
LAYOUT_VERSION: Final = 5
WORD: Final = 8

# struct page: one 72-byte record, nine words (docs/model.md section 1).
PAGE_WORDS: Final = 9
REFCOUNT: Final = 0
FLAGS: Final = 1
MAPCOUNT: Final = 2
MAPPING: Final = 3
MEMCG: Final = 4
PP: Final = 5
DTOR: Final = 6
GEN: Final = 7
LRU: Final = 8  # lru.next: written by the LRU list, and by a destructor that overlays it
PAGE_FIELDS = ("refcount", "flags", "mapcount", "mapping", "memcg", "pp", "dtor", "gen", "lru")
PAGE_DTYPE = np.dtype({"names": list(PAGE_FIELDS), "formats": ["<i8"] * PAGE_WORDS}, align=True)
assert PAGE_DTYPE.itemsize == PAGE_WORDS * WORD

# Global words: the run state and counters every process can see.
GLOBAL_WORDS: Final = 16
G_RUN_STATE: Final = 0
G_PAUSE_EPOCH: Final = 1
G_NR_LEAKED: Final = 2
G_SUPERVISOR_PID: Final = 3
# Run states, written by the supervisor only.
RUN_STARTING: Final = 0
RUN_RUNNING: Final = 1
RUN_PAUSE: Final = 2
RUN_DRAIN: Final = 3
RUN_STOP: Final = 4

# Free list: a Treiber stack with a tagged head; next[] follows the header.
FREELIST_HDR: Final = 2
FL_HEAD: Final = 0
FL_COUNT: Final = 1
FL_HEAD_INDEX: Final = (1 << 32) - 1  # the head word: tag << 32 | 1 + the top page (0: empty)

# A bounded MPMC ring (Vyukov): head, tail, then (sequence, value) cells.
RING_HDR: Final = 2
RING_HEAD: Final = 0
RING_TAIL: Final = 1

# A page pool: counters, the owner's alloc cache, then its ptr_ring.
POOL_HDR: Final = 16
POOL_ID: Final = 0
POOL_HOLD_CNT: Final = 1
POOL_RELEASE_CNT: Final = 2
POOL_CACHE_COUNT: Final = 3
POOL_RECYCLED_CACHE: Final = 4
POOL_RECYCLED_RING: Final = 5
POOL_RECYCLE_RELEASED: Final = 6  # released instead of recycled, for any reason
POOL_RING_FULL: Final = 7  # of those, because the ring was full
POOL_RELEASED_SHARED: Final = 8  # of those, because page_pool_put_page saw a count other than 1

# A worker's region: control words, anomaly counts and first-seen times per kind,
# its published ledger, its trace ring.
W_PID: Final = 0
W_HEARTBEAT: Final = 1
W_OPS: Final = 2
W_LEDGER_LEN: Final = 3
W_PARKED_EPOCH: Final = 4
W_COUNTS: Final = 16  # one word per anomaly kind
W_FIRST_NS: Final = 48  # monotonic ns of each kind's first report, 0 = never
MAX_KINDS: Final = 32
CTRL_WORDS: Final = W_FIRST_NS + MAX_KINDS
TRACE_WORDS: Final = 8

# The PTE-map shadow: what each PTE slot was last set to map, as
# gen(page) mod 2**24 << PTE_MAP_GEN_SHIFT | page + 1 (one word, so a reader never sees a
# page with another mapping's generation).
PTE_MAP_GEN_SHIFT: Final = 40
PTE_MAP_PAGE: Final = (1 << 32) - 1
PTE_MAP_GEN: Final = (1 << 24) - 1


def _align8(n: int) -> int:
    return (n + 7) & ~7


@dataclass(frozen=True)
class ArenaConfig:
    """The sizes an arena is made from; everything else is derived."""

    npages: int = 4096
    nworkers: int = 2
    npools: int = 1
    pool_ring_size: int = 256
    pool_cache_size: int = 64
    nqueues: int = 2
    queue_size: int = 256
    cache_slots: int = 256
    pte_slots: int = 256
    ncgroups: int = 4
    ledger_size: int = 1024
    trace_entries: int = 4096

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"{f.name}: must be a non-negative integer, got {v!r}")
        if self.npages < 1 or self.npages >= 1 << 31:
            raise ValueError(f"npages: must be in [1, 2**31), got {self.npages}")
        for name in ("pool_ring_size", "queue_size", "trace_entries"):
            v = getattr(self, name)
            if v and v & (v - 1):
                raise ValueError(f"{name}: must be a power of two, got {v}")

    def as_header(self) -> list[int]:
        return list(asdict(self).values())


HEADER_WORDS = 64
_H_MAGIC, _H_VERSION, _H_NBYTES, _H_CREATOR = range(4)
_H_CONFIG = 8  # the ArenaConfig fields, in declaration order
_H_OFFSETS = 32  # the region offsets, in Layout order


@dataclass(frozen=True)
class Layout:
    """Slot offsets of every region for one `ArenaConfig`."""

    config: ArenaConfig
    globals: int
    pages: int
    pstate: int
    lock_owner: int
    charged: int
    freelist: int
    pools: int
    pool_words: int
    queues: int
    queue_words: int
    cache: int
    pte: int
    pte_map: int
    memcg: int
    workers: int
    worker_words: int
    nslots: int

    @classmethod
    def of(cls, c: ArenaConfig) -> Layout:
        at = HEADER_WORDS

        def take(n: int) -> int:
            nonlocal at
            start, at = at, at + _align8(n)
            return start

        globals_ = take(GLOBAL_WORDS)
        pages = take(c.npages * PAGE_WORDS)
        pstate = take(c.npages)
        lock_owner = take(c.npages)  # the harness's shadow: who holds each page lock
        charged = take(c.npages)  # the harness's shadow: the cgroup of a lifetime charge
        freelist = take(FREELIST_HDR + c.npages)
        pool_words = _align8(POOL_HDR + c.pool_cache_size + ring_words(c.pool_ring_size))
        pools = take(c.npools * pool_words)
        queue_words = _align8(ring_words(c.queue_size))
        queues = take(c.nqueues * queue_words)
        cache = take(c.cache_slots)
        pte = take(c.pte_slots)
        pte_map = take(c.pte_slots)  # the harness's shadow: what each PTE was set to map
        memcg = take(c.ncgroups + 1)  # ids start at 1: 0 means uncharged
        worker_words = _align8(CTRL_WORDS + c.ledger_size + 1 + c.trace_entries * TRACE_WORDS)
        workers = take(c.nworkers * worker_words)
        return cls(c, globals_, pages, pstate, lock_owner, charged, freelist, pools, pool_words,
                   queues, queue_words, cache, pte, pte_map, memcg, workers, worker_words, at)

    @property
    def nbytes(self) -> int:
        return self.nslots * WORD

    def offsets(self) -> list[int]:
        return [getattr(self, f.name) for f in fields(self) if f.name != "config"]

    # Addresses of the structures inside the regions.
    def page(self, p: int) -> int:
        return self.pages + p * PAGE_WORDS

    def pool(self, k: int) -> int:
        return self.pools + k * self.pool_words

    def pool_cache(self, k: int) -> int:
        return self.pool(k) + POOL_HDR

    def pool_ring(self, k: int) -> int:
        return self.pool_cache(k) + self.config.pool_cache_size

    def queue(self, k: int) -> int:
        return self.queues + k * self.queue_words

    def worker(self, w: int) -> int:
        return self.workers + w * self.worker_words

    def ledger(self, w: int) -> int:
        return self.worker(w) + CTRL_WORDS

    def trace_ring(self, w: int) -> int:
        return self.ledger(w) + self.config.ledger_size

    # The header: what attach() checks.
    def header(self, creator_pid: int) -> dict[int, int]:
        words = {_H_MAGIC: MAGIC, _H_VERSION: LAYOUT_VERSION, _H_NBYTES: self.nbytes,
                 _H_CREATOR: creator_pid}
        for k, v in enumerate(self.config.as_header()):
            words[_H_CONFIG + k] = v
        for k, v in enumerate(self.offsets()):
            words[_H_OFFSETS + k] = v
        return words


def ring_words(size: int) -> int:
    return RING_HDR + 2 * size


def read_header(words: np.ndarray) -> tuple[int, int, int, int, ArenaConfig, list[int]]:
    """(magic, version, nbytes, creator pid, config, offsets) from header words."""
    nconf = len(fields(ArenaConfig))
    config = ArenaConfig(*(int(v) for v in words[_H_CONFIG:_H_CONFIG + nconf]))
    noff = len(fields(Layout)) - 1
    offsets = [int(v) for v in words[_H_OFFSETS:_H_OFFSETS + noff]]
    return (int(words[_H_MAGIC]), int(words[_H_VERSION]), int(words[_H_NBYTES]),
            int(words[_H_CREATOR]), config, offsets)
