"""A run's verdict from its expectation and what it saw."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from stress.anomalies import HEALTH_KINDS
from stress.checks.contests import never_contested
from stress.scenario import Expect

_HEALTH = {k.value for k in HEALTH_KINDS}


def verdict(expect: Expect, counts: Mapping[str, int], harness_error: bool, *,
            lost_recycles: int | None = None,
            windows: dict[str, dict[str, int]] | None = None) -> str:
    """pass, fail, inconclusive, or error (the harness itself failed).

    `lost_recycles`: how often page_pool_put_page found a page shared during the race
    (None where nothing counted them: the explorer); held to `expect.lost_recycles`.
    `windows`: the race windows seen and contested (checks/contests.py); None where
    nothing counted them (the explorer) or nothing could contest them (no speculative
    role in the scenario).  A clean run whose windows were never contested, or never
    opened, is `inconclusive`: it passed races that did not happen.
    """
    if harness_error:
        return "error"
    if expect.lost_recycles is not None and lost_recycles is not None \
            and (lost_recycles > 0) != expect.lost_recycles:
        return "fail"
    seen = {k for k, n in counts.items() if n and k not in _HEALTH}
    if disallowed(expect, seen):
        return "fail"
    if expect.clean:
        return "inconclusive" if windows is not None and never_contested(windows) else "pass"
    return "pass" if seen & set(expect.detect) else "fail"


def disallowed(expect: Expect, kinds: Iterable[str]) -> set[str]:
    """The kinds among `kinds` that fail a scenario whatever else is seen: any kind in a
    clean one, a forbidden kind in a buggy one (health kinds are errors, never these)."""
    kinds = {k for k in kinds if k not in _HEALTH}
    return kinds if expect.clean else kinds & set(expect.forbid)
