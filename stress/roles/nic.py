"""A NIC driver: page-pool allocation, rx into a socket queue, and (driver_ref) recycling."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator

from stress.model import (
    Machine,
    get_page,
    page_pool_alloc_pages,
    page_pool_put_page,
    page_pool_release_page,
    put_page,
    skb_frag_unref,
)
from stress.model.ptr_ring import ptr_ring_produce
from stress.roles.base import Actor
from stress.roles.spec import ActorSpec


class Nic(Actor):
    """A NIC driver: allocates from its page pool, receives into a socket queue."""

    retain: int
    release_share: float
    drop_via_put_page: bool

    name = "nic"
    OPS = {"rx": 3.0, "recycle": 2.0, "drop": 0.0}
    PARAMS = {"retain": (int, 64), "release_share": (float, 0.0),
              "drop_via_put_page": (bool, False)}
    PARAM_HELP = {"retain": "base references the driver keeps before recycling (a scheme "
                            "whose driver recycles)",
                  "release_share": "share of received pages the driver lets go of with "
                                   "page_pool_release_page instead of keeping a reference (a "
                                   "scheme whose driver recycles; 5.12's non-recycling path)",
                  "drop_via_put_page": "the rx error path frees a pool page with put_page "
                                       "(a driver bug)"}
    NEEDS = frozenset({"pool", "queue"})
    SHARES = frozenset({"alloc", "free", "pool", "queue"})

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.retained: deque[int] = deque()
        self.driver_ref = m.scheme.driver_recycles
        self.qbase, self.qsize = m.L.queue(spec.queue), m.L.config.queue_size
        self.pool = spec.pool

    def ops(self) -> Iterator[tuple[Callable[[], None], float]]:
        # Only a scheme's driver that keeps its own reference recycles by hand.
        return ((op, w) for op, w in super().ops() if self.driver_ref or op != self.recycle)

    def rx(self) -> None:
        """Allocate from the pool, fill, hand the skb's reference to the socket."""
        m = self.m
        p = page_pool_alloc_pages(m, self.pool)
        if p < 0:
            return
        if self.driver_ref and self.release_share and self.draws.chance(self.release_share):
            # No way back to the pool: unmap and forget it, the skb owns the reference.
            page_pool_release_page(m, self.pool, p)
        elif self.driver_ref:
            # The driver keeps its base reference; the skb gets another.
            get_page(m, p)
            self.retained.append(p)
            if len(self.retained) > self.retain:
                self.recycle()
        if not ptr_ring_produce(m.sys, self.qbase, self.qsize, p):
            skb_frag_unref(m, p)  # socket queue full: drop the packet

    def drop(self) -> None:
        """An rx error: the driver gives a fresh page straight back."""
        m = self.m
        p = page_pool_alloc_pages(m, self.pool)
        if p < 0:
            return
        if self.drop_via_put_page:
            put_page(m, p)  # the page allocator's API for a page-pool page
        elif self.driver_ref:
            page_pool_put_page(m, self.pool, p, allow_direct=True)
        else:
            skb_frag_unref(m, p)

    def recycle(self) -> None:
        """driver_ref: offer the oldest retained page back (recycled only at refcount 1)."""
        if self.retained:
            page_pool_put_page(self.m, self.pool, self.retained.popleft(), allow_direct=True)

    def references(self) -> Iterator[int]:
        return iter(self.retained)

    def drain(self) -> None:
        while self.retained:
            self.recycle()
