"""The model's options: which scheme frees network pages, memcg mode, checks, faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

MEMCG_MODES = ("none", "unmap", "lifetime")
# The kernels the model follows: "5.12", the thread's era (March 2021), and "6.8", today's
# shape of the checks that matter here.  docs/model.md, "Kernel profiles", says what each
# changes and cites the source each follows.
KERNELS = ("5.12", "6.8")
# Keys a scenario once had, and what replaced them: named in the refusal.
REPLACED = {
    "debug_vm": "replaced by page_checks (CONFIG_DEBUG_VM on 5.12, check_pages_enabled on "
                "6.8)",
    "check_page_pool_at_free": "replaced by kernel = \"6.8\" with page_checks = true (the "
                               "\"page_pool leak\" check came with v6.8, dba1b8a7ab68)",
}

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
    # Which kernel's checks and APIs the model follows (KERNELS).
    kernel: str = "5.12"
    # Whether the kernel's page checks run: a CONFIG_DEBUG_VM kernel.  5.12: VM_BUG_ON_PAGE
    # kills the task, and an order-0 free checks the page before clearing its flags
    # (free_pcp_prepare); without it the flags are cleared unchecked and the rest is checked
    # when the pcp list is drained (bulkfree_pcp_prepare).  6.8: check_pages_enabled (on
    # with CONFIG_DEBUG_VM) gates every free and allocation check, "page_pool leak"
    # included; without it nothing is checked.  Off, the harness still reports what it
    # sees, labelled as its own, and lets the operation go on as the kernel would.
    page_checks: bool = True
    # Johannes's proposal: add PG_owner_priv_1 to PAGE_FLAGS_CHECK_AT_FREE.
    check_owner_priv_1_at_free: bool = False
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
        if self.kernel not in KERNELS:
            raise ValueError(f"kernel: must be one of {', '.join(KERNELS)}, got {self.kernel!r}")
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
