"""TCP rx zerocopy: vm_insert_page into a user mapping, munmap, vmsplice pins, GUP-fast.

The user mapping is a table of PTE slots in the arena (page + 1, 0 = none) so
that GUP-fast in another process can walk it locklessly.
"""

from __future__ import annotations

from stress.anomalies import Kind
from stress.memory.layout import (
    MAPCOUNT,
    PAGE_WORDS,
    PTE_MAP_GEN,
    PTE_MAP_GEN_SHIFT,
    PTE_MAP_PAGE,
    REFCOUNT,
)
from stress.model.lookup import lockless_get
from stress.model.machine import Machine, Op
from stress.model.memcontrol import mem_cgroup_charge, mem_cgroup_uncharge, page_memcg
from stress.model.page_ref import get_page, page_ref_count
from stress.model.swap import put_page, release_pages


def vm_insert_page(m: Machine, p: int, pte: int, memcg: int) -> bool:
    """Map a page the caller holds at PTE slot `pte`; charges memcg at the first map.

    mm/memory.c, both v5.12 and v6.8: vm_insert_page and insert_page_in_batch_locked (the
    vm_insert_pages that tcp_zerocopy_receive calls) begin with
    `if (!page_count(page)) return -EINVAL;`: a page at refcount 0 is refused.
    """
    base = m.pages + p * PAGE_WORDS
    if m.mem.load(base + REFCOUNT) == 0:
        return False
    get_page(m, p)
    old = m.mem.fetch_add(base + MAPCOUNT, 1)
    if old == -1 and m.cfg.memcg != "none":
        mem_cgroup_charge(m, p, memcg, sock=m.cfg.memcg == "unmap")
    # The harness's record of what this PTE maps, made before the PTE can be seen.
    m.shadow.store(m.L.pte_map + pte, (m.gen(p) & PTE_MAP_GEN) << PTE_MAP_GEN_SHIFT | p + 1)
    m.sys.store(m.L.pte + pte, p + 1)
    if m.tracing:
        m.trace(Op.vm_insert_page, p, old, old + 1, 1, pte)
    return True


class MmuGather:
    """The page batch of a `struct mmu_gather` (mm/mmu_gather.c, include/asm-generic/tlb.h).

    munmap (zap_pte_range) clears a PTE and drops the mapcount at once, but only hands the
    page's reference to the batch (`__tlb_remove_page`); the references are dropped when
    the batch is flushed (`tlb_flush_mmu` -> `tlb_batch_pages_flush` ->
    `free_pages_and_swap_cache` -> `release_pages`): when it is full, and at the end of
    the unmap (`tlb_finish_mmu`).  The kernel's batch holds MAX_GATHER_BATCH (about 500)
    pages and chains more; the model's holds `batch_max`, so that both flushes happen.
    """

    def __init__(self, batch_max: int) -> None:
        self.pages: list[int] = []
        self.batch_max = batch_max


def zap_pte(m: Machine, tlb: MmuGather, p: int, pte: int) -> None:
    """zap_pte_range for one PTE: clear it, page_remove_rmap, and batch the reference.

    mm/memory.c (5.12): ptep_get_and_clear_full, page_remove_rmap, then
    `if (unlikely(__tlb_remove_page(tlb, page))) force_flush = 1`; the forced flush
    (tlb_flush_mmu) releases the batch.  The harness checks the PTE still maps the page its
    owner mapped there: a PTE rewritten behind the mapping's back is a mapping-mismatch.
    """
    old_pte = m.sys.cas(m.L.pte + pte, p + 1, 0)  # a PTE that changed is left as it is
    if old_pte != p + 1 and m.checks:
        m.report(Kind.MAPPING_MISMATCH, p, "zap_pte_range", refcount=page_ref_count(m, p),
                 reason=f"PTE {pte} maps {'nothing' if old_pte == 0 else f'page {old_pte - 1}'}"
                        f", not the page mapped there", pte=pte)
    old = m.mem.fetch_add(m.pages + p * PAGE_WORDS + MAPCOUNT, -1)
    if old == 0 and m.cfg.memcg == "unmap":
        mem_cgroup_uncharge(m, p, at_free=False)  # Arjun's v2: uncharge at the last unmap
    if m.tracing:
        m.trace(Op.zap_page, p, old, old - 1, 1, pte)
    tlb.pages.append(p)  # __tlb_remove_page
    if m.tracing:
        m.trace(Op.tlb_remove_page, p, 0, 0, len(tlb.pages), pte)
    if len(tlb.pages) >= tlb.batch_max:
        tlb_flush_mmu(m, tlb)  # the batch is full: force_flush


