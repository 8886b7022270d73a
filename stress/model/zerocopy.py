"""TCP rx zerocopy: vm_insert_page into a user mapping, munmap, vmsplice pins, GUP-fast.

The user mapping is a table of PTE slots in the arena (page + 1, 0 = none) so
that GUP-fast in another process can walk it locklessly.
"""

from __future__ import annotations

from stress.anomalies import Kind
from stress.memory.layout import MAPCOUNT, PAGE_WORDS, REFCOUNT
from stress.model.lookup import lockless_get
from stress.model.machine import Machine, Op
from stress.model.memcontrol import mem_cgroup_charge, mem_cgroup_uncharge, page_memcg
from stress.model.page_ref import get_page, page_ref_count
from stress.model.swap import put_page


def vm_insert_page(m: Machine, p: int, pte: int, memcg: int) -> bool:
    """Map a page the caller holds at PTE slot `pte`; charges memcg at the first map."""
    base = m.pages + p * PAGE_WORDS
    if m.mem.load(base + REFCOUNT) == 0:
        return False  # tcp_zerocopy_receive refuses a page with no reference
    get_page(m, p)
    old = m.mem.fetch_add(base + MAPCOUNT, 1)
    if old == -1 and m.cfg.memcg != "none":
        mem_cgroup_charge(m, p, memcg, sock=m.cfg.memcg == "unmap")
    m.sys.store(m.L.pte + pte, p + 1)
    if m.tracing:
        m.trace(Op.vm_insert_page, p, old, old + 1, 1, pte)
    return True


def zap_page(m: Machine, p: int, pte: int) -> None:
    """munmap of one PTE: clear it, drop the mapcount (v2 uncharges at the last), put.

    mm/memory.c: zap_pte_range.  The harness checks the PTE still maps the page its
    owner mapped there: a PTE rewritten behind the mapping's back is a mapping-mismatch.
    """
    old_pte = m.sys.cas(m.L.pte + pte, p + 1, 0)  # a PTE that changed is left as it is
    if old_pte != p + 1 and m.checks:
        m.report(Kind.MAPPING_MISMATCH, p, "zap_page", refcount=page_ref_count(m, p),
                 reason=f"PTE {pte} maps {'nothing' if old_pte == 0 else f'page {old_pte - 1}'}"
                        f", not the page mapped there", pte=pte)
    old = m.mem.fetch_add(m.pages + p * PAGE_WORDS + MAPCOUNT, -1)
    if old == 0 and m.cfg.memcg == "unmap":
        mem_cgroup_uncharge(m, p)
    if m.tracing:
        m.trace(Op.zap_page, p, old, old - 1, 1, pte)
    put_page(m, p)


def vmsplice_page(m: Machine, p: int) -> None:
    """The user splices a mapped page into a pipe: a reference that outlives munmap."""
    get_page(m, p)


def pipe_buf_release(m: Machine, p: int) -> None:
    put_page(m, p)


def get_user_pages_fast(m: Machine, pte: int) -> int:
    """Tryget the page at a PTE and recheck the PTE; -1 if nothing (stable) is mapped."""
    return lockless_get(m, m.L.pte, pte, True, "get_user_pages_fast")


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
