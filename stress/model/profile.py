"""Kernel profiles: what each kernel version checks, and where, read once per machine.

`[model] kernel` and `page_checks` select a profile.  Each answer below cites the
source it was read from (v5.12.9 and v6.8, the files named); docs/model.md,
"Kernel profiles", has the table.
"""

from __future__ import annotations

from stress.model.config import ModelConfig


class Profile:
    """The answers of one kernel and configuration to "does the kernel look here?"."""

    def __init__(self, cfg: ModelConfig) -> None:
        v68 = cfg.kernel == "6.8"
        checks = cfg.page_checks
        self.kernel = cfg.kernel
        self.page_checks = checks
        # VM_BUG_ON_PAGE is compiled in only with CONFIG_DEBUG_VM (include/linux/mmdebug.h,
        # both versions); the model's page_checks stands for a CONFIG_DEBUG_VM kernel.
        self.vm_bug_on = checks
        # The flags at free.  5.12 mm/page_alloc.c: with CONFIG_DEBUG_VM free_pcp_prepare
        # runs free_pages_prepare(page, 0, true), check_free_page before the flags are
        # cleared; without it free_pages_prepare(page, 0, false) clears them unchecked and
        # bulkfree_pcp_prepare checks later.  6.8: free_pages_prepare checks only
        # `if (is_check_pages_enabled())`, before clearing.
        self.free_checks_flags = checks
        # mapcount, mapping, refcount and memcg at free.  5.12: checked either way, at the
        # latest when the pcp list is drained (bulkfree_pcp_prepare -> check_free_page;
        # the model frees straight to its free list, so it checks there).  6.8: only with
        # check_pages_enabled (mm/mm_init.c: DEFINE_STATIC_KEY_MAYBE(CONFIG_DEBUG_VM, ...)).
        self.free_checks_state = checks or not v68
        # "page_pool leak": page_bad_reason's last test, since v6.8 (dba1b8a7ab68), and
        # page_expected_state's pp_magic term: only where the free checks run.
        self.pool_leak_check = v68 and checks
        # check_new_page at allocation.  5.12: check_new_pcp with CONFIG_DEBUG_VM,
        # check_pcp_refill without it, so always.  6.8: check_new_pages runs it only
        # `if (is_check_pages_enabled())`.
        self.alloc_checks = checks or not v68
        # page_pool_release_page: exported in 5.12 net/core/page_pool.c, gone by 6.6 (6.8
        # has only __page_pool_release_page_dma, internal).
        self.has_page_pool_release_page = not v68
