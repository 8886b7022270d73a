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


def guarded(report: Report, fn: Callable[..., Any], *args: Any) -> Any:
    """One model operation outside a worker's loop; None if it did not complete.

    A VM_BUG_ON (already reported) ends only that operation, as the kernel's task would
    end; a ring that makes no progress is reported as the retry-bound finding it is.
    """
    try:
        return fn(*args)
    except PageBug:
        return None
    except RingStuck as e:
        report(e.anomaly())
        return None


def _drain_queue(m: Machine, k: int, report: Report) -> None:
    L = m.L
    while (p := ptr_ring_consume(m.sys, L.queue(k), L.config.queue_size)) >= 0:
        guarded(report, skb_frag_unref, m, p)


def teardown(m: Machine, report: Report) -> dict[int, int]:
    """Drain queues, page cache and pools; the pages each pool still has in flight."""
    L = m.L
    for k in range(L.config.nqueues):
        guarded(report, _drain_queue, m, k, report)
    for index in range(L.config.cache_slots):
        p = filemap_get_entry(m, index)
        if p >= 0:
            guarded(report, delete_from_page_cache, m, index, p)
            guarded(report, put_page, m, p)
    inflight: dict[int, int] = {}
    for pool in range(L.config.npools):
        n = guarded(report, page_pool_destroy, m, pool)
        if n is None:
            continue
        inflight[pool] = n
        if n > 0:
            # page_pool_release_retry's "stalled pool shutdown": every holder has let go,
            # yet the pool still counts pages out; they went somewhere else (a misrouted
            # free, for one) and the pool can never be freed.
            report(Anomaly(Kind.POOL_STALLED_SHUTDOWN, -1, "page_pool_destroy",
                           reason=f"pool {pool}: {n} pages still in flight after the drain "
                                  "(hold_cnt - release_cnt)", detail={"pool": pool, "inflight": n}))
    return inflight
