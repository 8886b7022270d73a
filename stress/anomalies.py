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

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind.value
        return d

    def __str__(self) -> str:
        where = f"page {self.page}" if self.page >= 0 else "arena"
        why = f": {self.reason}" if self.reason else ""
        return f"{self.kind.value} on {where} in {self.op}{why}"


class PageBug(Exception):
    """A VM_BUG_ON fired: the operation in progress is aborted."""

    def __init__(self, anomaly: Anomaly) -> None:
        super().__init__(str(anomaly))
        self.anomaly = anomaly


Reporter = Callable[[Anomaly], None]


assert len(Kind) <= 32  # MAX_KINDS words per worker in the arena
