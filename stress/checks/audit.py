"""Stop-the-world audits: exact reference accounting, conservation, pools, memcg.

Run only while every worker is parked with its ledger published (or gone, at
the end).  Each check returns anomalies; the caller reports and counts them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from stress.anomalies import HARNESS, VOICES, Anomaly, Kind
from stress.checks.holders import expected_refcounts, in_arena, page_states, pool_pages
from stress.checks.structures import (
    check_free_list,
    check_free_pages,
    check_indexes,
    check_mappings,
    check_page_locks,
    check_pool_contents,
    check_rings,
)
from stress.memory import Arena
from stress.memory.layout import (
    FL_COUNT,
    G_NR_LEAKED,
    POOL_HOLD_CNT,
    POOL_RELEASE_CNT,
)
from stress.model import PS_ALLOCATED, PS_FREE, PS_LEAKED, PS_POOLED, Scheme
from stress.model.memcontrol import MEMCG_ID

MAX_PER_CHECK = 16  # anomaly records per check per audit; counts stay exact


@dataclass
class AuditResult:
    anomalies: list[Anomaly] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def where(self, kind: Kind, mask: np.ndarray, reason: str | Callable[[int], str],
              **detail: object) -> None:
        """`add` for the pages where `mask` holds, if it holds anywhere."""
        pages = np.flatnonzero(mask)
        if pages.size:
            self.add(kind, pages, reason, **detail)

    def add(self, kind: Kind, pages: np.ndarray, reason: str | Callable[[int], str],
            **detail: object) -> None:
        """Record one anomaly per page (the first few in full), counting all of them.

        No pages means one arena-wide anomaly; `reason` may be worded per page.
        """
        self.counts[kind.value] = self.counts.get(kind.value, 0) + max(1, len(pages))
        for p in (pages[:MAX_PER_CHECK] if len(pages) else [-1]):
            why = reason(int(p)) if callable(reason) else reason
            self.anomalies.append(Anomaly(kind, int(p), "audit", reason=why, detail=detail,
                                          origin=HARNESS, says=audit_says(kind)))


def audit_says(kind: Kind) -> str:
    """What the kernel does about what an audit found: it has no such scan."""
    v = VOICES[kind]
    if v.origin == HARNESS:
        return v.says
    return "the kernel has no such scan (found by the harness's audit at a quiescent point)"


def _check_refcounts(arena: Arena, scheme: Scheme, r: AuditResult) -> None:
    refcount = arena.pages["refcount"]
    r.where(Kind.REFCOUNT_UNDERFLOW, refcount < 0, "audit found a negative refcount")
    want = expected_refcounts(arena, scheme.pool_free_refcount)
    r.where(Kind.LOST_UPDATE, (refcount != want) & (refcount >= 0),
            lambda p: f"refcount {int(refcount[p])}, holders account for {int(want[p])}")


def _check_conservation(arena: Arena, r: AuditResult) -> None:
    L, words = arena.layout, arena.words
    n = L.config.npages
    pstate = page_states(arena)
    counts = np.bincount(pstate, minlength=PS_LEAKED + 1)
    free, used, pooled, leaked = (int(counts[s]) for s in
                                  (PS_FREE, PS_ALLOCATED, PS_POOLED, PS_LEAKED))
    in_pools = sum(len(x) for x in pool_pages(arena))
    nr_free = int(words[L.freelist + FL_COUNT])
    nr_leaked = int(words[L.globals + G_NR_LEAKED])
    problems = []
    if free + used + pooled + leaked != n:
        problems.append(f"free {free} + in use {used} + pooled {pooled} + leaked {leaked} != {n}")
    if nr_free != free:
        problems.append(f"free list holds {nr_free}, {free} pages are free")
    if in_pools != pooled:
        problems.append(f"pools hold {in_pools}, {pooled} pages are pooled")
    if nr_leaked != leaked:
        problems.append(f"{nr_leaked} pages reported leaked, {leaked} are")
    if problems:
        r.add(Kind.CONSERVATION, np.zeros(0, np.int64), "; ".join(problems))


def _check_pools(arena: Arena, scheme: Scheme, r: AuditResult) -> None:
    L, words = arena.layout, arena.words
    refcount = arena.pages["refcount"]
    for k, pages in enumerate(pool_pages(arena)):
        pages = in_arena(pages, L.config.npages)
        hold = int(words[L.pool(k) + POOL_HOLD_CNT])
        release = int(words[L.pool(k) + POOL_RELEASE_CNT])
        if hold - release < 0:
            r.add(Kind.POOL_INFLIGHT_NEGATIVE, np.zeros(0, np.int64),
                  f"pool {k}: hold_cnt {hold} - release_cnt {release} < 0", pool=k)
        bad = pages[refcount[pages] != scheme.pool_free_refcount]
        if bad.size:
            r.add(Kind.POOL_REFCNT_VIOLATION, bad,
                  f"pool {k}: ring page refcount is not {scheme.pool_free_refcount}", pool=k)


def _check_memcg(arena: Arena, r: AuditResult) -> None:
    L, words = arena.layout, arena.words
    ncg = L.config.ncgroups
    ids = arena.pages["memcg"] & MEMCG_ID
    charged = np.bincount(ids[ids != 0], minlength=ncg + 1)[:ncg + 1]
    counters = words[L.memcg:L.memcg + ncg + 1]
    for cg in np.flatnonzero(charged != counters):
        if cg == 0:
            continue
        r.add(Kind.MEMCG_MISMATCH, np.zeros(0, np.int64),
              f"memcg {cg}: counter {int(counters[cg])}, {int(charged[cg])} pages charged",
              memcg=int(cg))
    # A lifetime charge lasts until the page is freed (memcontrol.lifetime_charge_ends).
    want = words[L.charged:L.charged + L.config.npages]
    r.where(Kind.MEMCG_ESCAPE, (want != 0) & (ids != want),
            lambda p: f"charged to memcg {int(want[p])} for its lifetime, now charged to "
                      f"{int(ids[p]) or 'none'} and not yet freed")


def audit(arena: Arena, scheme: Scheme) -> AuditResult:
    """Every invariant that holds at a quiescent point."""
    r = AuditResult()
    check_indexes(arena, r)
    _check_refcounts(arena, scheme, r)
    _check_conservation(arena, r)
    _check_pools(arena, scheme, r)
    _check_memcg(arena, r)
    check_free_list(arena, r)
    check_pool_contents(arena, r)
    check_mappings(arena, r)
    check_page_locks(arena, r)
    check_rings(arena, r)
    check_free_pages(arena, r)
    return r


def final_audit(arena: Arena, scheme: Scheme) -> AuditResult:
    """After every holder drained and the pools were destroyed: nothing may be in use."""
    r = audit(arena, scheme)
    pstate = page_states(arena)
    r.where(Kind.PAGE_LEAK, (pstate == PS_ALLOCATED) | (pstate == PS_POOLED),
            "after the final drain the page is neither free, nor in a pool, nor leaked by a "
            "reported bad page")
    return r
