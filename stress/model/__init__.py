"""The page model (docs/model.md sections 1 to 3), named after its kernel counterparts.

Every function takes a `Machine` first and touches shared state only through
its memory interface.
"""

from stress.model.config import MEMCG_MODES, ModelConfig
from stress.model.filemap import (
    __remove_mapping,
    add_to_page_cache_lru,
    check_page_identity,
    delete_from_page_cache,
    filemap_get_entry,
)
from stress.model.machine import (
    PS_ALLOCATED,
    PS_FREE,
    PS_LEAKED,
    PS_POOLED,
    Machine,
    Op,
    collect,
)
from stress.model.memcontrol import mem_cgroup_charge, mem_cgroup_uncharge, page_memcg
from stress.model.oracle import page_use
from stress.model.page_alloc import (
    __free_pages,
    alloc_page,
    bad_page,
    free_pages_prepare,
    mem_init,
    nr_free_pages,
)
from stress.model.page_pool import (
    page_pool_alloc_pages,
    page_pool_destroy,
    page_pool_inflight,
    page_pool_init,
    page_pool_put_free_page,
    page_pool_put_page,
    page_pool_release_page,
)
from stress.model.page_ref import (
    folio_try_get,
    get_page,
    get_page_unless_zero,
    page_ref_add_unless,
    page_ref_count,
    page_ref_freeze,
    page_ref_sub,
    page_ref_unfreeze,
    put_page_testzero,
    set_page_count,
)
from stress.model.scheme import Scheme
from stress.model.skbuff import skb_frag_unref
from stress.model.swap import __put_page, mark_page_accessed, put_page, release_pages
from stress.model.swap_state import add_to_swap_cache, delete_from_swap_cache
from stress.model.zerocopy import (
    MmuGather,
    check_memcg_held,
    get_user_pages_fast,
    pipe_buf_release,
    tlb_finish_mmu,
    vm_insert_page,
    vmsplice_page,
    zap_page,
    zap_pte,
)

__all__ = [
    "MEMCG_MODES", "MmuGather", "PS_ALLOCATED", "PS_FREE", "PS_LEAKED", "PS_POOLED", "Machine",
    "Scheme",
    "ModelConfig", "Op", "__free_pages", "__put_page", "__remove_mapping",
    "add_to_page_cache_lru", "add_to_swap_cache", "alloc_page", "bad_page",
    "check_memcg_held", "check_page_identity", "collect", "delete_from_page_cache",
    "delete_from_swap_cache", "filemap_get_entry", "folio_try_get", "free_pages_prepare",
    "get_page", "get_page_unless_zero", "get_user_pages_fast", "mem_cgroup_charge",
    "mem_cgroup_uncharge", "mem_init", "nr_free_pages", "page_memcg", "page_pool_alloc_pages",
    "page_pool_destroy", "page_pool_inflight", "page_pool_init", "page_pool_put_free_page",
    "page_pool_put_page", "page_pool_release_page", "page_ref_add_unless", "page_ref_count",
    "page_ref_freeze", "page_ref_sub", "page_ref_unfreeze", "page_use", "pipe_buf_release",
    "mark_page_accessed", "put_page", "put_page_testzero", "release_pages",
    "set_page_count", "skb_frag_unref", "tlb_finish_mmu", "vm_insert_page", "vmsplice_page",
    "zap_page", "zap_pte",
]
