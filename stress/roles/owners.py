"""Owners with their own rules for a page: the swap cache, and Xen pinned page tables."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator

from stress.model import (
    Machine,
    __free_pages,
    add_to_swap_cache,
    alloc_page,
    delete_from_swap_cache,
    get_page,
    put_page,
)
from stress.model import flags as F
from stress.roles.base import Actor, ActorSpec

free_pages = __free_pages  # a dunder name inside a class body would be mangled


class Swapcache(Actor):
    """The swap cache holds a reference; removal clears PG_swapcache, then drops it."""

    max_pages: int

    name = "swapcache"
    OPS = {"add": 1.0, "remove": 1.0}
    PARAMS = {"max_pages": (int, 64)}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.cached: deque[int] = deque()

    def add(self) -> None:
        if len(self.cached) >= self.max_pages:
            return
        p = alloc_page(self.m)
        if p >= 0:
            add_to_swap_cache(self.m, p)
            put_page(self.m, p)  # the swap cache's reference is the one left
            self.cached.append(p)

    def remove(self) -> None:
        if not self.cached:
            return
        p = self.cached.popleft()
        if self.m.cfg.swapcache_put_before_clear:
            delete_from_swap_cache(self.m, p)  # the cache's put may be the final one
            return
        get_page(self.m, p)  # the remover's own reference, as under the page lock
        delete_from_swap_cache(self.m, p)
        put_page(self.m, p)

    def references(self) -> Iterator[int]:
        return iter(self.cached)

    def drain(self) -> None:
        while self.cached:
            self.remove()


class Pgtable(Actor):
    """Xen pinned page tables: not refcounted by users, freed with __free_pages."""

    leave_pinned: bool
    max_pages: int

    name = "pgtable"
    OPS = {"pin": 1.0, "free": 1.0}
    # leave_pinned: free with PG_pinned still set (the case Johannes asked about).
    PARAMS = {"leave_pinned": (bool, True), "max_pages": (int, 32)}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.tables: deque[int] = deque()

    def pin(self) -> None:
        if len(self.tables) >= self.max_pages:
            return
        p = alloc_page(self.m)
        if p >= 0:
            F.set_page_flag(self.m, p, F.PG_pinned)
            self.tables.append(p)

    def free(self) -> None:
        if self.tables:
            p = self.tables.popleft()
            if not self.leave_pinned:
                F.clear_page_flag(self.m, p, F.PG_pinned)
            free_pages(self.m, p)

    def references(self) -> Iterator[int]:
        return iter(self.tables)

    def drain(self) -> None:
        while self.tables:
            self.free()
