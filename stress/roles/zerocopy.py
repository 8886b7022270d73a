"""A TCP rx zerocopy application: receive, map, vmsplice into a pipe, read, unmap.

It belongs to one memory cgroup; pages it maps are charged per the memcg mode,
and a page it still references through its pipe must stay charged to it.
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterator

from stress.model import (
    Machine,
    MmuGather,
    check_memcg_held,
    page_use,
    pipe_buf_release,
    skb_frag_unref,
    tlb_finish_mmu,
    vm_insert_page,
    vmsplice_page,
    zap_pte,
)
from stress.model.ptr_ring import ptr_ring_consume
from stress.roles.base import Actor
from stress.roles.spec import ActorSpec


class Zerocopy(Actor):
    """An application receiving with TCP rx zerocopy: maps pages, reads, vmsplices, unmaps."""

    map_ratio: float
    pipe_max: int
    unmap_pages: int
    tlb_batch: int

    name = "zerocopy"
    OPS = {"recv": 3.0, "read": 2.0, "pin": 1.0, "unmap": 2.0, "pipe_release": 1.0}
    PARAMS = {"map_ratio": (float, 1.0), "pipe_max": (int, 32), "unmap_pages": (int, 4),
              "tlb_batch": (int, 3)}
    PARAM_HELP = {"map_ratio": "share of received pages mapped (the rest take the copy path)",
                  "pipe_max": "pages in the pipe at once at most",
                  "unmap_pages": "mappings one munmap removes at most (oldest first)",
                  "tlb_batch": "pages the munmap's mmu_gather batch holds before it is "
                               "flushed through release_pages (the kernel's: about 500)"}
    NEEDS = frozenset({"queue", "pte", "memcg"})
    SHARES = frozenset({"queue", "pte", "free"})

    def __init__(self, m: Machine, rng: random.Random, spec: ActorSpec) -> None:
        super().__init__(m, rng, spec)
        self.qbase, self.qsize = m.L.queue(spec.queue), m.L.config.queue_size
        self.memcg = spec.memcg
        self.free_ptes: list[int] = list(range(spec.pte_lo, spec.pte_hi))
        self.mapped: deque[tuple[int, int, int]] = deque()  # (pte, page, gen)
        self.pipe: deque[tuple[int, int]] = deque()  # (page, gen)
        self.in_pipe: Counter[tuple[int, int]] = Counter()  # the pipe's entries, counted
        self.escaped: set[tuple[int, int]] = set()  # pipe pages already reported escaped
        self.tlb = MmuGather(max(1, self.tlb_batch))  # empty between operations

    def recv(self) -> None:
        """tcp_zerocopy_receive: map the skb's page, then free the skb (its reference)."""
        m = self.m
        p = ptr_ring_consume(m.sys, self.qbase, self.qsize)
        if p < 0:
            return
        gen = m.gen(p)
        if self.free_ptes and self.draws.chance(self.map_ratio):
            pte = self.free_ptes.pop()
            if vm_insert_page(m, p, pte, self.memcg):
                self.mapped.append((pte, p, gen))
            else:
                self.free_ptes.append(pte)
        else:
            page_use(m, p, gen, "tcp_recvmsg")  # the copy path reads the data
        skb_frag_unref(m, p)

    def read(self) -> None:
        """The application reads a mapped page (and the oldest page in its pipe)."""
        if self.mapped:
            _, p, gen = self.mapped[self.draws.pick(len(self.mapped))]
            page_use(self.m, p, gen, "user_read")
        if self.pipe:
            p, gen = self.pipe[0]
            if page_use(self.m, p, gen, "pipe_read"):
                self.check_charged(p, gen, "pipe_read")

    def pin(self) -> None:
        """vmsplice a mapped page into the pipe: a reference that outlives munmap."""
        if self.mapped and len(self.pipe) < self.pipe_max:
            _, p, gen = self.mapped[self.draws.pick(len(self.mapped))]
            vmsplice_page(self.m, p)
            self.pipe.append((p, gen))
            self.in_pipe[p, gen] += 1

    def unmap(self) -> None:
        """munmap the oldest mappings, batched (mmu_gather); pipe pages must stay charged."""
        m, tlb = self.m, self.tlb
        unmapped = []
        for _ in range(min(self.unmap_pages, len(self.mapped))):
            pte, p, gen = self.mapped.popleft()
            page_use(m, p, gen, "munmap")
            zap_pte(m, tlb, p, pte)
            self.free_ptes.append(pte)
            unmapped.append((p, gen))
        tlb_finish_mmu(m, tlb)
        for p, gen in unmapped:
            if (p, gen) in self.in_pipe:
                self.check_charged(p, gen, "munmap")

    def check_charged(self, p: int, gen: int, op: str) -> None:
        """A page this task still references must be charged to its cgroup; one report each."""
        if (p, gen) not in self.escaped and not check_memcg_held(self.m, p, self.memcg, op):
            self.escaped.add((p, gen))

    def pipe_release(self) -> None:
        """The pipe's reader consumes the oldest buffer and drops its reference."""
        if self.pipe:
            p, gen = self.pipe.popleft()
            self.in_pipe[p, gen] -= 1
            if not self.in_pipe[p, gen]:
                del self.in_pipe[p, gen]
                self.escaped.discard((p, gen))
            page_use(self.m, p, gen, "pipe_read")
            pipe_buf_release(self.m, p)

    def references(self) -> Iterator[int]:
        # Mapped pages' references are counted from the PTE table itself; a batch left
        # behind by an aborted munmap (a VM_BUG_ON) still holds its pages' references.
        yield from (p for p, _ in self.pipe)
        yield from self.tlb.pages

    def drain(self) -> None:
        tlb_finish_mmu(self.m, self.tlb)
        while self.mapped:
            self.unmap()
        while self.pipe:
            self.pipe_release()
