"""Scheduled memory: every access is a scheduling point, then the access itself.

The explorer puts one of these where a `Machine` keeps `mem` and `sys`.  The
point comes before the access, so when the scheduler lets an actor go, the
access it was waiting to make happens first.  Under the racy backend the stress
run's own `RacyMemory` goes over it: a read-modify-write is then two points (the
load, then the store), which is the window claim C9 lives in.
"""

from __future__ import annotations

from collections.abc import Callable

from stress._atomic import Atomic64


def _no_point() -> None:
    pass


class ScheduledMemory:
    """Sequentially consistent accesses, one scheduling point each."""

    __slots__ = ("_a", "_load", "_store", "point")

    def __init__(self, atomic: Atomic64) -> None:
        self._a = atomic
        self._load, self._store = atomic.load, atomic.store
        self.point: Callable[[], None] = _no_point  # the scheduler installs its own

    def load(self, i: int, /) -> int:
        self.point()
        return self._load(i)

    def store(self, i: int, v: int, /) -> None:
        self.point()
        self._store(i, v)

    def fetch_add(self, i: int, d: int, /) -> int:
        self.point()
        return self._a.fetch_add(i, d)

    def cas(self, i: int, old: int, new: int, /) -> int:
        self.point()
        return self._a.cas(i, old, new)

    def add_unless(self, i: int, a: int, u: int, /) -> int:
        self.point()
        return self._a.add_unless(i, a, u)

    def fetch_or(self, i: int, mask: int, /) -> int:
        self.point()
        return self._a.fetch_or(i, mask)

    def fetch_and(self, i: int, mask: int, /) -> int:
        self.point()
        return self._a.fetch_and(i, mask)
