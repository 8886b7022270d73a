"""Owners with their own rules for a page: the swap cache, and Xen pinned page tables."""

from __future__ import annotations

from stress.model import (
    __free_pages,
    add_to_swap_cache,
    alloc_page,
    delete_from_swap_cache,
    get_page,
    put_page,
)
from stress.model import flags as F
from stress.roles.base import Owner

free_pages = __free_pages  # a dunder name inside a class body would be mangled


class Swapcache(Owner):
    """The swap cache holds a reference; removal clears PG_swapcache, then page_ref_subs it."""

    name = "swapcache"
    SHARES = frozenset({"alloc", "free"})
    OPS = {"add": 1.0, "remove": 1.0}
    PARAMS = {"max_pages": (int, 64)}
    PARAM_HELP = Owner.PARAM_HELP

    def add(self) -> None:
        """Allocate a page and add it to the swap cache, whose reference is the one kept."""
        if not self.has_room():
            return
        p = alloc_page(self.m)
        if p >= 0:
            F.set_page_flag(self.m, p, F.PG_swapbacked)  # an anonymous page: __SetPageSwapBacked
            add_to_swap_cache(self.m, p)
            put_page(self.m, p)  # the swap cache's reference is the one left
            self.owned.append(p)

    def give_back(self, p: int) -> None:
        if self.m.cfg.swapcache_put_before_clear:
            delete_from_swap_cache(self.m, p)  # the faulty removal: its put may be the last
            return
        get_page(self.m, p)  # the remover's own reference, as under the page lock
        delete_from_swap_cache(self.m, p)
        put_page(self.m, p)

    def remove(self) -> None:
        """The `remove` op: give the oldest page back (a method, not an alias: mypyc)."""
        self.release()


class Pgtable(Owner):
    """Xen pinned page tables: not refcounted by users, freed with __free_pages."""

    leave_pinned: bool

    name = "pgtable"
    SHARES = frozenset({"alloc", "free"})
    OPS = {"pin": 1.0, "free": 1.0}
    PARAMS = {"leave_pinned": (bool, True), "max_pages": (int, 32)}
    PARAM_HELP = {"leave_pinned": "free with PG_pinned still set (the case Johannes asked "
                                  "about)", **Owner.PARAM_HELP}

    def pin(self) -> None:
        """Allocate a page table page and set PG_pinned (no user refcounts it)."""
        if not self.has_room():
            return
        p = alloc_page(self.m)
        if p >= 0:
            F.set_page_flag(self.m, p, F.PG_pinned)
            self.owned.append(p)

    def give_back(self, p: int) -> None:
        if not self.leave_pinned:
            F.clear_page_flag(self.m, p, F.PG_pinned)
        free_pages(self.m, p)

    def free(self) -> None:
        """The `free` op: give the oldest page back (a method, not an alias: mypyc)."""
        self.release()
