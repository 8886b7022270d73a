"""Random single-process sequences of the model's operations against a sequential reference.

The reference is the rules of docs/model.md section 2 written the plainest way
(dicts and a list used as the free stack); after every step the arena's page
records, free count and reported anomalies must equal the reference's.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from stress.anomalies import PageBug
from stress.memory import Arena, ArenaConfig
from stress.model import (
    Machine,
    ModelConfig,
    __free_pages,
    alloc_page,
    get_page,
    get_page_unless_zero,
    mem_init,
    nr_free_pages,
    page_ref_freeze,
    page_ref_unfreeze,
    put_page,
)
from stress.model import flags as F
from stress.model.lru import lru_cache_add
from stress.schemes import load_scheme

NPAGES = 4
FLAGS = [F.PG_lru, F.PG_checked, F.PG_reserved, F.PG_dirty]
CHECK_AT_FREE = F.PAGE_FLAGS_CHECK_AT_FREE
free_pages_direct = __free_pages  # a dunder name inside a class body would be mangled


@dataclass
class RefPage:
    refcount: int = 0
    flags: int = 0
    gen: int = 0
    state: str = "free"


@dataclass
class Reference:
    """The sequential model: one page dict, a LIFO free list, a list of anomaly kinds."""

    scheme: str
    check_owner: bool
    pages: list[RefPage] = field(default_factory=lambda: [RefPage() for _ in range(NPAGES)])
    free: list[int] = field(default_factory=lambda: list(range(NPAGES - 1, -1, -1)))
    kinds: list[str] = field(default_factory=list)

    def alloc(self) -> int:
        if not self.free:
            return -1
        p = self.free.pop()
        pg = self.pages[p]
        pg.refcount, pg.gen, pg.state = 1, pg.gen + 1, "used"
        return p

    def free_prepare(self, p: int) -> None:
        pg = self.pages[p]
        check = CHECK_AT_FREE | (F.OWNER_PRIV_1 if self.check_owner else 0)
        if pg.flags & check:
            self.kinds.append("bad-page")
            pg.state = "leaked"
            return
        pg.flags = 0
        pg.state = "free"
        self.free.append(p)

    def put(self, p: int, direct: bool = False) -> None:
        pg = self.pages[p]
        if pg.refcount <= 0:
            self.kinds.append("refcount-underflow")
            raise PageBug  # type: ignore[call-arg]
        pg.refcount -= 1
        if pg.refcount:
            return
        if direct:
            self.free_prepare(p)
            return
        if self.scheme == "pg_network" and pg.flags & F.OWNER_PRIV_1:
            self.kinds.append("misrouted-free")  # no pool page here: a stale alias
            pg.state = "leaked"
            return
        pg.flags &= ~F.LRU_FLAGS
        self.free_prepare(p)


class ModelVsReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.arena = Arena.create(ArenaConfig(npages=NPAGES, nworkers=1, npools=1,
                                              trace_entries=16, ledger_size=8))
        mem_init(self.arena)
        self.held: Counter[int] = Counter()
        self.frozen: dict[int, int] = {}
        self.got: list[str] = []

    @initialize(scheme=st.sampled_from(["pg_network", "driver_ref"]), check=st.booleans())
    def configure(self, scheme: str, check: bool) -> None:
        cfg = ModelConfig(scheme=scheme, check_owner_priv_1_at_free=check)
        self.m = Machine(self.arena, cfg, load_scheme(scheme),
                         lambda a: self.got.append(a.kind.value), worker=0, trace=True)
        self.ref = Reference(scheme, check)

    def teardown(self) -> None:
        if hasattr(self, "m"):
            del self.m
        self.arena.close()

    def live(self) -> list[int]:
        return [p for p, n in self.held.items() if n > 0 and p not in self.frozen]

    @rule()
    def alloc(self) -> None:
        p = alloc_page(self.m)
        assert p == self.ref.alloc()
        if p >= 0:
            self.held[p] += 1

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def get(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.live()))
        get_page(self.m, p)
        self.ref.pages[p].refcount += 1
        self.held[p] += 1

    @rule(p=st.integers(0, NPAGES - 1))
    def tryget(self, p: int) -> None:
        ok = get_page_unless_zero(self.m, p)
        assert ok == (self.ref.pages[p].refcount != 0)
        if ok:
            self.ref.pages[p].refcount += 1
            self.held[p] += 1

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def put(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.live()))
        self.held[p] -= 1
        put_page(self.m, p)
        self.ref.put(p)

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def free_direct(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.live()))
        self.held[p] -= 1
        free_pages_direct(self.m, p)
        self.ref.put(p, direct=True)

    @rule(p=st.integers(0, NPAGES - 1))
    def get_or_put_unheld(self, p: int) -> None:
        """A get or put on a page nobody here holds: a BUG when its count is 0."""
        if self.held[p] or self.ref.pages[p].refcount != 0:
            return
        for op, kind in ((get_page, "get-on-free"), (put_page, "refcount-underflow")):
            try:
                op(self.m, p)
            except PageBug:
                self.ref.kinds.append(kind)
            else:
                raise AssertionError(f"{op.__name__} on a zero count did not BUG")

    @precondition(lambda self: self.live())
    @rule(data=st.data(), flag=st.sampled_from(FLAGS), on=st.booleans())
    def flag(self, data: st.DataObject, flag: int, on: bool) -> None:
        p = data.draw(st.sampled_from(self.live()))
        if on and flag == F.PG_lru:
            lru_cache_add(self.m, p)  # PG_lru comes with the list linkage
            self.ref.pages[p].flags |= 1 << flag
        elif on:
            F.set_page_flag(self.m, p, flag)
            self.ref.pages[p].flags |= 1 << flag
        else:
            F.clear_page_flag(self.m, p, flag)
            self.ref.pages[p].flags &= ~(1 << flag)

    @precondition(lambda self: self.live())
    @rule(data=st.data(), delta=st.integers(-1, 1))
    def freeze(self, data: st.DataObject, delta: int) -> None:
        p = data.draw(st.sampled_from(self.live()))
        n = self.ref.pages[p].refcount + delta
        ok = page_ref_freeze(self.m, p, n)
        assert ok == (delta == 0)
        if ok:
            self.ref.pages[p].refcount = 0
            self.frozen[p] = n

    @precondition(lambda self: self.frozen)
    @rule(data=st.data())
    def unfreeze(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(sorted(self.frozen)))
        n = self.frozen.pop(p)
        page_ref_unfreeze(self.m, p, n)
        self.ref.pages[p].refcount = n

    @precondition(lambda self: self.live())
    @rule(data=st.data())
    def unfreeze_live(self, data: st.DataObject) -> None:
        p = data.draw(st.sampled_from(self.live()))
        try:
            page_ref_unfreeze(self.m, p, 1)
        except PageBug:
            self.ref.kinds.append("freeze-violation")
        else:
            raise AssertionError("unfreeze of a live page did not BUG")

    @invariant()
    def pages_agree(self) -> None:
        if not hasattr(self, "m"):
            return
        pages = self.arena.pages
        for p, want in enumerate(self.ref.pages):
            got = (int(pages["refcount"][p]), int(pages["flags"][p]), int(pages["gen"][p]))
            assert got == (want.refcount, want.flags, want.gen), f"page {p}"
        assert nr_free_pages(self.m) == len(self.ref.free)

    @invariant()
    def anomalies_agree(self) -> None:
        if hasattr(self, "ref"):
            assert self.got == self.ref.kinds


ModelVsReference.TestCase.settings = settings(max_examples=300, stateful_step_count=40,
                                              deadline=None)
TestModelVsReference = ModelVsReference.TestCase
