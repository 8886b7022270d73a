"""The model's options: which scheme frees network pages, memcg mode, checks, faults."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields

SCHEMES = ("driver_ref", "pg_network", "dtor_ref1", "pp_magic")
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

    scheme: str = "pg_network"
    memcg: str = "none"
    # Johannes's proposal: add PG_owner_priv_1 to PAGE_FLAGS_CHECK_AT_FREE.
    check_owner_priv_1_at_free: bool = False
    # Since 6.5 freeing a page-pool page through put_page is a bad page ("page_pool leak").
    check_page_pool_at_free: bool = True
    # Faults: the bugs the thread discussed, switched on by a scenario.
    truncate_leaves_checked: bool = False  # a filesystem forgets ClearPageChecked
    swapcache_put_before_clear: bool = False  # drop the cache's ref, then clear the flag
    lookup_skips_recheck: bool = False  # filemap lookup without xas_reload
    # Retries before a lockless lookup gives up (keeps a worker from spinning forever).
    lookup_retries: int = 64
    # Delay injection: point name -> microseconds of busy wait.
    delays: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme: must be one of {', '.join(SCHEMES)}, got {self.scheme!r}")
        if self.memcg not in MEMCG_MODES:
            raise ValueError(f"memcg: must be one of {', '.join(MEMCG_MODES)}, got {self.memcg!r}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.type in ("bool", bool) and not isinstance(v, bool):
                raise ValueError(f"{f.name}: must be true or false, got {v!r}")
        for point, us in self.delays.items():
            if point not in DELAY_POINTS:
                raise ValueError(f"delays: unknown point {point!r} "
                                 f"(known: {', '.join(DELAY_POINTS)})")
            if isinstance(us, bool) or not isinstance(us, int | float) or not 0 <= us <= 10_000:
                raise ValueError(f"delays.{point}: microseconds in [0, 10000], got {us!r}")
        if not isinstance(self.lookup_retries, int) or not 1 <= self.lookup_retries <= 1 << 20:
            raise ValueError(
                f"lookup_retries: must be an integer in [1, 1048576], got {self.lookup_retries!r}"
            )

    @property
    def pool_free_refcount(self) -> int:
        """A page's refcount while it sits free in a pool under this scheme."""
        return 0 if self.scheme in ("pg_network", "dtor_ref1") else 1
