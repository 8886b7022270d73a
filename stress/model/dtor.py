"""A generic order-0 destructor: the field a putter or the pool sets, the final put runs.

No kernel has one; the thread weighed it (Johannes's "generic destructor", costed as
`dtor_ref1`).  The kernel's only destructors are compound pages'
(`destroy_compound_page`, include/linux/mm.h, 5.12: `VM_BUG_ON_PAGE(page[1].compound_dtor
>= NR_COMPOUND_DTORS, page)`, then an indirect call through the table).

Where the field lives is the scheme's to declare (`Scheme.dtor_field`): a word of its own
(`"dtor"`), or `"lru"`, overlaying `lru.next` as Johannes said an order-0 one would have to
("it overlaps with the lru.next pointer"), which the LRU list writes too (stress/model/lru.py).
Under the overlay the harness keeps what was set in the `dtor` word as a shadow, and the
final put that finds anything else reports `dtor-lost` (claim C13).

Destructor ids: `pool + 1` feeds the page to that pool; `DTOR_FILE` is a filesystem's
(a generic destructor's other users: "LRU pages are a prime candidate"): it runs and lets
the page go on to the page allocator.
"""

from __future__ import annotations

from typing import Final

from stress.anomalies import Kind
from stress.memory.layout import DTOR, PAGE_WORDS
from stress.model.machine import Machine, Op
from stress.model.page_pool import page_pool_put_free_page

DTOR_FILE: Final = 1 << 20  # above any pool id + 1, below lru.LRU_LINKED


def set_page_dtor(m: Machine, p: int, dtor: int) -> None:
    """Give the page destructor `dtor` (`pool + 1`, or `DTOR_FILE`)."""
    base = m.pages + p * PAGE_WORDS
    m.mem.store(base + m.dtor_word, dtor)
    if m.dtor_word != DTOR:
        m.shadow.store(base + DTOR, dtor)  # the harness's record, not a kernel field
    if m.tracing:
        m.trace(Op.set_page_dtor, p, 1, dtor, 1, int(dtor == DTOR_FILE))


def clear_page_dtor(m: Machine, p: int) -> None:
    base = m.pages + p * PAGE_WORDS
    m.mem.store(base + m.dtor_word, 0)
    if m.dtor_word != DTOR:
        m.shadow.store(base + DTOR, 0)


def page_dtor(m: Machine, p: int, op: str) -> int:
    """The destructor the free path finds on page `p`: 0 for none.

    Under the `lru.next` overlay the word may hold a list pointer or LIST_POISON1; the
    model is generous to the design and reads those as "no destructor" (as if a flag told
    them apart), but a destructor that was set and is not what the free path finds is
    lost: reported, and the page goes on without it.
    """
    base = m.pages + p * PAGE_WORDS
    found = m.mem.load(base + m.dtor_word)
    if m.dtor_word == DTOR:
        return found
    was_set = m.shadow.load(base + DTOR)
    if was_set and found != was_set:
        m.shadow.store(base + DTOR, 0)  # lost: the harness's record follows the kernel's
        if m.checks:
            m.report(Kind.DTOR_LOST, p, op, reason=f"destructor {was_set:#x} was set, "
                     f"lru.next holds {found:#x}: the LRU list wrote over it",
                     lru_next=found)
    if found == DTOR_FILE or 0 < found <= m.L.config.npools:
        return found
    return 0


def destroy_page(m: Machine, p: int, op: str, *, keep: bool) -> bool:
    """Run page `p`'s destructor at refcount 0: True if it took the page (fed it to a pool).

    `keep`: the destructor stays for the page's next life in its pool (set once, at
    allocation); otherwise it is cleared as it runs.  A filesystem's destructor always
    clears and lets the page go on down the ordinary free path.
    """
    dtor = page_dtor(m, p, op)
    if not dtor:
        return False
    if dtor == DTOR_FILE:
        clear_page_dtor(m, p)
        return False
    if not keep:
        clear_page_dtor(m, p)
    page_pool_put_free_page(m, p, dtor - 1)
    return True
