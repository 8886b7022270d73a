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
from stress.model import Machine, page_pool_put_free_page, put_page
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
        # "we can identify the page in __put_page() and __release_page()"
        if m.mem.load(m.page(p) + FLAGS) & F.OWNER_PRIV_1:  # PageNetwork(page)
            page_pool_put_free_page(m, p)
            return True
        return False

    def release_page_route(self, m: Machine, p: int) -> bool:
        return self.put_page_route(m, p)  # the same test in release_pages

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        put_page(m, p)  # nothing special: the free path knows where the page goes


class PgNetworkPutPageOnly(PgNetwork):
    """pg_network with the hook in `__put_page` only (claim C12): a real bug.

    munmap and truncate drop their references through `release_pages`, which never
    calls `__put_page`.  A network page whose last reference a munmap drops reaches
    `free_unref_page_list` with PG_network set: PG_owner_priv_1 is not in
    PAGE_FLAGS_CHECK_AT_FREE, so free_pages_prepare clears it silently and the page goes
    to the buddy allocator while its pool still counts it in flight; the pool's shutdown
    then stalls ("stalled pool shutdown", forever).
    """

    name = "pg_network_put_page_only"
    summary = ("pg_network hooked in __put_page only: release_pages (munmap, truncate) sends "
               "network pages to the page allocator")

    def release_page_route(self, m: Machine, p: int) -> bool:
        return False
