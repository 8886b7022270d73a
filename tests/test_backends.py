"""The memory backends across processes: atomic and locked never lose an update, racy does."""

from __future__ import annotations

import pytest

from stress.memory import Arena, ArenaConfig
from stress.memory.selftest import fetch_add_loop, race, tryget_put_loop

CONFIG = ArenaConfig(npages=8, nworkers=1, npools=0, nqueues=0, cache_slots=0, pte_slots=0,
                     ncgroups=0, ledger_size=0, trace_entries=0)
SLOT_OF_NOTHING = 0  # a slot in the page table, unused by these tests


def slot(arena: Arena) -> int:
    return arena.layout.pages + SLOT_OF_NOTHING


@pytest.mark.parametrize("backend", ["atomic", "locked"])
def test_two_processes_million_fetch_add_each(backend: str) -> None:
    """1,000,000 fetch_add from each of two processes ends at exactly 2,000,000."""
    n = 1_000_000
    with Arena.create(CONFIG, backend=backend) as arena:
        race(arena, fetch_add_loop, [(slot(arena), n, 0), (slot(arena), n, 1)])
        assert arena.atomic.load(slot(arena)) == 2 * n


def test_racy_backend_loses_updates() -> None:
    """The bug model is real: two racy writers lose increments."""
    n = 1_000_000
    with Arena.create(CONFIG, backend="racy") as arena:
        race(arena, fetch_add_loop, [(slot(arena), n, 0), (slot(arena), n, 1)])
        assert arena.atomic.load(slot(arena)) < 2 * n


@pytest.mark.parametrize("backend", ["atomic", "locked"])
def test_add_unless_never_passes_zero(backend: str) -> None:
    """Racing tryget/put pairs around a final put never resurrect or underflow the count."""
    n = 300_000 if backend == "atomic" else 60_000
    with Arena.create(CONFIG, backend=backend) as arena:
        arena.atomic.store(slot(arena), 1)
        bad = race(arena, tryget_put_loop, [(slot(arena), n, 0, n // 2), (slot(arena), n, 1, -1)])
        assert bad == [0, 0]
        assert arena.atomic.load(slot(arena)) == 0
