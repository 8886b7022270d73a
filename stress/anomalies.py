"""Anomaly kinds (docs/model.md section 4) and the records that carry them.

Everything the model detects becomes an `Anomaly` handed to a reporter, a plain
callable.  Kinds that the kernel treats as BUG() (`VM_BUG_ON_PAGE`) also raise
`PageBug` after reporting, which aborts the operation in progress exactly as
the kernel would kill the task; the rest (bad_page, misrouted frees, pool
violations) are reported and the model goes on with the kernel's recovery.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Kind(StrEnum):
    """Stable kebab-case anomaly names: scenarios and logs use the values."""

    REFCOUNT_UNDERFLOW = "refcount-underflow"
    GET_ON_FREE = "get-on-free"
    FREEZE_VIOLATION = "freeze-violation"
    LOST_UPDATE = "lost-update"
    USE_AFTER_FREE = "use-after-free"
    DOUBLE_FREE = "double-free"
    BAD_PAGE = "bad-page"
    MISROUTED_FREE = "misrouted-free"
    STALE_TRYGET = "stale-tryget"
    POOL_REFCNT_VIOLATION = "pool-refcnt-violation"
    POOL_ALLOC_REFCOUNT = "pool-alloc-refcount"
    POOL_INFLIGHT_NEGATIVE = "pool-inflight-negative"
    POOL_STALLED_SHUTDOWN = "pool-stalled-shutdown"
    MEMCG_MISMATCH = "memcg-mismatch"
    MEMCG_ESCAPE = "memcg-escape"
    PAGE_LEAK = "page-leak"
    PAGE_LOCK_VIOLATION = "page-lock-violation"
    FREE_LIST_VIOLATION = "free-list-violation"
    MAPPING_MISMATCH = "mapping-mismatch"
    FLAGS_VIOLATION = "flags-violation"
    RING_VIOLATION = "ring-violation"
    LRU_CORRUPT = "lru-corrupt"
    DTOR_LOST = "dtor-lost"
    CONSERVATION = "conservation"
    RETRY_BOUND = "retry-bound"
    WORKER_CRASH = "worker-crash"
    WORKER_HANG = "worker-hang"
    BUDGET_OVERRUN = "budget-overrun"


KINDS = tuple(k.value for k in Kind)
HEALTH_KINDS = frozenset({Kind.WORKER_CRASH, Kind.WORKER_HANG, Kind.BUDGET_OVERRUN})
# VM_BUG_ON_PAGE: on a CONFIG_DEBUG_VM kernel the task dies at the check (`debug_vm`).
BUG_KINDS = frozenset({Kind.REFCOUNT_UNDERFLOW, Kind.GET_ON_FREE, Kind.FREEZE_VIOLATION,
                       Kind.FLAGS_VIOLATION})


KERNEL = "kernel"
HARNESS = "harness"


@dataclass(frozen=True)
class Voice:
    """Who would notice a kind in the real kernel, and what it says or does.

    `origin` is "kernel" when the kernel itself reports it (`says` is its own words, the
    BUG, WARN, bad_page reason or pr_crit), "harness" for an oracle the kernel lacks
    (`says` is what the kernel does instead).  `needs_checks`: the kernel says it only
    with its page checks on (`[model] page_checks`); off, the harness's report is its own.
    """

    origin: str
    says: str
    needs_checks: bool = False


_SILENT = "the kernel says nothing: "
VOICES: dict[Kind, Voice] = {
    Kind.REFCOUNT_UNDERFLOW: Voice(KERNEL, "VM_BUG_ON_PAGE(page_ref_count(page) == 0) in "
                                  "put_page_testzero (include/linux/mm.h)", True),
    Kind.GET_ON_FREE: Voice(KERNEL, "VM_BUG_ON_PAGE(page_ref_zero_or_close_to_overflow(page)) "
                            "in get_page (5.12; 6.8: VM_BUG_ON_FOLIO in folio_get)", True),
    Kind.FREEZE_VIOLATION: Voice(KERNEL, "VM_BUG_ON_PAGE(page_count(page) != 0) / "
                                 "VM_BUG_ON(count == 0) in page_ref_unfreeze", True),
    Kind.LOST_UPDATE: Voice(HARNESS, _SILENT + "the count is simply wrong; the page is freed "
                            "early (a use-after-free) or never (a leak)"),
    Kind.USE_AFTER_FREE: Voice(HARNESS, _SILENT + "the holder reads or DMAs into a page that "
                               "now belongs to someone else (KASAN at best)"),
    Kind.DOUBLE_FREE: Voice(HARNESS, _SILENT + "the page is on two free lists or pools at "
                            "once and is handed out twice"),
    Kind.BAD_PAGE: Voice(KERNEL, "BUG: Bad page state (bad_page, mm/page_alloc.c), with the "
                         "reason; the page is leaked", True),
    Kind.MISROUTED_FREE: Voice(HARNESS, _SILENT + "the page goes where it does not belong (a "
                               "pool page to the buddy allocator, the pool's in-flight count "
                               "stuck; a file page into a network pool)"),
    Kind.STALE_TRYGET: Voice(HARNESS, _SILENT + "the reader uses a page that was freed and "
                             "reused for something else"),
    Kind.POOL_REFCNT_VIOLATION: Voice(KERNEL, "pr_crit \"page_pool_empty_ring() page_pool "
                                      "refcnt %d violation\" (net/core/page_pool.c, at "
                                      "destroy, ring pages only)"),
    Kind.POOL_ALLOC_REFCOUNT: Voice(HARNESS, _SILENT + "page_pool_alloc_pages does not recheck "
                                    "the count: the driver DMAs into a page someone still "
                                    "references"),
    Kind.POOL_INFLIGHT_NEGATIVE: Voice(KERNEL, "WARN \"Negative(%d) inflight packet-pages\" "
                                       "(page_pool_inflight)"),
    Kind.POOL_STALLED_SHUTDOWN: Voice(KERNEL, "pr_warn \"page_pool_release_retry() stalled "
                                      "pool shutdown %d inflight %d sec\", every minute"),
    Kind.MEMCG_MISMATCH: Voice(HARNESS, _SILENT + "the cgroup's counter drifts from what it "
                               "really holds"),
    Kind.MEMCG_ESCAPE: Voice(HARNESS, _SILENT + "the memory a task pins is charged to nobody "
                             "and escapes its cgroup's limit"),
    Kind.PAGE_LEAK: Voice(HARNESS, _SILENT + "the page is never freed"),
    Kind.PAGE_LOCK_VIOLATION: Voice(HARNESS, _SILENT + "two tasks work on a locked page at "
                                    "once"),
    Kind.FREE_LIST_VIOLATION: Voice(HARNESS, _SILENT + "the allocator hands a page out twice"),
    Kind.MAPPING_MISMATCH: Voice(HARNESS, _SILENT + "a structure names a page that is not the "
                                 "one it mapped or cached"),
    Kind.FLAGS_VIOLATION: Voice(KERNEL, "VM_BUG_ON_PAGE(!PageSwapBacked(page)) in "
                                "add_to_swap_cache (mm/swap_state.c)", True),
    Kind.RING_VIOLATION: Voice(HARNESS, _SILENT + "the ring hands out a slot twice or never"),
    Kind.LRU_CORRUPT: Voice(KERNEL, "CHECK_DATA_CORRUPTION \"list_del corruption. next->prev "
                            "should be %px, but was %px\" (__list_del_entry_valid, "
                            "lib/list_debug.c, a CONFIG_DEBUG_LIST kernel)", True),
    Kind.DTOR_LOST: Voice(HARNESS, _SILENT + "the destructor is gone: the free path reads "
                          "LIST_POISON1 or a list pointer where it was, and calls through it "
                          "(destroy_compound_page's VM_BUG_ON on an out-of-range id is the "
                          "nearest check)"),
    Kind.CONSERVATION: Voice(HARNESS, _SILENT + "pages are lost or counted twice"),
    Kind.RETRY_BOUND: Voice(HARNESS, _SILENT + "the task spins forever on a damaged "
                            "structure"),
    Kind.WORKER_CRASH: Voice(HARNESS, "harness health, not a model bug"),
    Kind.WORKER_HANG: Voice(HARNESS, "harness health, not a model bug"),
    Kind.BUDGET_OVERRUN: Voice(HARNESS, "harness health, not a model bug"),
}
assert set(VOICES) == set(Kind)


@dataclass(frozen=True)
class Anomaly:
    """One detected violation: what, on which page, seen by which op."""

    kind: Kind
    page: int
    op: str
    refcount: int | None = None
    gen: int | None = None
    reason: str = ""
    worker: int = -1
    detail: dict[str, Any] = field(default_factory=dict)
    # Who would notice in the real kernel ("kernel" or "harness") and what it says or does;
    # empty: the kind's own (VOICES).  The model sets both where a report's voice depends on
    # the profile or on the value seen.
    origin: str = ""
    says: str = ""

    def voice(self) -> Voice:
        v = VOICES[self.kind]
        return Voice(self.origin or v.origin, self.says or v.says, v.needs_checks)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        v = self.voice()
        d["origin"], d["says"] = v.origin, v.says
        return d

    def __str__(self) -> str:
        where = f"page {self.page}" if self.page >= 0 else "arena"
        why = f": {self.reason}" if self.reason else ""
        return f"{self.kind.value} on {where} in {self.op}{why}"


class HarnessSignal(Exception):
    """The model's or the explorer's own control flow (a VM_BUG_ON, a finding, a step
    bound): it passes through a plug-in's hooks as it is, never as the plug-in's error."""


class PageBug(HarnessSignal):
    """A VM_BUG_ON fired: the operation in progress is aborted."""

    def __init__(self, anomaly: Anomaly) -> None:
        super().__init__(str(anomaly))
        self.anomaly = anomaly


Reporter = Callable[[Anomaly], None]


assert len(Kind) <= 32  # MAX_KINDS words per worker in the arena
