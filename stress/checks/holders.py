"""Who holds references, counted from the arena with numpy (the audit's expected counts)."""

from __future__ import annotations

import numpy as np

from stress.memory import Arena
from stress.memory.layout import POOL_CACHE_COUNT, W_LEDGER_LEN
from stress.model.ptr_ring import ptr_ring_entries


def page_states(arena: Arena) -> np.ndarray:
    """Each page's state as the harness shadows it (PS_FREE, PS_ALLOCATED, ...), a view."""
    L = arena.layout
    states: np.ndarray = arena.words[L.pstate:L.pstate + L.config.npages]
    return states


def in_arena(pages: np.ndarray, n: int) -> np.ndarray:
    """The entries that are page indexes at all (a damaged structure may name others)."""
    ok: np.ndarray = pages[(pages >= 0) & (pages < n)]
    return ok


def slot_pages(words: np.ndarray, start: int, n: int) -> np.ndarray:
    """Pages named by a region of page+1 slots (page cache, PTEs), as stored."""
    slots = words[start:start + n]
    pages: np.ndarray = slots[slots != 0] - 1
    return pages


def pool_pages(arena: Arena) -> list[np.ndarray]:
    """Per pool, the pages in its alloc cache and its ring (quiescent)."""
    L, words = arena.layout, arena.words
    out = []
    for k in range(L.config.npools):
        n = int(words[L.pool(k) + POOL_CACHE_COUNT])
        cache = words[L.pool_cache(k):L.pool_cache(k) + n].copy()
        ring = ptr_ring_entries(words, L.pool_ring(k), L.config.pool_ring_size)
        out.append(np.concatenate([cache, ring]))
    return out


def queue_pages(arena: Arena) -> np.ndarray:
    L = arena.layout
    parts = [ptr_ring_entries(arena.words, L.queue(k), L.config.queue_size)
             for k in range(L.config.nqueues)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def ledger_pages(arena: Arena) -> np.ndarray:
    """Every worker's published ledger: one page index per reference it holds."""
    L, words = arena.layout, arena.words
    parts = []
    for w in range(L.config.nworkers):
        n = int(words[L.worker(w) + W_LEDGER_LEN])
        parts.append(words[L.ledger(w):L.ledger(w) + n])
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def expected_refcounts(arena: Arena, pool_free_refcount: int) -> np.ndarray:
    """References every holder accounts for, per page."""
    L, words = arena.layout, arena.words
    n = L.config.npages
    held = [
        ledger_pages(arena),
        slot_pages(words, L.cache, L.config.cache_slots),
        slot_pages(words, L.pte, L.config.pte_slots),
        queue_pages(arena),
    ]
    if pool_free_refcount:
        held.extend(pool_pages(arena))
    allp = in_arena(np.concatenate(held).astype(np.int64), n)  # check_indexes reports the rest
    if not allp.size:
        return np.zeros(n, np.int64)
    counts: np.ndarray = np.bincount(allp, minlength=n)[:n]
    return counts
