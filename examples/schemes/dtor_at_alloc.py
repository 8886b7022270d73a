"""dtor_at_alloc: a generic destructor, set by the pool when it allocates the page.

A design none of the thread's four is, written only against the `Scheme`
protocol (`stress.model.scheme`), as a kernel developer would bring their own.

Johannes costed the generic destructor as something a putter sets when it
sees refcount 1 (`dtor_ref1`), and showed why lockless tryget breaks that.  The
same mechanism can be set up front instead: the pool writes the page's
destructor once, when it takes the page from the page allocator
(`page_pool_set_pp_info`), and clears it when it gives the page back
(`page_pool_clear_pp_info`).  The refcount really reaches zero, as under
`pg_network`, and whoever drops the last reference (a speculative lookup
included) runs the destructor, which feeds the page to its pool.  Unlike
`pg_network` it routes by a field only pool pages have, not by an alias of
`PG_owner_priv_1`, so a `PG_checked` left behind by truncate cannot send a file
page to a pool (claim C3 does not apply).

`DtorAtAllocOneShot` is the same design with a bug a developer could really
write: it clears the destructor when it runs, as `free_compound_page` does for
compound pages, so a page recycled once leaves the pool without one and its
next final put sends a pool page to the page allocator.
"""

from __future__ import annotations

from stress.memory.layout import DTOR
from stress.model import Machine, page_pool_put_free_page, put_page
from stress.model.page_pool import set_page_dtor


class DtorAtAlloc:
    name = "dtor_at_alloc"
    summary = "example: the pool sets a destructor at allocation; the final put runs it"
    pool_free_refcount = 0  # the refcount really reaches zero
    driver_recycles = False

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        set_page_dtor(m, p, pool)

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        m.mem.store(m.page(p) + DTOR, 0)

    def put_page_route(self, m: Machine, p: int) -> bool:
        dtor = m.mem.load(m.page(p) + DTOR)
        if not dtor:
            return False
        page_pool_put_free_page(m, p, dtor - 1)  # the destructor stays for the next life
        return True

    def release_page_route(self, m: Machine, p: int) -> bool:
        # release_pages (munmap, truncate) never calls __put_page: the destructor must run here too.
        return self.put_page_route(m, p)

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        put_page(m, p)


class DtorAtAllocOneShot(DtorAtAlloc):
    name = "dtor_at_alloc_oneshot"
    summary = "example bug: the destructor is cleared when it runs, like a compound page's"

    def put_page_route(self, m: Machine, p: int) -> bool:
        base = m.page(p)
        dtor = m.mem.load(base + DTOR)
        if not dtor:
            return False
        m.mem.store(base + DTOR, 0)  # the bug: one-shot, so the next life has none
        page_pool_put_free_page(m, p, dtor - 1)
        return True
