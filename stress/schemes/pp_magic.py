"""pp_magic: page-pool recycling as merged in 5.14 (and checked at free since 6.5).

Pool pages carry a signature in `pp` (`pp_magic`).  When the network stack
releases an skb fragment, `page_pool_return_skb_page` looks at the signature:
a pool page goes back through `page_pool_put_page` ("refcount == 1 means the
pool owns it", as under driver_ref, so pool pages sit at refcount 1); any other
page gets a plain `put_page`.  The driver no longer keeps a reference of its own.

What breaks it (claim C11): a pool page freed through the page allocator's API
(`put_page` on an error path) still carries its signature; since v6.8 (dba1b8a7ab68),
with the page checks on, `free_pages_prepare` reports it as a bad page ("page_pool
leak", `[model] kernel = "6.8"`, `page_checks`); otherwise it leaves the pool's
in-flight count stuck, silently (`misrouted-free` here, the harness's finding).
"""

from __future__ import annotations

from stress.memory.layout import PP
from stress.model import Machine, page_pool_put_page, put_page
from stress.model.page_pool import pp_pool


class PpMagic:
    name = "pp_magic"
    summary = "5.14: pool pages carry a signature; skb release recycles signed pages via the pool"
    pool_free_refcount = 1
    driver_recycles = False

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        pass  # the signature in pp is the mark, and the model has written it

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        pass

    def put_page_route(self, m: Machine, p: int) -> bool:
        return False  # pages come back through page_pool_put_page, before any final put

    def release_page_route(self, m: Machine, p: int) -> bool:
        return False  # the same: a signed page reaching 0 here is the leak the checks catch

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        owner = pp_pool(m.mem.load(m.page(p) + PP))
        if owner >= 0:  # page_pool_return_skb_page
            page_pool_put_page(m, owner, p, allow_direct=False)
        else:
            put_page(m, p)
