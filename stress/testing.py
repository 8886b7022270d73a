"""Test helpers, public: a model to poke at, for pagerace's tests and a scheme's own.

A plug-in author tests a scheme the way pagerace tests its built-ins: boot a small
arena, drive the model's functions by hand, and look at what was reported::

    from stress.model import alloc_page, put_page
    from stress.testing import Harness

    with Harness.booted(scheme="my_schemes.py:MyScheme") as h:
        p = alloc_page(h.m)
        put_page(h.m, p)
        assert h.kinds() == []
        assert not h.finish().audit.anomalies  # nothing leaked, nothing left in use
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from stress.anomalies import Anomaly
from stress.checks.lifecycle import Finished, attach, finish
from stress.memory import Arena, ArenaConfig
from stress.model import ModelConfig, mem_init
from stress.schemes import DEFAULT_SCHEME, load_scheme

# Small enough that a test sees every page, large enough for every structure.
SMALL = ArenaConfig(npages=64, nworkers=2, npools=2, pool_ring_size=8, pool_cache_size=4,
                    nqueues=1, queue_size=8, cache_slots=16, pte_slots=16, ncgroups=3,
                    ledger_size=64, trace_entries=64)


class Harness:
    """A machine (worker 0, tracing) over an initialised arena, and what it reported.

    Several harnesses may share one arena (each its own options, the same pages);
    every pool is initialised for worker 0.
    """

    def __init__(self, arena: Arena, **options: Any) -> None:
        self.arena = arena
        self.anomalies: list[Anomaly] = []
        cfg = ModelConfig(**({"scheme": DEFAULT_SCHEME} | options))
        self.m = attach(arena, cfg, load_scheme(cfg.scheme), self.anomalies.append, worker=0,
                        trace=True)

    @classmethod
    @contextmanager
    def booted(cls, config: ArenaConfig = SMALL, **options: Any) -> Iterator[Harness]:
        """A harness over a fresh private arena, gone when the block ends."""
        arena = Arena.create(config, private=True)
        try:
            mem_init(arena)
            yield cls(arena, **options)
        finally:
            arena.close()

    def kinds(self) -> list[str]:
        """The kinds reported so far, in order."""
        return [a.kind.value for a in self.anomalies]

    def finish(self) -> Finished:
        """The end of a run: teardown, then the final audit (its anomalies are returned,
        the teardown's are reported)."""
        return finish(self.m, self.anomalies.append)

    def page(self, p: int) -> dict[str, int]:
        """Every field of page `p`'s record."""
        return {k: int(self.arena.pages[k][p]) for k in self.arena.pages.dtype.names or ()}

    def words_at(self, pool: int, word: int) -> int:
        """A pool header word."""
        return int(self.arena.words[self.arena.layout.pool(pool) + word])

    def pstate(self, p: int) -> int:
        return int(self.arena.words[self.arena.layout.pstate + p])
