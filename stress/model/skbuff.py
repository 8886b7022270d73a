"""Dropping a network page's reference (net/core/skbuff.c: skb_frag_unref).

What happens then is the scheme's: a plain `put_page`, a return through the
page pool (`page_pool_return_skb_page`), or a destructor set on the way.
"""

from __future__ import annotations

from stress.model.machine import Machine


def skb_frag_unref(m: Machine, p: int) -> None:
    """The network stack is done with its reference to a (pool) page."""
    m.scheme.skb_frag_unref(m, p)
