"""The LRU linkage word, `page->lru.next` (include/linux/mm_inline.h, include/linux/list.h, 5.12).

The model keeps no LRU lists, only what a page's own record sees of them: the
first word of `struct page`'s page-cache union, `lru.next`.  `list_add` writes a
list pointer there (`add_page_to_lru_list`), `list_del` first validates it
(`__list_del_entry_valid`, lib/list_debug.c, with CONFIG_DEBUG_LIST) and then
poisons it with `LIST_POISON1` (`del_page_from_lru_list`).  That is all a
destructor overlaying `lru.next` needs to collide with (claim C13).

Left out: the writes a neighbour's add or delete makes to this page's word.
"""

from __future__ import annotations

from typing import Final

from stress.anomalies import Kind
from stress.memory.layout import FLAGS, LRU, PAGE_WORDS
from stress.model import flags as F
from stress.model.machine import Machine, Op

# A pointer into the list (a neighbour, or &lruvec->lists[lru]): any value no destructor
# id can take.  LIST_POISON1 is include/linux/poison.h's 0x100, POISON_POINTER_DELTA left
# out (it would not fit the signed word).
LRU_LINKED: Final = 1 << 40
LIST_POISON1: Final = 0x100


def add_page_to_lru_list(m: Machine, p: int) -> None:
    """list_add(&page->lru, &lruvec->lists[lru]): lru.next becomes a list pointer."""
    m.mem.store(m.pages + p * PAGE_WORDS + LRU, LRU_LINKED)


def lru_cache_add(m: Machine, p: int) -> None:
    """Onto an LRU: mm/swap.c (5.12) __pagevec_lru_add_fn, SetPageLRU and the list_add.

    The link is written first, so whoever sees PG_lru sees the page linked.
    """
    add_page_to_lru_list(m, p)
    m.mem.fetch_or(m.pages + p * PAGE_WORDS + FLAGS, 1 << F.PG_lru)


def del_page_from_lru_list(m: Machine, p: int, op: str) -> None:
    """list_del(&page->lru): validate the linkage (CONFIG_DEBUG_LIST), then poison it."""
    slot = m.pages + p * PAGE_WORDS + LRU
    nxt = m.mem.load(slot)
    if m.tracing:
        m.trace(Op.lru_del, p, 0, 0, int(nxt == LRU_LINKED), nxt)
    if nxt != LRU_LINKED and m.checks:
        m.report(Kind.LRU_CORRUPT, p, op, reason=f"lru.next is {nxt:#x}, not a list pointer",
                 lru_next=nxt)
    m.mem.store(slot, LIST_POISON1)
