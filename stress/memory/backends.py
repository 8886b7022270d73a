"""The memory interface and its three backends.

Model code touches shared state only through `Memory`.  Each call is one
scheduling point, which is where the backends differ:

- ``atomic``: the C extension itself, sequentially consistent ``__atomic`` builtins.
- ``locked``: striped locks around a plain read-modify-write, portable and slow.
- ``racy``: a plain read-modify-write with no atomicity at all, the bug model of
  claim C9.  The window between the load and the store is a whole Python call,
  which is what lets two processes interleave inside it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from stress._atomic import Atomic64

BACKENDS = ("atomic", "locked", "racy")


class Memory(Protocol):
    """64-bit slots with kernel return conventions (old values, cmpxchg)."""

    def load(self, i: int, /) -> int: ...
    def store(self, i: int, v: int, /) -> None: ...
    def fetch_add(self, i: int, d: int, /) -> int: ...
    def cas(self, i: int, old: int, new: int, /) -> int: ...
    def add_unless(self, i: int, a: int, u: int, /) -> int: ...
    def fetch_or(self, i: int, mask: int, /) -> int: ...
    def fetch_and(self, i: int, mask: int, /) -> int: ...


class LoadStore(Protocol):
    def load(self, i: int, /) -> int: ...
    def store(self, i: int, v: int, /) -> None: ...


class RacyMemory:
    """Read-modify-write as two separate accesses: updates between them are lost.

    Over the atomic extension in a stress run; over a scheduled memory in the explorer,
    where the load and the store are then two scheduling points.
    """

    __slots__ = ("load", "store")

    def __init__(self, atomic: LoadStore) -> None:
        self.load = atomic.load
        self.store = atomic.store

    def fetch_add(self, i: int, d: int, /) -> int:
        v = self.load(i)
        self.store(i, v + d)
        return v

    def cas(self, i: int, old: int, new: int, /) -> int:
        v = self.load(i)
        if v == old:
            self.store(i, new)
        return v

    def add_unless(self, i: int, a: int, u: int, /) -> int:
        v = self.load(i)
        if v != u:
            self.store(i, v + a)
        return v

    def fetch_or(self, i: int, mask: int, /) -> int:
        v = self.load(i)
        self.store(i, v | mask)
        return v

    def fetch_and(self, i: int, mask: int, /) -> int:
        v = self.load(i)
        self.store(i, v & mask)
        return v


class LockedMemory:
    """The racy read-modify-write made safe by a lock chosen by slot index."""

    __slots__ = ("_load", "_store", "_locks", "_n")

    def __init__(self, atomic: Atomic64, locks: Sequence[Any]) -> None:
        if not locks:
            raise ValueError("the locked backend needs at least one lock")
        self._load = atomic.load
        self._store = atomic.store
        self._locks = tuple(locks)
        self._n = len(self._locks)

    def load(self, i: int, /) -> int:
        return self._load(i)

    def store(self, i: int, v: int, /) -> None:
        with self._locks[i % self._n]:
            self._store(i, v)

    def fetch_add(self, i: int, d: int, /) -> int:
        with self._locks[i % self._n]:
            v = self._load(i)
            self._store(i, v + d)
        return v

    def cas(self, i: int, old: int, new: int, /) -> int:
        with self._locks[i % self._n]:
            v = self._load(i)
            if v == old:
                self._store(i, new)
        return v

    def add_unless(self, i: int, a: int, u: int, /) -> int:
        with self._locks[i % self._n]:
            v = self._load(i)
            if v != u:
                self._store(i, v + a)
        return v

    def fetch_or(self, i: int, mask: int, /) -> int:
        with self._locks[i % self._n]:
            v = self._load(i)
            self._store(i, v | mask)
        return v

    def fetch_and(self, i: int, mask: int, /) -> int:
        with self._locks[i % self._n]:
            v = self._load(i)
            self._store(i, v & mask)
        return v


def make_memory(backend: str, atomic: Atomic64, locks: Sequence[Any] = ()) -> Memory:
    """The `Memory` for a backend name over the arena's atomic object."""
    if backend == "atomic":
        return atomic
    if backend == "racy":
        return RacyMemory(atomic)
    if backend == "locked":
        return LockedMemory(atomic, locks)
    raise ValueError(f"unknown memory backend {backend!r} (choose from {', '.join(BACKENDS)})")
