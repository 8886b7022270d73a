"""Page-cache users: readers (lockless lookup) and a writer that inserts, marks and removes."""

from __future__ import annotations

import random

from stress.model import (
    Machine,
    __remove_mapping,
    add_to_page_cache_lru,
    alloc_page,
    check_page_identity,
    delete_from_page_cache,
    filemap_get_entry,
    mark_page_accessed,
    put_page,
    release_pages,
)
from stress.model import flags as F
from stress.model.dtor import DTOR_FILE, set_page_dtor
from stress.model.filemap import page_mapping_is
from stress.roles.base import Actor, Holder
from stress.roles.spec import ActorSpec

remove_mapping = __remove_mapping  # a dunder name inside a class body would be mangled


class Reader(Holder):
    """filemap_read: look a page up, use it for a while, drop it."""

    name = "reader"
    SPECULATIVE = True
    SHARES = frozenset({"cache", "free"})
    OPS = {"lookup": 1.0, "release": 1.0}
    PARAMS = {"hold": (int, 4)}
    USE = "filemap_read"

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.nslots = m.L.config.cache_slots

    def lookup(self) -> None:
        """filemap_get_entry on a random index (tryget, recheck); hold the page if still its."""
        m = self.m
        index = self.draws.pick(self.nslots)
        p = filemap_get_entry(m, index)
        if p < 0:
            return
        if check_page_identity(m, p, index, "filemap_read"):
            mark_page_accessed(m, p)  # filemap_read: without the page lock
            self.keep(p)
        else:
            put_page(m, p)


class Truncater(Actor):
    """A filesystem: fills the cache, sets PG_checked, truncates, and reclaim evicts."""

    truncate_pages: int

    name = "truncater"
    SHARES = frozenset({"alloc", "cache", "free"})
    OPS = {"add": 3.0, "set_checked": 1.0, "truncate": 1.0, "reclaim": 1.0, "dirty": 0.0,
           "set_dtor": 0.0}
    PARAMS = {"truncate_pages": (int, 3)}
    PARAM_HELP = {"truncate_pages": "consecutive indices one truncate removes at most, their "
                                    "references dropped as one pagevec (release_pages)"}

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.nslots = m.L.config.cache_slots

    def add(self) -> None:
        """Allocate a page and insert it at a free index (add_to_page_cache_lru)."""
        m = self.m
        index = self.draws.pick(self.nslots)
        if m.sys.load(m.L.cache + index):
            return
        p = alloc_page(m)
        if p < 0:
            return
        add_to_page_cache_lru(m, p, index)
        put_page(m, p)  # only the cache's reference stays

    def _locked(self) -> tuple[int, int]:
        """Look up a random index and lock the page, still the file's: (index, page) or -1s."""
        index = self.draws.pick(self.nslots)
        return index, self._lock_at(index)

    def _lock_at(self, index: int) -> int:
        """The file's page at `index`, referenced and locked, or -1."""
        m = self.m
        p = filemap_get_entry(m, index)
        if p < 0:
            return -1
        if not F.trylock_page(m, p):
            put_page(m, p)
            return -1
        if not page_mapping_is(m, p, index):  # truncated before we got the lock
            self._unlock_put(p)
            return -1
        return p

    def _unlock_put(self, p: int) -> None:
        F.unlock_page(self.m, p)
        put_page(self.m, p)

    def set_checked(self) -> None:
        """Lock a cached page and set PG_checked, as a filesystem does."""
        index, p = self._locked()
        if p >= 0:
            F.set_page_flag(self.m, p, F.PG_checked)
            self._unlock_put(p)

    def set_dtor(self) -> None:
        """Lock a cached page and give it a destructor of the filesystem's (claim C13).

        A generic destructor's other users: "LRU pages are a prime candidate" (Johannes).
        Needs a scheme with a destructor (`dtor_field`); its final put runs it.
        """
        index, p = self._locked()
        if p >= 0:
            set_page_dtor(self.m, p, DTOR_FILE)
            self._unlock_put(p)

    def truncate(self) -> None:
        """truncate_inode_pages_range over a few consecutive indices, one pagevec.

        mm/truncate.c (5.12): find_lock_entries (a reference and the lock on each page),
        delete_from_page_cache_batch (the cache's references, page_cache_free_page's
        put_page), unlock_page on each, then pagevec_release: release_pages drops the
        truncater's own references, so the final put of a page truncated under no other
        holder never reaches __put_page.
        """
        m = self.m
        start = self.draws.pick(self.nslots)
        pvec: list[tuple[int, int]] = []
        for index in range(start, min(start + self.truncate_pages, self.nslots)):
            p = self._lock_at(index)
            if p >= 0:
                pvec.append((index, p))
        for index, p in pvec:
            delete_from_page_cache(m, index, p)
        for _, p in pvec:
            F.unlock_page(m, p)
        release_pages(m, [p for _, p in pvec])

    def dirty(self) -> None:
        """Lock a cached page and dirty it (set_page_dirty); truncate cancels it."""
        index, p = self._locked()
        if p >= 0:
            F.set_page_flag(self.m, p, F.PG_dirty)
            self._unlock_put(p)

    def reclaim(self) -> None:
        """Lock a cached page and evict it: __remove_mapping freezes its count or gives up."""
        index, p = self._locked()
        if p >= 0 and not remove_mapping(self.m, index, p, 1):
            self._unlock_put(p)
