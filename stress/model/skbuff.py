"""Dropping a network page's reference (net/core/skbuff.c: skb_frag_unref) per scheme."""

from __future__ import annotations

from stress.memory.layout import PAGE_WORDS, PP, REFCOUNT
from stress.model.machine import Machine, Op, spin
from stress.model.page_pool import page_pool_put_page, pp_pool, set_page_dtor
from stress.model.swap import put_page


def skb_frag_unref(m: Machine, p: int) -> None:
    """The network stack is done with its reference to a (pool) page."""
    scheme = m.cfg.scheme
    base = m.pages + p * PAGE_WORDS
    if scheme == "dtor_ref1":
        # Johannes's costing of the generic destructor: whoever sees 1 sets it.
        pool = pp_pool(m.mem.load(base + PP))
        rc = m.mem.load(base + REFCOUNT)
        if pool >= 0 and rc == 1:
            if m.delay_dtor_check_put:
                spin(m.delay_dtor_check_put)
            set_page_dtor(m, p, pool)
        elif m.tracing:
            m.trace(Op.set_page_dtor, p, rc, 0, 0, 0)  # saw another reference: no destructor
    elif scheme == "pp_magic":
        owner = pp_pool(m.mem.load(base + PP))
        if owner >= 0:  # page_pool_return_skb_page
            page_pool_put_page(m, owner, p, allow_direct=False)
            return
    put_page(m, p)
