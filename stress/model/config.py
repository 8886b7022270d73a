"""The model's options: which scheme frees network pages, memcg mode, checks, faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MEMCG_MODES = ("none", "unmap", "lifetime")

# Named check-then-act points where a scenario may widen the race window with a busy
# wait, like KCSAN's delay injection.  Always explicit in the scenario and the summary.
DELAY_POINTS = {
    "lookup_tryget": "lockless lookup: between loading the slot and the tryget",
    "dtor_check_put": "dtor_ref1: between the refcount == 1 check and the put",
    "pool_check_recycle": "driver_ref, pp_magic: between the refcount == 1 check and the recycle",
    "swapcache_put_clear": "swap cache removal: between its two steps",
}


@dataclass(frozen=True)
class ModelConfig:
    """One scenario's `[model]` table, minus the sizes (those are the arena's).

    Errors are ValueError("field: reason"), so a loader can name the key.
    """

    # A scheme's registered name or "path/to/file.py:Class" (stress.schemes resolves it
    # and holds the default): the model itself has no opinion on which design runs.
    scheme: str
    memcg: str = "none"
    # Johannes's proposal: add PG_owner_priv_1 to PAGE_FLAGS_CHECK_AT_FREE.
    check_owner_priv_1_at_free: bool = False
    # Since 6.5 freeing a page-pool page through put_page is a bad page ("page_pool leak").
    check_page_pool_at_free: bool = True
    # CONFIG_DEBUG_VM (or debug_pagealloc): VM_BUG_ON_PAGE kills the task at the check, and
    # an order-0 free runs check_free_page before clearing the flags (free_pcp_prepare).
    # Without it the checks that need the flags never see them (bulkfree_pcp_prepare runs
    # check_free_page after free_pages_prepare cleared them) and a VM_BUG_ON is not there:
    # the harness still reports what it sees and lets the operation go on, as the kernel would.
    debug_vm: bool = True
    # Faults: the bugs the thread discussed, switched on by a scenario.
    truncate_leaves_checked: bool = False  # a filesystem forgets ClearPageChecked
    swapcache_put_before_clear: bool = False  # drop the cache's ref, then clear the flag
    lookup_skips_recheck: bool = False  # filemap lookup without xas_reload
    # Retries before a lockless lookup gives up (keeps a worker from spinning forever).
    lookup_retries: int = 64
    # Delay injection: point name -> microseconds of busy wait.
    delays: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.scheme, str) or not self.scheme:
            raise ValueError(f"scheme: must be a scheme's name, got {self.scheme!r}")
        if self.memcg not in MEMCG_MODES:
            raise ValueError(f"memcg: must be one of {', '.join(MEMCG_MODES)}, got {self.memcg!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("bool", bool) and not isinstance(v, bool):
                raise ValueError(f"{f.name}: must be true or false, got {v!r}")
        delays: Mapping[str, object] = self.delays  # unchecked values: compiled code would
        for point, us in delays.items():  # raise TypeError on a wrong one before we could
            if point not in DELAY_POINTS:
                raise ValueError(f"delays: unknown point {point!r} "
                                 f"(known: {', '.join(DELAY_POINTS)})")
            if isinstance(us, bool) or not isinstance(us, int | float) or not 0 <= us <= 10_000:
                raise ValueError(f"delays.{point}: microseconds in [0, 10000], got {us!r}")
        if not isinstance(self.lookup_retries, int) or not 1 <= self.lookup_retries <= 1 << 20:
            raise ValueError(
                f"lookup_retries: must be an integer in [1, 1048576], got {self.lookup_retries!r}"
            )

    def __reduce__(self) -> tuple[Any, ...]:
        # Pickled by its constructor: compiled, a frozen dataclass cannot be unpickled
        # field by field (and compiled, every m.cfg.X the model reads is a plain field).
        return (type(self), tuple(getattr(self, f.name) for f in fields(self)))
