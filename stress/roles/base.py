"""What every role is: a set of weighted operations over a machine, and the references it holds.

A role instance (an *actor*) lives in one worker.  Its operations are plain
bound methods; the worker draws them from a precomputed schedule, so choosing
the next operation costs one `getrandbits` and one list index.  Between
operations an actor's containers are its ledger: `references()` lists one page
index per reference it holds, which the audit adds to every other holder's.
"""

from __future__ import annotations

import random
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from typing import Any, ClassVar, TypeVar

from mypy_extensions import mypyc_attr

from stress.model import Machine, page_use, put_page
from stress.roles.spec import ActorSpec

T = TypeVar("T")


@mypyc_attr(allow_interpreted_subclasses=True)
class Draws:
    """A role's own random choices (which page, slot or mapping; whether to map).

    Every choice a role makes that is not an operation goes through here, so that
    the explorer can branch on each instead of drawing it (explore/draws.py).
    """

    def __init__(self, rng: random.Random) -> None:
        self.random = rng.random  # int(random() * n): randrange costs a microsecond

    def pick(self, n: int) -> int:
        """One of 0 .. n-1, uniformly (0 when n < 1)."""
        return int(self.random() * n)

    def chance(self, p: float) -> bool:
        """True with probability p."""
        return self.random() < p


class Actor:
    """Base of every role: subclasses name their ops and parameters."""

    name: ClassVar[str]
    OPS: ClassVar[Mapping[str, float]]  # the default mix: op name -> weight
    PARAMS: ClassVar[Mapping[str, tuple[type, Any]]] = {}  # name -> (type, default)
    PARAM_HELP: ClassVar[Mapping[str, str]] = {}  # name -> what it means (pagerace roles)
    # What the supervisor must provide: a pool and queue of its own, PTE slots, a cgroup.
    NEEDS: ClassVar[frozenset[str]] = frozenset()
    # Where the role meets pages another role may have too (stress/roles/pairs.py):
    # the structures it takes them from or holds them in ("pool", "queue", "pte",
    # "cache"), "any" page at all, "alloc" fresh pages from the allocator, "free" pages
    # by a final put.
    SHARES: ClassVar[frozenset[str]] = frozenset()
    # Takes references to pages it does not own (a lockless lookup, GUP-fast, a stray
    # get): the contender the model's check-then-act windows must survive.  A clean run
    # with one whose windows it never contested is inconclusive (checks/contests.py).
    SPECULATIVE: ClassVar[bool] = False

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        self.m = m
        self.draws = Draws(rng)
        self.spec = spec
        for k, (_, default) in self.PARAMS.items():
            setattr(self, k, spec.params.get(k, default))

    def ops(self) -> Iterator[tuple[Callable[[], None], float]]:
        for name, weight in self.spec.mix.items():
            if weight > 0:
                yield getattr(self, name), weight

    def references(self) -> Iterator[int]:
        """One page index per reference held between operations."""
        return iter(())

    def drain(self) -> None:
        """Drop every reference held, leaving nothing behind (end of run)."""


class Holder(Actor):
    """An actor that keeps up to `hold` pages it got a reference to, then uses and drops them.

    `USE` names the use in anomaly records; None for a holder that never touches
    the data (a stray speculative reference), so no generation check is made.
    """

    PARAMS: ClassVar[Mapping[str, tuple[type, Any]]] = {"hold": (int, 4)}
    PARAM_HELP: ClassVar[Mapping[str, str]] = {
        "hold": "references held at once; taking one more releases the oldest"}
    USE: ClassVar[str | None] = None
    hold: int

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.held: deque[tuple[int, int]] = deque()  # (page, gen when taken)
        self.use = self.USE  # read every op: an attribute, not a class lookup (compiled)

    def keep(self, p: int) -> None:
        """Hold a reference just taken; the oldest goes once more than `hold` are held."""
        self.held.append((p, self.m.gen(p) if self.use else 0))
        if len(self.held) > self.hold:
            self.release()

    def release(self) -> None:
        """Use the oldest page held (checking it is still the page taken), then put it."""
        if self.held:
            p, gen = self.held.popleft()
            if self.use:
                page_use(self.m, p, gen, self.use)
            put_page(self.m, p)

    def references(self) -> Iterator[int]:
        return (p for p, _ in self.held)

    def drain(self) -> None:
        while self.held:
            self.release()


class Owner(Actor):
    """An actor that owns up to `max_pages` pages and gives them back oldest first.

    Subclasses say how a page is given back (`give_back`); the `release` op and
    the drain are the same for every owner.
    """

    PARAMS: ClassVar[Mapping[str, tuple[type, Any]]] = {"max_pages": (int, 32)}
    PARAM_HELP: ClassVar[Mapping[str, str]] = {"max_pages": "pages owned at once at most"}
    max_pages: int

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.owned: deque[int] = deque()

    def has_room(self) -> bool:
        return len(self.owned) < self.max_pages

    def give_back(self, p: int) -> None:
        raise NotImplementedError

    def release(self) -> None:
        """Give the oldest owned page back, the owner's way."""
        if self.owned:
            self.give_back(self.owned.popleft())

    def references(self) -> Iterator[int]:
        return iter(self.owned)

    def drain(self) -> None:
        while self.owned:
            self.release()


def build_schedule(ops: list[tuple[T, float]], bits: int = 8) -> list[T]:
    """A 2**bits list of ops in proportion to their weights (largest remainder)."""
    size = 1 << bits
    total = sum(w for _, w in ops)
    if not ops or total <= 0:
        raise ValueError("a worker needs at least one operation with a positive weight")
    shares = [w * size / total for _, w in ops]
    counts = [int(s) for s in shares]
    order = sorted(range(len(ops)), key=lambda k: shares[k] - counts[k], reverse=True)
    for k in order[:size - sum(counts)]:
        counts[k] += 1
    schedule: list[T] = []
    for (op, _), c in zip(ops, counts, strict=True):
        schedule.extend([op] * c)
    random.Random(0).shuffle(schedule)
    return schedule
