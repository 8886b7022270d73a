"""Audits of the structures' contents: who is on the free list, in a pool, in a slot, locked.

Each structure and the page records must tell the same story at a quiescent point:
the free list holds exactly the free pages, once each; a pool holds its own pages,
once each; a page-cache slot and the page's `mapping` name each other; a page's
mapcount counts the PTEs that map it; PG_locked is set exactly when the harness
knows a holder.  Pages leaked by a reported bad page keep whatever they had and
are left out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from stress._atomic import WALK_OUTSIDE, WALK_TWICE
from stress.anomalies import Kind
from stress.checks.holders import (
    in_arena,
    ledger_pages,
    page_states,
    pool_pages,
    queue_pages,
    slot_pages,
)
from stress.memory import Arena
from stress.memory.layout import FL_HEAD, FL_HEAD_INDEX, FREELIST_HDR
from stress.model import PS_FREE, PS_LEAKED, PS_POOLED
from stress.model import flags as F
from stress.model.page_pool import pp_encode
from stress.model.ptr_ring import ptr_ring_damage

if TYPE_CHECKING:
    from stress.checks.audit import AuditResult

_NONE = np.zeros(0, np.int64)


def check_indexes(arena: Arena, r: AuditResult) -> None:
    """Every structure that names pages names pages of the arena (the other checks skip the
    rest, so a damaged entry is reported once, here, and never indexes past the arena)."""
    L, words = arena.layout, arena.words
    n = L.config.npages
    named = [("the page cache", slot_pages(words, L.cache, L.config.cache_slots)),
             ("the PTE table", slot_pages(words, L.pte, L.config.pte_slots)),
             ("a socket queue", queue_pages(arena)), ("a worker's ledger", ledger_pages(arena))]
    named += [(f"pool {k}", pages) for k, pages in enumerate(pool_pages(arena))]
    for where, pages in named:
        bad = pages[(pages < 0) | (pages >= n)]
        if bad.size:
            r.add(Kind.MAPPING_MISMATCH, _NONE, f"{where} holds "
                  f"{', '.join(map(str, bad[:4].tolist()))}: not a page of the arena")


def check_free_list(arena: Arena, r: AuditResult) -> None:
    """Walk the free list (at most npages steps): every page on it free, none twice."""
    L, words = arena.layout, arena.words
    n = L.config.npages
    pstate = page_states(arena)
    head = int(words[L.freelist + FL_HEAD]) & FL_HEAD_INDEX
    mask, end, at = arena.atomic.walk_links(L.freelist + FREELIST_HDR, n, head)
    if end == WALK_OUTSIDE:
        r.add(Kind.FREE_LIST_VIOLATION, _NONE, f"free list links to page {at}, outside "
              f"the arena")
        return
    if end == WALK_TWICE:
        r.add(Kind.FREE_LIST_VIOLATION, np.array([at]), "on the free list twice (a cycle)")
        return
    on_list = np.frombuffer(mask, bool)
    r.where(Kind.FREE_LIST_VIOLATION, on_list & (pstate != PS_FREE),
            "on the free list but not free")
    r.where(Kind.FREE_LIST_VIOLATION, ~on_list & (pstate == PS_FREE),
            "free but not on the free list")


def check_pool_contents(arena: Arena, r: AuditResult) -> None:
    """A pool's cache and ring hold its own pages, pooled, once across all pools."""
    n = arena.layout.config.npages
    pstate = page_states(arena)
    pp = arena.pages["pp"]
    seen = np.zeros(n, np.int64)
    for k, pages in enumerate(pool_pages(arena)):
        pages = in_arena(pages, n)  # (check_indexes reports the others)
        np.add.at(seen, pages, 1)
        foreign = pages[pp[pages] != pp_encode(k)]
        if foreign.size:
            r.add(Kind.MAPPING_MISMATCH, foreign, f"in pool {k}, but its pp word does not "
                  f"name pool {k}", pool=k)
        unpooled = pages[pstate[pages] != PS_POOLED]
        if unpooled.size:
            r.add(Kind.DOUBLE_FREE, unpooled, f"in pool {k}, but the page is not pooled",
                  pool=k)
    r.where(Kind.DOUBLE_FREE, seen > 1, lambda p: f"in the pools {int(seen[p])} times")


def check_mappings(arena: Arena, r: AuditResult) -> None:
    """Page-cache slots and `mapping` name each other; mapcount counts the PTEs."""
    L, words = arena.layout, arena.words
    n = L.config.npages
    live = page_states(arena) != PS_LEAKED
    mapping = arena.pages["mapping"]
    slots = words[L.cache:L.cache + L.config.cache_slots]
    named = np.zeros(n, np.int64)  # index + 1 of the slot naming each page
    idx = np.flatnonzero((slots > 0) & (slots <= n))
    named[slots[idx] - 1] = idx + 1
    r.where(Kind.MAPPING_MISMATCH, live & (named != mapping), lambda p: (
        f"page-cache slot {int(named[p]) - 1} names it, its mapping is "
        f"{int(mapping[p]) - 1 if mapping[p] else 'NULL'}" if named[p] else
        f"its mapping names index {int(mapping[p]) - 1}, whose slot does not name it"))
    pte = in_arena(slot_pages(words, L.pte, L.config.pte_slots), n)
    maps = np.bincount(pte, minlength=n)[:n]
    mapcount = arena.pages["mapcount"]
    r.where(Kind.MAPPING_MISMATCH, live & (mapcount + 1 != maps),
            lambda p: f"mapcount {int(mapcount[p])}, {int(maps[p])} PTEs map it")


def check_page_locks(arena: Arena, r: AuditResult) -> None:
    """PG_locked is set exactly on the pages whose lock the harness knows a holder of."""
    L, words = arena.layout, arena.words
    n = L.config.npages
    live = page_states(arena) != PS_LEAKED
    locked = (arena.pages["flags"] >> F.PG_locked & 1).astype(bool)
    held = words[L.lock_owner:L.lock_owner + n] != 0
    r.where(Kind.PAGE_LOCK_VIOLATION, live & (locked != held), lambda p: (
        "PG_locked set with no holder" if locked[p] else
        f"PG_locked clear, the harness knows holder token {int(words[L.lock_owner + p])}"))


def check_rings(arena: Arena, r: AuditResult) -> None:
    """Every pool ring and socket queue: sequence words consistent with head and tail."""
    L, words = arena.layout, arena.words
    rings = [(f"pool {k}'s ring", L.pool_ring(k), L.config.pool_ring_size)
             for k in range(L.config.npools)]
    rings += [(f"socket queue {k}", L.queue(k), L.config.queue_size)
              for k in range(L.config.nqueues)]
    for name, base, size in rings:
        if why := ptr_ring_damage(words, base, size):
            r.add(Kind.RING_VIOLATION, _NONE, f"{name}: {why}")


# A free page is clean: what free_pages_prepare cleared or checked, and the words the
# harness's schemes use (pp, dtor), which nothing but a stale owner leaves set.
_CLEAN = {"refcount": 0, "mapcount": -1, "mapping": 0, "memcg": 0, "pp": 0, "dtor": 0,
          "flags": 0}


def check_free_pages(arena: Arena, r: AuditResult) -> None:
    """Every free page as the allocator would hand it out: no stale field."""
    free = page_states(arena) == PS_FREE
    for name, want in _CLEAN.items():
        field = arena.pages[name]
        r.where(Kind.BAD_PAGE, free & (field != want), _stale(name, field))


def _stale(name: str, field: np.ndarray) -> Callable[[int], str]:
    return lambda p: f"a free page with a stale {name} ({int(field[p])})"
