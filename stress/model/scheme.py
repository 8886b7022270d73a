"""The `Scheme` protocol: what the 2021 thread's designs disagree on, as hooks the model calls.

Everything the designs share (refcounting, the allocator, the pool's cache and
ring, the page cache, memcg) stays in the model, once.  A scheme decides only:

- the refcount a page sits at while free in a pool (`pool_free_refcount`);
- whether the driver keeps its own reference and recycles by hand (`driver_recycles`);
- what the pool writes into a page it takes from, and gives back to, the page
  allocator (`page_pool_set_pp_info`, `page_pool_clear_pp_info`);
- where the final put sends a page, on each of the kernel's two doors to the free
  path: `put_page_route`, called by `__put_page`, and `release_page_route`, called by
  `release_pages` (the batched path of munmap and truncate, which never calls
  `__put_page`: Johannes's "we can identify the page in __put_page() and
  __release_page()");
- what the network stack does when it drops its reference (`skb_frag_unref`);
- optionally, where its destructor lives (`dtor_field`, see `DTOR_FIELDS`): a scheme
  without the attribute has none (stress/model/dtor.py).

Whether `free_pages_prepare` catches a pool page ("page_pool leak") is the kernel's,
not the scheme's: `[model] kernel` and `page_checks` (stress/model/profile.py).

The model reaches the scheme through `Machine.scheme` and never asks its name.
Schemes live in `stress/schemes/`, in other packages (entry point group
`pagerace.schemes`) or in a file a scenario names.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from stress.model.machine import Machine

# Every hook a scheme must define, in the order the docs present them.
HOOKS = ("name", "summary", "pool_free_refcount", "driver_recycles", "page_pool_set_pp_info",
         "page_pool_clear_pp_info", "put_page_route", "release_page_route", "skb_frag_unref")
_VALUES = {"name": str, "summary": str, "pool_free_refcount": int, "driver_recycles": bool}
# Optional: where a scheme's destructor lives.  "dtor": a word of its own; "lru": overlaying
# lru.next, where Johannes said a generic order-0 destructor would have to go (claim C13).
DTOR_FIELDS = ("dtor", "lru")


class Scheme(Protocol):
    name: str  # how scenarios and reports name it
    summary: str  # one line: who proposed it and what it does
    pool_free_refcount: int  # a page's refcount while it sits free in a pool
    driver_recycles: bool  # the driver holds a base reference and calls page_pool_put_page

    def page_pool_set_pp_info(self, m: Machine, p: int, pool: int) -> None:
        """A page fresh from the page allocator joins `pool` (its `pp` word is already set)."""

    def page_pool_clear_pp_info(self, m: Machine, p: int) -> None:
        """The pool gives page `p` back to the page allocator (its `pp` word already cleared)."""

    def put_page_route(self, m: Machine, p: int) -> bool:
        """`__put_page` at refcount 0: True if the scheme took the page (fed it to a pool).

        False sends it down the ordinary path: LRU removal, uncharge, `free_pages_prepare`.
        """

    def release_page_route(self, m: Machine, p: int) -> bool:
        """`release_pages` took page `p` to refcount 0: True if the scheme took the page.

        False sends it down release_pages' own path: LRU removal, the batch's uncharge,
        `free_unref_page_list`.  A scheme that routes in `put_page_route` and not here
        sends every page munmap or truncate frees last to the page allocator.
        """

    def skb_frag_unref(self, m: Machine, p: int) -> None:
        """The network stack drops the reference an skb fragment held on page `p`."""


def dtor_field(scheme: object) -> str | None:
    """The scheme's `dtor_field`, or None for a scheme that has no destructor."""
    f = getattr(scheme, "dtor_field", None)
    return f if isinstance(f, str) else None


def missing_hooks(obj: object) -> list[str]:
    """The hooks `obj` lacks or gets wrong, named as `HOOKS` does; empty when it is a Scheme."""
    missing = []
    for hook in HOOKS:
        if not hasattr(obj, hook):
            missing.append(hook)
            continue
        v = getattr(obj, hook)
        want = _VALUES.get(hook)
        if want is None and not callable(v):
            missing.append(f"{hook} (not callable)")
        elif want is not None and (not isinstance(v, want)
                                   or (want is int and isinstance(v, bool))):
            missing.append(f"{hook} (not a {want.__name__})")
    if (f := getattr(obj, "dtor_field", None)) is not None and f not in DTOR_FIELDS:
        missing.append(f"dtor_field (not one of {', '.join(DTOR_FIELDS)})")
    for text, limit in (("name", NAME_MAX), ("summary", SUMMARY_MAX)):
        v = getattr(obj, text, "")
        # Printed in every table and summary: one printable line of a bounded length.
        if isinstance(v, str) and not (0 < len(v) <= limit and v.isprintable()):
            missing.append(f"{text} (not one printable line of 1 to {limit} characters)")
    refcount = getattr(obj, "pool_free_refcount", 0)
    if not any(m.startswith("pool_free_refcount") for m in missing) \
            and refcount not in POOL_FREE_REFCOUNTS:
        # 0: the page is free in the pool (pg_network); 1: the pool's own reference.
        missing.append(f"pool_free_refcount ({refcount!r}, not 0 or 1)")
    return missing


POOL_FREE_REFCOUNTS = (0, 1)
NAME_MAX, SUMMARY_MAX = 64, 300
# What each hook returns, checked on a plug-in's every call (stress/schemes: checked_hooks).
RETURNS: dict[str, type | None] = {
    "page_pool_set_pp_info": None, "page_pool_clear_pp_info": None,
    "put_page_route": bool, "release_page_route": bool, "skb_frag_unref": None,
}