def tlb_flush_mmu(m: Machine, tlb: MmuGather) -> None:
    """Drop the batch's references: tlb_batch_pages_flush -> free_pages_and_swap_cache."""
    pages = tlb.pages
    tlb.pages = []  # emptied first: a VM_BUG_ON in release_pages ends the flush, as the task's
    free_pages_and_swap_cache(m, pages)


def tlb_finish_mmu(m: Machine, tlb: MmuGather) -> None:
    """The end of an unmap: whatever the batch still holds is released."""
    if tlb.pages:
        tlb_flush_mmu(m, tlb)


def free_pages_and_swap_cache(m: Machine, pages: list[int]) -> None:
    """mm/swap_state.c (5.12): free_swap_cache on each page, then release_pages.

    free_swap_cache only acts on PageSwapCache pages, which no mapping of the model's
    holds (zerocopy maps network pages): release_pages is what is left.
    """
    release_pages(m, pages)


def zap_page(m: Machine, p: int, pte: int) -> None:
    """munmap of one PTE: a gather of its own, flushed at once (tlb_finish_mmu)."""
    tlb = MmuGather(1)
    zap_pte(m, tlb, p, pte)
    tlb_finish_mmu(m, tlb)


def vmsplice_page(m: Machine, p: int) -> None:
    """The user splices a mapped page into a pipe: a reference that outlives munmap."""
    get_page(m, p)


def pipe_buf_release(m: Machine, p: int) -> None:
    put_page(m, p)


def get_user_pages_fast(m: Machine, pte: int) -> int:
    """Tryget the page at a PTE and recheck the PTE; -1 if nothing (stable) is mapped.

    mm/gup.c (5.12) gup_pte_range: `ptep_get_lockless`, `try_grab_compound_head`, then
    `if (unlikely(pte_val(pte) != pte_val(*ptep)))` drop it.  The recheck is enough
    because a mapped page keeps the mapping's reference until its PTE is cleared
    (zap_pte_range clears, the mmu_gather puts later): a PTE that still names the
    page after the tryget names this page, not a reuse of it.  The harness checks
    that promise (`check_gup_identity`).
    """
    p = lockless_get(m, m.L.pte, pte, True, "get_user_pages_fast")
    if p >= 0 and m.checks:
        check_gup_identity(m, p, pte)
    return p


def check_gup_identity(m: Machine, p: int, pte: int) -> bool:
    """GUP-fast holds `p` through PTE `pte`: is it the page that PTE was set to map?

    The identity the lookup oracle gives the page cache (filemap.check_page_identity),
    for user mappings: the PTE-map shadow names the page and its generation when it
    was mapped.  The same page at another generation was freed and reused while the
    PTE still named it, and GUP hands its caller someone else's memory.  A shadow
    naming another page means the PTE was remapped since the recheck: nothing to say.
    """
    rec = m.shadow.load(m.L.pte_map + pte)
    if rec & PTE_MAP_PAGE != p + 1:
        return True
    mapped = rec >> PTE_MAP_GEN_SHIFT
    now = m.gen(p) & PTE_MAP_GEN
    if mapped == now:
        return True
    m.report(Kind.STALE_TRYGET, p, "get_user_pages_fast", refcount=page_ref_count(m, p),
             reason=f"PTE {pte} was set to map the page at generation {mapped}; GUP-fast "
                    f"holds generation {now}: freed and reused while still mapped", pte=pte)
    return False


def check_memcg_held(m: Machine, p: int, memcg: int, op: str) -> bool:
    """A task of `memcg` still references the page: it must still be charged to memcg."""
    if not m.checks or m.cfg.memcg == "none":
        return True
    charged = page_memcg(m, p)
    if charged == memcg:
        return True
    m.report(Kind.MEMCG_ESCAPE, p, op, refcount=page_ref_count(m, p),
             reason=f"referenced by a task of memcg {memcg}, charged to {charged}")
    return False
