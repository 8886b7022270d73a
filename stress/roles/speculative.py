"""References taken without owning the page: GUP-fast, and stray speculative references."""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Iterator

from stress.model import Machine, get_page_unless_zero, get_user_pages_fast, page_use, put_page
from stress.roles.base import Actor, ActorSpec


class Gup(Actor):
    """get_user_pages_fast on any user mapping: tryget, recheck the PTE, use, drop."""

    hold: int

    name = "gup"
    OPS = {"gup": 1.0, "release": 1.0}
    PARAMS = {"hold": (int, 2)}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.npte = m.L.config.pte_slots
        self.held: deque[tuple[int, int]] = deque()

    def gup(self) -> None:
        p = get_user_pages_fast(self.m, int(self.random() * self.npte))
        if p >= 0:
            self.held.append((p, self.m.gen(p)))
            if len(self.held) > self.hold:
                self.release()

    def release(self) -> None:
        if self.held:
            p, gen = self.held.popleft()
            page_use(self.m, p, gen, "gup_user")
            put_page(self.m, p)

    def references(self) -> Iterator[int]:
        return (p for p, _ in self.held)

    def drain(self) -> None:
        while self.held:
            self.release()


class Stray(Actor):
    """A stale pointer from an RCU-protected lookup: tryget any page, hold it, put it.

    "Any page may have its reference count temporarily increased": this role is
    that sentence.  Its put may be the final one, of whatever the page became.
    """

    hold: int

    name = "stray"
    OPS = {"tryget": 1.0, "put": 1.0}
    PARAMS = {"hold": (int, 4)}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.npages = m.npages
        self.held: deque[int] = deque()

    def tryget(self) -> None:
        p = int(self.random() * self.npages)
        if get_page_unless_zero(self.m, p):
            self.held.append(p)
            if len(self.held) > self.hold:
                self.put()

    def put(self) -> None:
        if self.held:
            put_page(self.m, self.held.popleft())

    def references(self) -> Iterator[int]:
        return iter(self.held)

    def drain(self) -> None:
        while self.held:
            self.put()
