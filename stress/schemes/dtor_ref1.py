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
"""

from __future__ import annotations

from stress.memory.layout import DTOR, PP, REFCOUNT
from stress.model import Machine, page_pool_put_free_page, put_page
from stress.model.machine import Op
from stress.model.page_pool import pp_pool, set_page_dtor


class DtorRef1:
    name = "dtor_ref1"
    summary = "a putter that sees refcount 1 sets a destructor before its put"
    pool_free_refcount = 0
    driver_recycles = False

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        pass  # the destructor is set later, by the putter

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        pass

    def put_page_route(self, m: Machine, p: int) -> bool:
        return self.run_dtor(m, p)

    def release_page_route(self, m: Machine, p: int) -> bool:
        # A generic destructor has to run wherever a page is freed: release_pages too.
        return self.run_dtor(m, p)

    def run_dtor(self, m: Machine, p: int) -> bool:
        """The page's destructor, if it has one: feed the page to the pool it names."""
        base = m.page(p)
        dtor = m.mem.load(base + DTOR)
        if not dtor:
            return False
        m.mem.store(base + DTOR, 0)
        page_pool_put_free_page(m, p, dtor - 1)
        return True

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        base = m.page(p)
        pool = pp_pool(m.mem.load(base + PP))
        rc = m.mem.load(base + REFCOUNT)  # the check ...
        if m.tracing:
            m.trace(Op.refcount_check, p, rc, rc, int(pool >= 0 and rc == 1), pool)
        if pool >= 0 and rc == 1:
            if m.delay_dtor_check_put:
                m.spin(m.delay_dtor_check_put)
            set_page_dtor(m, p, pool)
        put_page(m, p)  # ... and the act, a window apart
