"""References taken without owning the page: GUP-fast, and stray speculative references."""

from __future__ import annotations

import random

from stress.model import Machine, get_page_unless_zero, get_user_pages_fast
from stress.roles.base import Holder
from stress.roles.spec import ActorSpec


class Gup(Holder):
    """get_user_pages_fast on any user mapping: tryget, recheck the PTE, use, drop."""

    name = "gup"
    SPECULATIVE = True
    SHARES = frozenset({"pte", "free"})
    OPS = {"gup": 1.0, "release": 1.0}
    PARAMS = {"hold": (int, 2)}
    USE = "gup_user"

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.npte = m.L.config.pte_slots

    def gup(self) -> None:
        """get_user_pages_fast on a random PTE: tryget, recheck the PTE, hold on success."""
        p = get_user_pages_fast(self.m, self.draws.pick(self.npte))
        if p >= 0:
            self.keep(p)


class Stray(Holder):
    """A stale pointer from an RCU-protected lookup: tryget any page, hold it, put it.

    "Any page may have its reference count temporarily increased": this role is
    that sentence.  Its put may be the final one, of whatever the page became.
    """

    name = "stray"
    SPECULATIVE = True
    SHARES = frozenset({"any", "free"})
    OPS = {"tryget": 1.0, "release": 1.0}
    PARAMS = {"hold": (int, 4)}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.npages = m.npages

    def tryget(self) -> None:
        """get_page_unless_zero on any page at all, in use, pooled or free; hold on success."""
        p = self.draws.pick(self.npages)
        if get_page_unless_zero(self.m, p):
            self.keep(p)
