"""The page cache (mm/filemap.c, mm/truncate.c, mm/vmscan.c's __remove_mapping).

One file whose page at index i is slot i of the cache region; `mapping` on the
page is i + 1, so a holder can tell whether the page is still the one it looked up.
"""

from __future__ import annotations

from stress.anomalies import Kind
from stress.memory.layout import FLAGS, MAPPING, PAGE_WORDS
from stress.model import flags as F
from stress.model.lookup import lockless_get
from stress.model.lru import del_page_from_lru_list, lru_cache_add
from stress.model.machine import Machine, Op
from stress.model.memcontrol import mem_cgroup_uncharge
from stress.model.page_ref import get_page, page_ref_count, page_ref_freeze, page_ref_unfreeze
from stress.model.swap import free_unref_page, put_page


def add_to_page_cache_lru(m: Machine, p: int, index: int) -> bool:
    """Insert a page the caller holds; the cache takes its own reference.

    mm/filemap.c (5.12): __add_to_page_cache_locked, and only once it succeeded
    lru_cache_add, whose pagevec drain sets PG_lru and links the page
    (add_page_to_lru_list).  The caller's reference keeps the page from its final put
    until then.
    """
    base = m.pages + p * PAGE_WORDS
    get_page(m, p)
    m.mem.store(base + MAPPING, index + 1)
    if m.sys.cas(m.L.cache + index, 0, p + 1) != 0:
        m.mem.store(base + MAPPING, 0)
        put_page(m, p)
        return False
    lru_cache_add(m, p)
    if m.tracing:
        m.trace(Op.add_to_page_cache, p, 0, 0, 1, index)
    return True


def filemap_get_entry(m: Machine, index: int) -> int:
    """Lockless lookup with tryget and recheck; the page comes back referenced, or -1."""
    return lockless_get(m, m.L.cache, index, not m.cfg.lookup_skips_recheck,
                        "filemap_get_entry")


def page_mapping_is(m: Machine, p: int, index: int) -> bool:
    return m.mem.load(m.pages + p * PAGE_WORDS + MAPPING) == index + 1


def check_page_identity(m: Machine, p: int, index: int, op: str) -> bool:
    """The reader is about to use the page it looked up at `index`: may it?

    With a reference held after a passed recheck the page can only still be the
    file's page at `index`, or truncated under us (mapping 0: drop it, as
    filemap_read does).  Any other identity means the tryget landed on a page
    that had been freed and reused: the recheck was skipped or is broken.
    """
    mapping = m.mem.load(m.pages + p * PAGE_WORDS + MAPPING)
    if mapping == index + 1:
        return True
    if mapping != 0 and m.checks:
        m.report(Kind.STALE_TRYGET, p, op, refcount=page_ref_count(m, p),
                 reason=f"looked up index {index}, page now maps index {mapping - 1}")
    return False


def truncate_cleanup_page(m: Machine, p: int) -> None:
    """mm/truncate.c (5.12): the filesystem's invalidatepage, then cancel_dirty_page.

    PG_checked is the filesystem's to clear in its invalidatepage (ext4 does); the fault
    `truncate_leaves_checked` is a filesystem that forgets (delete_from_page_cache, below).
    """
    F.clear_page_flag(m, p, F.PG_dirty)


def delete_from_page_cache(m: Machine, index: int, p: int) -> bool:
    """Truncate: the caller holds a reference and the page lock; drop the cache's ref."""
    base = m.pages + p * PAGE_WORDS
    if m.sys.cas(m.L.cache + index, p + 1, 0) != p + 1:
        return False
    m.mem.store(base + MAPPING, 0)
    truncate_cleanup_page(m, p)
    if not m.cfg.truncate_leaves_checked:
        F.clear_page_flag(m, p, F.PG_checked)
    if m.tracing:
        m.trace(Op.delete_from_page_cache, p, 0, 0, 1, index)
    put_page(m, p)
    return True


def __remove_mapping(m: Machine, index: int, p: int, users_expected: int = 1) -> bool:
    """Reclaim: freeze at cache + expected users, unhook, free without __put_page.

    mm/vmscan.c (5.12): `page_ref_freeze(page, 1 + compound_nr(page))` or give up; then
    `if (unlikely(PageDirty(page))) { page_ref_unfreeze(page, refcount); goto
    cannot_free; }`: a page dirtied since it was checked goes back.  On success
    shrink_page_list calls unlock_page and the page joins the batch freed by
    mem_cgroup_uncharge_list and free_unref_page_list; on failure the caller still holds
    its references and the lock.
    """
    base = m.pages + p * PAGE_WORDS
    refcount = 1 + users_expected
    if not page_ref_freeze(m, p, refcount):
        return False
    if m.mem.load(base + FLAGS) & 1 << F.PG_dirty:
        page_ref_unfreeze(m, p, refcount)
        return False
    if m.sys.cas(m.L.cache + index, p + 1, 0) != p + 1:
        # Not the cache's page any more: a freeze that should never have succeeded.
        page_ref_unfreeze(m, p, refcount)
        return False
    m.mem.store(base + MAPPING, 0)
    # Isolated before reclaim: 5.12 isolate_lru_pages takes PageLRU pages only, and its
    # list_move's __list_del_entry validates lru.next; the kernel then links it on the
    # isolation list where the model poisons it, which nothing here reads.
    if m.mem.load(base + FLAGS) & 1 << F.PG_lru:
        del_page_from_lru_list(m, p, "__remove_mapping")
    m.mem.fetch_and(base + FLAGS, ~F.LRU_FLAGS)
    F.unlock_page(m, p)
    if m.tracing:
        m.trace(Op.remove_mapping, p, 1 + users_expected, 0, 1, index)
    mem_cgroup_uncharge(m, p)
    free_unref_page(m, p, "__remove_mapping")
    return True
