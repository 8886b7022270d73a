"""The end of a run, after every holder has let go: empty the structures, destroy the pools.

Socket queues give their pages back the network stack's way, the page cache is
truncated, and each pool is destroyed; a pool that still counts pages in flight
after all that has stalled its shutdown.  Shared by the supervisor and the explorer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from stress.anomalies import Anomaly, Kind, PageBug
from stress.model import (
    Machine,
    delete_from_page_cache,
    filemap_get_entry,
    page_pool_destroy,
    put_page,
    skb_frag_unref,
)
from stress.model.ptr_ring import RingStuck, ptr_ring_consume

Report = Callable[[Anomaly], None]


def _guarded(report: Report, fn: Callable[..., Any], *args: Any) -> None:
    try:
        fn(*args)
    except PageBug:
        pass  # reported; the teardown goes on
    except RingStuck as e:
        report(Anomaly(Kind.RETRY_BOUND, -1, e.op, reason=str(e)))


def teardown(m: Machine, report: Report) -> dict[int, int]:
    """Drain queues, page cache and pools; the pages each pool still has in flight."""
    L = m.L
    for k in range(L.config.nqueues):
        try:
            while (p := ptr_ring_consume(m.sys, L.queue(k), L.config.queue_size)) >= 0:
                _guarded(report, skb_frag_unref, m, p)
        except RingStuck as e:
            report(Anomaly(Kind.RETRY_BOUND, -1, e.op, reason=f"socket queue {k}: {e}"))
    for index in range(L.config.cache_slots):
        p = filemap_get_entry(m, index)
        if p >= 0:
            _guarded(report, delete_from_page_cache, m, index, p)
            _guarded(report, put_page, m, p)
    inflight: dict[int, int] = {}
    for pool in range(L.config.npools):
        try:
            n = inflight[pool] = page_pool_destroy(m, pool)
        except PageBug:
            continue
        except RingStuck as e:
            report(Anomaly(Kind.RETRY_BOUND, -1, e.op, reason=str(e)))
            continue
        if n > 0:
            # page_pool_release_retry's "stalled pool shutdown": every holder has let go,
            # yet the pool still counts pages out; they went somewhere else (a misrouted
            # free, for one) and the pool can never be freed.
            report(Anomaly(Kind.POOL_STALLED_SHUTDOWN, -1, "page_pool_destroy",
                           reason=f"pool {pool}: {n} pages still in flight after the drain "
                                  "(hold_cnt - release_cnt)", detail={"pool": pool, "inflight": n}))
    return inflight
