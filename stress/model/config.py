"""The model's options: which scheme frees network pages, memcg mode, checks, faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from stress.keys import key, meta

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

    # (stress.schemes resolves the name and holds the default: the model itself has no
    # opinion on which design runs.)
    scheme: str = field(metadata=meta(
        help="the design under test: a built-in scheme (driver_ref, pg_network, "
             "pg_network_put_page_only, dtor_ref1, pp_magic), an entry point of the group "
             "pagerace.schemes, or \"path/to/file.py:Class\" relative to the scenario"))
    memcg: str = key("none", choices=MEMCG_MODES,
                     help="memcg charging: none; unmap (Arjun's v2: charge while mapped to user "
                          "space); lifetime (Johannes: from allocation until the page returns "
                          "to its pool or the allocator)")
    kernel: str = key("5.12", choices=KERNELS,
                      help="the kernel whose checks and APIs the model follows: \"5.12\" (the "
                           "thread's era) or \"6.8\" (\"page_pool leak\" at free, every free "
                           "and allocation check behind check_pages_enabled, no "
                           "page_pool_release_page)")
    # 5.12: an order-0 free checks the page before clearing its flags (free_pcp_prepare);
    # without CONFIG_DEBUG_VM the flags are cleared unchecked and the rest is checked when
    # the pcp list is drained (bulkfree_pcp_prepare).  6.8: check_pages_enabled gates every
    # free and allocation check, "page_pool leak" included.  Off, the harness still reports
    # what it sees, labelled as its own, and lets the operation go on as the kernel would.
    page_checks: bool = key(True, help="the kernel's page checks run: on 5.12 a CONFIG_DEBUG_VM "
                                       "kernel (VM_BUG_ON_PAGE kills the task; an order-0 free "
                                       "checks the flags before clearing them), off: the flags "
                                       "are cleared unchecked and the rest checked at the pcp "
                                       "drain; on 6.8 check_pages_enabled, off: nothing is "
                                       "checked")
    check_owner_priv_1_at_free: bool = key(False, help="add PG_owner_priv_1 to "
                                                       "PAGE_FLAGS_CHECK_AT_FREE, as Johannes "
                                                       "proposed")
    # Faults: the bugs the thread discussed, switched on by a scenario.
    truncate_leaves_checked: bool = key(False, help="fault: a filesystem's truncate forgets to "
                                                    "clear PG_checked")
    swapcache_put_before_clear: bool = key(False, help="fault: swap-cache removal drops the "
                                                       "cache's reference with put_page, before "
                                                       "clearing PG_swapcache")
    lookup_skips_recheck: bool = key(False, help="fault: a page-cache lookup does not recheck "
                                                 "the slot after its tryget")
    # (keeps a worker from spinning forever)
    lookup_retries: int = key(64, lo=1, hi=1 << 20,
                              help="retries of a lockless lookup before it gives up")
    delays: Mapping[str, float] = key(
        None, factory=dict, lo=0, hi=10_000,
        help="busy waits, in microseconds, at named check-then-act points, to widen a race "
             "window: " + "; ".join(f"{k}: {v}" for k, v in DELAY_POINTS.items()))

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
