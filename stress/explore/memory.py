"""Scheduled memory: every access is a scheduling point, then the access itself.

The explorer puts one of these where a `Machine` keeps `mem` and `sys`.  The
point comes before the access, so when the scheduler lets an actor go, the
access it was waiting to make happens first.  Under the racy backend the stress
run's own `RacyMemory` goes over it: a read-modify-write is then two points (the
load, then the store), which is the window claim C9 lives in.

For the partial-order reduction (strategies/dpor.py) every access, scheduled or
not, can also be written to a `Footprint`: the words one step read and wrote.
The harness's own accesses (the shadow words an oracle reads, the audit that
reads the whole arena and writes the ledgers) are recorded too, so that two steps
are independent only when no oracle could tell their order apart.
"""

from __future__ import annotations

from collections.abc import Callable

from stress._atomic import Atomic64


def _no_point() -> None:
    pass


class Footprint:
    """The words one step read and wrote; `reads_all`: it read every word (the audit)."""

    __slots__ = ("reads", "reads_all", "writes")

    def __init__(self) -> None:
        self.reads: set[int] = set()
        self.writes: set[int] = set()
        self.reads_all = False

    def clear(self) -> None:
        self.reads, self.writes, self.reads_all = set(), set(), False

    def frozen(self) -> Access:
        return Access(frozenset(self.reads - self.writes), frozenset(self.writes),
                      self.reads_all)


class Access:
    """A step's footprint, kept: what its dependence on another step is decided by."""

    __slots__ = ("reads", "reads_all", "writes")

    def __init__(self, reads: frozenset[int], writes: frozenset[int], reads_all: bool) -> None:
        self.reads, self.writes, self.reads_all = reads, writes, reads_all

    def depends(self, other: Access) -> bool:
        """Two steps conflict: one writes a word the other reads or writes."""
        w, ow = self.writes, other.writes
        if (self.reads_all and ow) or (other.reads_all and w):
            return True
        return bool(w & ow or w & other.reads or ow & self.reads)

    def union(self, other: Access) -> Access:
        """Both footprints as one: what depends on either depends on this."""
        if other is self:
            return self
        return Access(self.reads | other.reads, self.writes | other.writes,
                      self.reads_all or other.reads_all)

    def __repr__(self) -> str:
        return (f"Access(r={'all' if self.reads_all else sorted(self.reads)}, "
                f"w={sorted(self.writes)})")


class ScheduledMemory:
    """Sequentially consistent accesses, one scheduling point each."""

    __slots__ = ("_a", "_load", "_store", "fp", "point")

    def __init__(self, atomic: Atomic64) -> None:
        self._a = atomic
        self._load, self._store = atomic.load, atomic.store
        self.point: Callable[[], None] = _no_point  # the scheduler installs its own
        self.fp: Footprint | None = None  # recording, for the reduction only

    def load(self, i: int, /) -> int:
        self.point()
        if self.fp is not None:
            self.fp.reads.add(i)
        return self._load(i)

    def store(self, i: int, v: int, /) -> None:
        self.point()
        if self.fp is not None:
            self.fp.writes.add(i)
        self._store(i, v)

    def _rmw(self, i: int) -> None:
        self.point()
        if self.fp is not None:
            self.fp.writes.add(i)

    def fetch_add(self, i: int, d: int, /) -> int:
        self._rmw(i)
        return self._a.fetch_add(i, d)

    def cas(self, i: int, old: int, new: int, /) -> int:
        self._rmw(i)
        return self._a.cas(i, old, new)

    def add_unless(self, i: int, a: int, u: int, /) -> int:
        self._rmw(i)
        return self._a.add_unless(i, a, u)

    def fetch_or(self, i: int, mask: int, /) -> int:
        self._rmw(i)
        return self._a.fetch_or(i, mask)

    def fetch_and(self, i: int, mask: int, /) -> int:
        self._rmw(i)
        return self._a.fetch_and(i, mask)


class RecordedMemory:
    """The harness's unscheduled accesses (`Machine.shadow`), written to a footprint."""

    __slots__ = ("_a", "fp")

    def __init__(self, atomic: Atomic64, fp: Footprint) -> None:
        self._a, self.fp = atomic, fp

    def load(self, i: int, /) -> int:
        self.fp.reads.add(i)
        return self._a.load(i)

    def store(self, i: int, v: int, /) -> None:
        self.fp.writes.add(i)
        self._a.store(i, v)

    def fetch_add(self, i: int, d: int, /) -> int:
        self.fp.writes.add(i)
        return self._a.fetch_add(i, d)

    def cas(self, i: int, old: int, new: int, /) -> int:
        self.fp.writes.add(i)
        return self._a.cas(i, old, new)

    def add_unless(self, i: int, a: int, u: int, /) -> int:
        self.fp.writes.add(i)
        return self._a.add_unless(i, a, u)

    def fetch_or(self, i: int, mask: int, /) -> int:
        self.fp.writes.add(i)
        return self._a.fetch_or(i, mask)

    def fetch_and(self, i: int, mask: int, /) -> int:
        self.fp.writes.add(i)
        return self._a.fetch_and(i, mask)
