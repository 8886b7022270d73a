"""pg_network: Johannes Weiner's proposal, network pages as first-class pages.

The driver drops its reference like any other user; the refcount really
reaches zero, and the free path recognises the page by a flag, `PG_network`
(an alias of `PG_owner_priv_1`), and feeds it back to its page pool instead of
the page allocator, uncharging its memcg on the way.  A page sits in the pool at
refcount 0, so a lockless tryget on it fails, as on any free page: "any page
may have its reference count temporarily increased", and whoever drops the last
such reference runs the same free path (claim C1: clean).

What it relies on: that `PG_owner_priv_1` is clear on every page that is not a
network page when its final put comes.  A filesystem that leaves `PG_checked`
set at truncate breaks that (claim C3: the page is read as `PG_network` and fed
to a pool, and only the pool's own sanity check notices); the swap cache does
not, since it clears `PG_swapcache` before dropping its reference (claim C5).
"""

from __future__ import annotations

from stress.memory.layout import FLAGS
from stress.model import Machine, ModelConfig, page_pool_put_free_page, put_page
from stress.model import flags as F


class PgNetwork:
    name = "pg_network"
    summary = ("Johannes: refcount really reaches 0; __put_page sees PG_network and feeds the "
               "page to its pool")
    pool_free_refcount = 0
    driver_recycles = False

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        F.set_page_flag(m, p, F.PG_network)

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        F.clear_page_flag(m, p, F.PG_network)

    def put_page_route(self, m: Machine, p: int) -> bool:
        if m.mem.load(m.page(p) + FLAGS) & F.OWNER_PRIV_1:  # PageNetwork(page)
            page_pool_put_free_page(m, p)
            return True
        return False

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        put_page(m, p)  # nothing special: the free path knows where the page goes

    def page_pool_checked_at_free(self, cfg: ModelConfig) -> bool:
        return False
