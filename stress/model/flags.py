"""Page flags (include/linux/page-flags.h, v5.12 order) and the checked masks.

Every flag and mask is `Final` (and written with `<<`), so that compiled code uses the
number itself.

`PG_owner_priv_1` is one bit with several names, as in the kernel, so that the
aliasing bugs the 2021 thread worried about can actually happen here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from stress.anomalies import Kind
from stress.memory.layout import FLAGS as _FLAGS
from stress.memory.layout import PAGE_WORDS as _PW

if TYPE_CHECKING:
    from stress.model.machine import Machine

PG_locked: Final = 0
PG_referenced: Final = 1
PG_uptodate: Final = 2
PG_dirty: Final = 3
PG_lru: Final = 4
PG_active: Final = 5
PG_workingset: Final = 6
PG_waiters: Final = 7
PG_error: Final = 8
PG_slab: Final = 9
PG_owner_priv_1: Final = 10
PG_arch_1: Final = 11
PG_reserved: Final = 12
PG_private: Final = 13
PG_private_2: Final = 14
PG_writeback: Final = 15
PG_head: Final = 16
PG_mappedtodisk: Final = 17
PG_reclaim: Final = 18
PG_swapbacked: Final = 19
PG_unevictable: Final = 20
PG_mlocked: Final = 21
NR_PAGEFLAGS: Final = 22

# The aliases of PG_owner_priv_1.
PG_checked: Final = PG_owner_priv_1  # filesystems
PG_swapcache: Final = PG_owner_priv_1  # only meaningful with PG_swapbacked
PG_pinned: Final = PG_owner_priv_1  # Xen page tables, not refcounted by users
PG_foreign: Final = PG_owner_priv_1
PG_xen_remapped: Final = PG_owner_priv_1
PG_network: Final = PG_owner_priv_1  # Johannes's proposal: a page-pool page

NAMES = {
    v: k[3:]
    for k, v in globals().items()
    if k.startswith("PG_") and isinstance(v, int) and k not in {
        "PG_checked", "PG_swapcache", "PG_pinned", "PG_foreign", "PG_xen_remapped", "PG_network"
    }
}


OWNER_PRIV_1: Final = 1 << PG_owner_priv_1
LRU_FLAGS: Final = (1 << PG_lru) | (1 << PG_active) | (1 << PG_unevictable)

# mm/page_alloc.c: checked when a page is freed; a set flag is a bad page.
PAGE_FLAGS_CHECK_AT_FREE: Final = (
    (1 << PG_lru) | (1 << PG_locked) | (1 << PG_private) | (1 << PG_private_2)
    | (1 << PG_writeback) | (1 << PG_reserved) | (1 << PG_slab) | (1 << PG_active)
    | (1 << PG_unevictable) | (1 << PG_mlocked)
)
# Checked when a page is allocated: every flag must be clear.
PAGE_FLAGS_CHECK_AT_PREP: Final = (1 << NR_PAGEFLAGS) - 1

# include/linux/poison.h: PP_SIGNATURE (0x40 + POISON_POINTER_DELTA), the page pool's mark in
# pp_magic.  The model keeps it in the high half of the `pp` word, the pool id + 1 below.
PP_SIGNATURE: Final = 0x40 << 32


def flag_names(mask: int) -> list[str]:
    """Readable names of the bits set in `mask`, `owner_priv_1` for the aliased bit."""
    return [NAMES.get(nr, f"bit{nr}") for nr in range(64) if mask >> nr & 1]


# Flag operations on a page record (the PageX / SetPageX / ClearPageX family).


def test_page_flag(m: Machine, p: int, nr: int) -> bool:
    return bool(m.mem.load(m.pages + p * _PW + _FLAGS) >> nr & 1)


def set_page_flag(m: Machine, p: int, nr: int) -> bool:
    """Set a flag; True if it was already set (test_and_set_bit)."""
    return bool(m.mem.fetch_or(m.pages + p * _PW + _FLAGS, 1 << nr) >> nr & 1)


def clear_page_flag(m: Machine, p: int, nr: int) -> bool:
    """Clear a flag; True if it was set (test_and_clear_bit)."""
    return bool(m.mem.fetch_and(m.pages + p * _PW + _FLAGS, ~(1 << nr)) >> nr & 1)


# The page lock (include/linux/pagemap.h: trylock_page; mm/filemap.c: unlock_page).  The
# harness keeps who holds it in a shadow word per page, set after PG_locked is taken and
# cleared before it is released, so a correct lock never sees the shadow taken: two holders
# at once, or an unlock by someone who does not hold it, is a page-lock-violation.


def _lock_token(m: Machine) -> int:
    return m.worker + 2  # the supervisor is worker -1: every token is >= 1


def trylock_page(m: Machine, p: int) -> bool:
    if set_page_flag(m, p, PG_locked):
        return False
    if m.checks:
        holder = m.sys.cas(m.L.lock_owner + p, 0, _lock_token(m))
        if holder:
            m.report(Kind.PAGE_LOCK_VIOLATION, p, "trylock_page",
                     reason=f"took the page lock that {_holder(holder)} holds")
    return True


def unlock_page(m: Machine, p: int) -> None:
    """mm/filemap.c (v5.12) unlock_page: VM_BUG_ON_PAGE(!PageLocked(page)) before the
    clear, checked here on the bit the clear returns (a lost PG_locked: a flag write
    elsewhere that was not atomic)."""
    page_lock_release(m, p, "unlock_page")
    if not clear_page_flag(m, p, PG_locked) and m.checks:
        m.report(Kind.PAGE_LOCK_VIOLATION, p, "unlock_page",
                 reason="unlocked a page whose PG_locked was already clear "
                        "(VM_BUG_ON_PAGE(!PageLocked)): a flag write lost the lock bit")


def page_lock_release(m: Machine, p: int, op: str) -> None:
    """The harness's half of an unlock (also __ClearPageLocked of a frozen page)."""
    if m.checks:
        token = _lock_token(m)
        holder = m.sys.cas(m.L.lock_owner + p, token, 0)
        if holder != token:
            m.report(Kind.PAGE_LOCK_VIOLATION, p, op,
                     reason=f"released a page lock that {_holder(holder)} holds")


def _holder(token: int) -> str:
    if token == 0:
        return "nobody"
    return "the supervisor" if token == 1 else f"worker {token - 2}"
