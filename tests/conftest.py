"""Shared fixtures: a fresh arena per test and a model machine over it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stress.anomalies import Anomaly
from stress.memory import Arena, ArenaConfig
from stress.model import Machine, ModelConfig, mem_init, page_pool_init
from stress.schemes import DEFAULT_SCHEME, load_scheme

SMALL = ArenaConfig(npages=64, nworkers=2, npools=2, pool_ring_size=8, pool_cache_size=4,
                    nqueues=1, queue_size=8, cache_slots=16, pte_slots=16, ncgroups=3,
                    ledger_size=64, trace_entries=64)


@pytest.fixture
def arena() -> Iterator[Arena]:
    a = Arena.create(SMALL)
    mem_init(a)
    yield a
    a.close()


class Harness:
    """A machine plus the anomalies it reported, for one test."""

    def __init__(self, arena: Arena, **options: Any) -> None:
        self.arena = arena
        self.anomalies: list[Anomaly] = []
        cfg = ModelConfig(**({"scheme": DEFAULT_SCHEME} | options))
        self.m = Machine(arena, cfg, load_scheme(cfg.scheme), self.anomalies.append, worker=0,
                         trace=True)
        for pool in range(arena.layout.config.npools):
            page_pool_init(self.m, pool, owner=0)

    def kinds(self) -> list[str]:
        return [a.kind.value for a in self.anomalies]

    def page(self, p: int) -> dict[str, int]:
        return {k: int(self.arena.pages[k][p]) for k in self.arena.pages.dtype.names}

    def words_at(self, pool: int, word: int) -> int:
        """A pool header word."""
        return int(self.arena.words[self.arena.layout.pool(pool) + word])

    def pstate(self, p: int) -> int:
        return int(self.arena.words[self.arena.layout.pstate + p])


@pytest.fixture
def harness(arena: Arena) -> Callable[..., Harness]:
    def make(**options: Any) -> Harness:
        return Harness(arena, **options)

    return make


def pytest_report_header() -> str:
    import stress

    return f"pagerace from {stress.__file__}"
