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

from stress.model import Machine, put_page
from stress.model.dtor import clear_page_dtor, destroy_page, set_page_dtor


class DtorAtAlloc:
    name = "dtor_at_alloc"
    summary = "example: the pool sets a destructor at allocation; the final put runs it"
    pool_free_refcount = 0  # the refcount really reaches zero
    driver_recycles = False
    dtor_field = "dtor"  # a word of its own (stress/model/dtor.py)

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        set_page_dtor(m, p, pool + 1)

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        clear_page_dtor(m, p)

    def put_page_route(self, m: Machine, p: int) -> bool:
        return destroy_page(m, p, "__put_page", keep=True)  # it stays for the next life

    def release_page_route(self, m: Machine, p: int) -> bool:
        # release_pages (munmap, truncate) never calls __put_page: the destructor must run here too.
        return self.put_page_route(m, p)

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        put_page(m, p)


class DtorAtAllocOneShot(DtorAtAlloc):
    name = "dtor_at_alloc_oneshot"
    summary = "example bug: the destructor is cleared when it runs, like a compound page's"

    def put_page_route(self, m: Machine, p: int) -> bool:
        # The bug: one-shot, so the page's next life in the pool has none.
        return destroy_page(m, p, "__put_page", keep=False)
