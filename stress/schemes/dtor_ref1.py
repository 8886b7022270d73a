"""dtor_ref1: a generic destructor, set by whoever sees the last reference coming.

The alternative to a page flag that Johannes costed in the thread: network code
that is about to drop a reference first checks `refcount == 1` and, if so, sets
the page's destructor (`dtor`, a field that overlays what a live page uses)
before its put; the final put then runs the destructor, which feeds the page
to its pool.  Code that knows nothing of network pages (the put of a
speculative lookup) just puts.

What breaks it (claim C2): the check and the put are two steps, and anyone may
hold a transient reference.  A tryget held across the network code's last put
makes the check see 2 and set nothing, and the stranger's final put then sends
a network page to the page allocator (`misrouted-free`); a tryget landing
between the check and the put leaves the destructor set on a page still in use
(`use-after-free`, `double-free` once both puts have run).

`dtor_ref1_lru` is the same design with its destructor where Johannes said a generic
order-0 one would have to go, overlaying `lru.next` (claim C13): network pages never
sit on an LRU, so the overlay costs them nothing; a page that does is another story.
"""

from __future__ import annotations

from stress.memory.layout import PP, REFCOUNT
from stress.model import Machine, put_page
from stress.model.dtor import destroy_page, set_page_dtor
from stress.model.machine import Op
from stress.model.page_pool import pp_pool


class DtorRef1:
    name = "dtor_ref1"
    summary = "a putter that sees refcount 1 sets a destructor before its put"
    pool_free_refcount = 0
    driver_recycles = False
    dtor_field = "dtor"  # "a field that overlays what a live page uses": here, its own word

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        pass  # the destructor is set later, by the putter

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        pass

    def put_page_route(self, m: Machine, p: int) -> bool:
        return destroy_page(m, p, "__put_page", keep=False)  # set for one final put

    def release_page_route(self, m: Machine, p: int) -> bool:
        # A generic destructor has to run wherever a page is freed: release_pages too.
        return destroy_page(m, p, "release_pages", keep=False)

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        base = m.page(p)
        pool = pp_pool(m.mem.load(base + PP))
        rc = m.mem.load(base + REFCOUNT)  # the check ...
        if m.tracing:
            m.trace(Op.refcount_check, p, rc, rc, int(pool >= 0 and rc == 1), pool)
        if pool >= 0 and rc == 1:
            if m.delay_dtor_check_put:
                m.spin(m.delay_dtor_check_put)
            set_page_dtor(m, p, pool + 1)
        put_page(m, p)  # ... and the act, a window apart


class DtorRef1Lru(DtorRef1):
    name = "dtor_ref1_lru"
    summary = "dtor_ref1 with its destructor overlaying lru.next, as Johannes said it would have to"
    dtor_field = "lru"
