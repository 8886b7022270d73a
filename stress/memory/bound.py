"""A memory's operations looked up once, for the compiled model.

Compiled code calls a method of a protocol-typed object by name, which costs a
type lookup on every call: about a fifth of the instructions of an operation
(callgrind).  `Bound` takes each operation of a memory once; compiled code then
reads a field of a native class and calls what it holds.  Any `Memory` can be
bound (the atomic extension, a backend, the explorer's scheduled memory, a test's
wrapper), and a `Bound` is itself a `Memory`.

Interpreted, the opposite holds: CPython calls a method of the memory's own type
faster than a callable kept in an instance (6% of an operation), so the pure
build binds nothing (`bind`).
"""

from __future__ import annotations

from collections.abc import Callable
from types import FunctionType
from typing import Final, cast

from stress.memory.backends import Memory


class Bound:
    """The seven operations of one `Memory`, as attributes."""

    def __init__(self, mem: Memory) -> None:
        self.load: Callable[[int], int] = mem.load
        self.store: Callable[[int, int], None] = mem.store
        self.fetch_add: Callable[[int, int], int] = mem.fetch_add
        self.cas: Callable[[int, int, int], int] = mem.cas
        self.add_unless: Callable[[int, int, int], int] = mem.add_unless
        self.fetch_or: Callable[[int, int], int] = mem.fetch_or
        self.fetch_and: Callable[[int, int], int] = mem.fetch_and


def _is_compiled() -> bool:
    return not isinstance(_is_compiled, FunctionType)  # mypyc makes functions builtins


COMPILED: Final = _is_compiled()


def bind(mem: Memory) -> Bound:
    """`Bound(mem)` for compiled callers; the memory itself for interpreted ones."""
    return Bound(mem) if COMPILED else cast(Bound, mem)  # both have Bound's seven calls
