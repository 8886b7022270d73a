"""Memory cgroup charging (mm/memcontrol.c), with Arjun's v2 SOCK bit.

Johannes's `lifetime` charge (the memcg mode of that name) lives from the first map until
the page returns to its pool or the allocator.  The harness keeps the cgroup of each such
charge in a shadow word of its own (`Layout.charged`), and holds the page's charge to it
where the charge ends: the free path's uncharge must find the page still charged to that
cgroup (`memcg-escape` if not), and so must every quiescent audit.
"""

from __future__ import annotations

from typing import Final

from stress.anomalies import Kind
from stress.memory.layout import MEMCG, PAGE_WORDS, REFCOUNT
from stress.model.machine import Machine, Op

MEMCG_DATA_SOCK: Final = 1 << 40  # v2: charged as socket memory at map time
MEMCG_ID: Final = MEMCG_DATA_SOCK - 1


def page_memcg(m: Machine, p: int) -> int:
    """The cgroup id a page is charged to, 0 if none."""
    return m.mem.load(m.pages + p * PAGE_WORDS + MEMCG) & MEMCG_ID


def mem_cgroup_charge(m: Machine, p: int, memcg: int, sock: bool = False) -> bool:
    """Charge an uncharged page to memcg; False if it was already charged."""
    data = memcg | (MEMCG_DATA_SOCK if sock else 0)
    if m.mem.cas(m.pages + p * PAGE_WORDS + MEMCG, 0, data) != 0:
        return False
    m.sys.fetch_add(m.L.memcg + memcg, 1)
    if not sock:
        m.shadow.store(m.L.charged + p, memcg)  # a lifetime charge: held until the free
    if m.tracing:
        m.trace(Op.mem_cgroup_charge, p, 0, data, 0, 0)
    return True


def mem_cgroup_uncharge(m: Machine, p: int, at_free: bool = True) -> None:
    """Uncharge the page: on its free path, or (`at_free=False`) at v2's last unmap.

    mm/swap.c and mm/vmscan.c (5.12) uncharge on the free path (`__page_cache_release`'s
    caller `__put_single_page`, `release_pages` and `shrink_page_list` through
    `mem_cgroup_uncharge_list`), the page pool when a page comes home under
    `pg_network`.  Only the free path ends a lifetime charge.
    """
    slot = m.pages + p * PAGE_WORDS + MEMCG
    data = m.mem.load(slot)
    if at_free:
        lifetime_charge_ends(m, p, data & MEMCG_ID, "mem_cgroup_uncharge")
    if data and m.mem.cas(slot, data, 0) == data:
        m.sys.fetch_add(m.L.memcg + (data & MEMCG_ID), -1)
        if m.tracing:
            m.trace(Op.mem_cgroup_uncharge, p, data, 0, 0, 0)


def memcg_nr_charged(m: Machine, memcg: int) -> int:
    return m.sys.load(m.L.memcg + memcg)


def lifetime_charge_ends(m: Machine, p: int, charged: int, op: str) -> None:
    """The page is being freed: a lifetime charge must have lasted until now.

    The harness's oracle (the kernel checks nothing here): a page charged for its
    lifetime and found charged to another cgroup, or to none, on its way to the pool
    or the allocator was uncharged (or recharged) early, and its memory escaped the
    cgroup's limit for the rest of its use.
    """
    record = m.L.charged + p
    want = m.shadow.load(record)
    if not want:
        return
    m.shadow.store(record, 0)
    if charged != want and m.checks:
        m.report(Kind.MEMCG_ESCAPE, p, op,
                 refcount=m.mem.load(m.pages + p * PAGE_WORDS + REFCOUNT),
                 reason=f"charged to memcg {want} for its lifetime, found charged to "
                        f"{charged or 'none'} on its way to be freed")
