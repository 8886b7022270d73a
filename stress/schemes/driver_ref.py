"""driver_ref: the page pool as it was in 5.12, when the thread took place.

The driver keeps a base reference on every page it hands to the network
stack, and returns it with `page_pool_put_page`: "refcount == 1 means the pool
owns it", so a page at refcount 1 is recycled into the alloc cache or the
`ptr_ring`, and any other count makes the pool give the page up (DMA unmap,
`release_cnt += 1`, `put_page`).  Pages in the pool sit at refcount 1.

What breaks it (claim C8): a transient reference that anyone may take at any
time (a lockless page-cache lookup, GUP-fast, a stray speculative get) makes
the count 2 at the moment the driver checks, so the pool gives up a page it
could have recycled; a tryget landing between the check and the recycle leaves
a ring page at refcount 2, which `page_pool_destroy` reports as a refcnt
violation.  This is the cost Johannes and Matthew pointed at when they asked
for the refcount to really reach zero instead.
"""

from __future__ import annotations

from stress.model import Machine, put_page


class DriverRef:
    name = "driver_ref"
    summary = "5.12: the driver keeps a base reference; refcount 1 means the pool owns the page"
    pool_free_refcount = 1
    driver_recycles = True

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        pass  # the pool knows its pages by the driver's reference, not by a mark

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        pass

    def put_page_route(self, m: Machine, p: int) -> bool:
        return False  # the final put is an ordinary free: recycling happened before it

    def release_page_route(self, m: Machine, p: int) -> bool:
        return False  # likewise: the pool's pages never reach 0 while the driver holds them

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        put_page(m, p)  # the stack's reference; the driver still holds its own
