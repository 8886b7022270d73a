"""Memory cgroup charging (mm/memcontrol.c), with Arjun's v2 SOCK bit."""

from __future__ import annotations

from typing import Final

from stress.memory.layout import MEMCG, PAGE_WORDS
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
    if m.tracing:
        m.trace(Op.mem_cgroup_charge, p, 0, data, 0, 0)
    return True


def mem_cgroup_uncharge(m: Machine, p: int) -> None:
    slot = m.pages + p * PAGE_WORDS + MEMCG
    data = m.mem.load(slot)
    if data and m.mem.cas(slot, data, 0) == data:
        m.sys.fetch_add(m.L.memcg + (data & MEMCG_ID), -1)
        if m.tracing:
            m.trace(Op.mem_cgroup_uncharge, p, data, 0, 0, 0)


def memcg_nr_charged(m: Machine, memcg: int) -> int:
    return m.sys.load(m.L.memcg + memcg)
