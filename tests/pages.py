"""Page states the model tests start from, built with the model's own functions."""

from __future__ import annotations

from stress.model import Machine, add_to_page_cache_lru, alloc_page, put_page


def cached_page(m: Machine, index: int = 0) -> int:
    """A page-cache page at `index`, on the LRU, held only by the cache's reference."""
    p = alloc_page(m)
    assert add_to_page_cache_lru(m, p, index)
    put_page(m, p)
    return p
