"""The model's context: the arena seen through the memory interface, plus options.

Model functions take a `Machine` first, the way kernel functions reach their
zone or node.  Page records go through `mem`, the selected backend, so the racy
backend races exactly the fields the kernel updates.  The allocator's lists,
pool rings, page-cache slots and the harness's shadows (`gen`, page state) go
through `sys`, always atomic: those stand for structures the kernel protects
with real locks, and an oracle that races with itself would prove nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from time import perf_counter
from typing import Final

from stress.anomalies import BUG_KINDS, HARNESS, KERNEL, VOICES, Anomaly, Kind, PageBug, Reporter
from stress.memory.arena import Arena
from stress.memory.backends import Memory
from stress.memory.bound import bind
from stress.memory.layout import DTOR, GEN, LRU, PAGE_WORDS, Layout
from stress.model.config import DELAY_POINTS, ModelConfig
from stress.model.profile import Profile
from stress.model.scheme import Scheme, dtor_field

# The harness's shadow of where a page is: kept beside the records, never read by the model
# to decide anything except to recognise a free of a page that is not in use.
PS_FREE: Final = 1
PS_ALLOCATED: Final = 2
PS_POOLED: Final = 3
PS_LEAKED: Final = 4
PSTATE_NAMES = {0: "unbooted", PS_FREE: "free", PS_ALLOCATED: "in use", PS_POOLED: "pooled",
                PS_LEAKED: "leaked"}


class Op:
    """Operation codes written to trace records (plain ints: an Enum lookup costs 75 ns)."""

    get_page: Final = 1
    get_page_unless_zero: Final = 2
    put_page: Final = 3
    page_ref_freeze: Final = 4
    page_ref_unfreeze: Final = 5
    alloc_page: Final = 6
    free_pages_prepare: Final = 7
    page_pool_alloc: Final = 8
    page_pool_put_page: Final = 9
    page_pool_recycle: Final = 10
    page_pool_release: Final = 11
    set_page_dtor: Final = 12
    add_to_page_cache: Final = 13
    delete_from_page_cache: Final = 14
    remove_mapping: Final = 15
    vm_insert_page: Final = 16
    zap_page: Final = 17
    mem_cgroup_charge: Final = 18
    mem_cgroup_uncharge: Final = 19
    misroute: Final = 20
    bad_page: Final = 21
    use: Final = 22
    # The reads that open a race window (a check the act after it relies on).
    slot_read: Final = 23  # a lockless lookup read a slot: aux = index, result = 0 cache, 1 PTE
    refcount_check: Final = 24  # a refcount read before acting on it: before = the count read
    swapcache_delete: Final = 25  # swap-cache removal begins: result = 1 when it puts first
    swapcache_clear: Final = 26  # ... and clears PG_swapcache
    release_pages: Final = 27  # release_pages took a page to 0: aux = the batch's size
    tlb_remove_page: Final = 28  # munmap put a page in its mmu_gather batch: aux = the PTE
    lru_del: Final = 29  # list_del: result = 1 when lru.next held a list pointer, aux = lru.next
    mark_page_accessed: Final = 30  # result = 1 when it set PG_referenced, 0 when it cleared it


def spin(seconds: float) -> None:
    """Busy-wait (a sleep would give the core away and wake far too late)."""
    end = perf_counter() + seconds
    while perf_counter() < end:
        pass


OP_NAMES = {v: k for k, v in vars(Op).items() if isinstance(v, int) and not k.startswith("_")}


def _no_trace(op: int, p: int, before: int, after: int, result: int, aux: int) -> None:
    pass


def collect(into: list[Anomaly]) -> Reporter:
    """A reporter that appends to a list (tests, benchmarks)."""
    return into.append


class Machine:
    """One process's handle on the model: memory, layout, options, reporter, tracer."""

    def __init__(self, arena: Arena, config: ModelConfig, scheme: Scheme, report: Reporter, *,
                 worker: int = -1, trace: bool = False, checks: bool = True) -> None:
        self.arena = arena
        self.L: Layout = arena.layout
        # Any Memory plugs in here (attach): the explorer puts scheduled ones in their place.
        self.mem = bind(arena.memory)
        self.sys = bind(arena.atomic)
        # The harness's own reads (a page's gen for an oracle or a record): never a
        # scheduling point, so an oracle does not widen the window it watches.
        self.shadow = bind(arena.atomic)
        self.cfg = config
        # The scheme's answers that do not change during a run, read once.
        self.scheme = scheme
        self.pool_free_refcount = scheme.pool_free_refcount
        # The page word a destructor lives in: its own, or lru.next (Scheme.dtor_field).
        self.dtor_word = LRU if dtor_field(scheme) == "lru" else DTOR
        # The kernel's answers (stress/model/profile.py), read once: where it checks.
        self.profile = Profile(config)
        self.pool_page_checked_at_free = self.profile.pool_leak_check
        self.worker = worker
        self._report = report
        self.pages = self.L.pages
        self.npages = self.L.config.npages
        # checks: the debug checks (VM_BUG_ON, CONFIG_DEBUG_VM) and the harness's oracles.
        # Off only to measure what they cost; the structures stay protected either way.
        self.checks = checks
        self.bug_aborts = self.profile.vm_bug_on  # a VM_BUG_ON_PAGE is there to kill the task
        delays = {point: config.delays.get(point, 0) / 1e6 for point in DELAY_POINTS}
        self.delay_lookup_tryget = delays["lookup_tryget"]
        self.delay_dtor_check_put = delays["dtor_check_put"]
        self.delay_pool_check_recycle = delays["pool_check_recycle"]
        self.delay_swapcache_put_clear = delays["swapcache_put_clear"]
        # What a delay point does: busy-wait here; a test puts a racing act in its place
        # (on the instance: compiled model code cannot see a module attribute patched).
        self.spin: Callable[[float], None] = spin
        self.tracing = trace and worker >= 0 and arena.layout.config.trace_entries > 0
        # trace(op, page, before, after, result, aux): one C call, ring arguments bound once.
        self.trace: Callable[[int, int, int, int, int, int], None] = (
            arena.atomic.tracer(self.L.trace_ring(worker), self.L.config.trace_entries,
                                self.pages, worker) if self.tracing else _no_trace)

    def attach(self, mem: Memory, sys: Memory) -> None:
        """Run the model over other memories: page records over `mem`, the rest over `sys`."""
        self.mem, self.sys = bind(mem), bind(sys)

    def page(self, p: int) -> int:
        """Slot of page p's first word (its refcount)."""
        return self.pages + p * PAGE_WORDS

    def gen(self, p: int) -> int:
        return self.shadow.load(self.pages + p * PAGE_WORDS + GEN)

    def report(self, kind: Kind, p: int, op: str, *, refcount: int | None = None,
               reason: str = "", origin: str = "", says: str = "", **detail: object) -> None:
        """Hand an anomaly to the reporter; a VM_BUG_ON the kernel has then aborts the operation.

        `origin`/`says` name who would notice in the kernel where the kind's own voice
        (anomalies.VOICES) does not fit this report; a check the kernel runs only with its
        page checks is the harness's own when they are off.
        """
        if not origin:
            v = VOICES[kind]
            origin = v.origin
            if v.needs_checks and not self.profile.page_checks:
                origin = HARNESS
                says = says or (f"not there without page checks ({v.says}): the kernel "
                                "goes on")
        gen = self.gen(p) if 0 <= p < self.npages else None
        a = Anomaly(kind, p, op, refcount, gen, reason, self.worker, dict(detail), origin, says)
        self._report(a)
        if kind in BUG_KINDS and self.bug_aborts and origin == KERNEL:
            raise PageBug(a)

