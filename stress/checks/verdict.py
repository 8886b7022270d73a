"""A run's verdict from its expectation and what it saw."""

from __future__ import annotations

from collections.abc import Mapping

from stress.anomalies import HEALTH_KINDS
from stress.scenario import Expect

_HEALTH = {k.value for k in HEALTH_KINDS}


def verdict(expect: Expect, counts: Mapping[str, int], harness_error: bool) -> str:
    """pass, fail, or error (the harness itself failed)."""
    if harness_error:
        return "error"
    seen = {k for k, n in counts.items() if n and k not in _HEALTH}
    if expect.clean:
        return "pass" if not seen else "fail"
    if seen & set(expect.forbid):
        return "fail"
    return "pass" if seen & set(expect.detect) else "fail"
