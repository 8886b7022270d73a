"""Which roles can share a page, from what each declares (`Actor.SHARES`).

Two roles share a page when both can hold it at once (a structure both take pages
from, or one of them takes any page at all) or when one's final put can hand it to the
other's allocation (a page freed by one and reused by the other, with whatever the
free left behind).  Every such pair must meet in some clean scenario of the suite, in
both engines (`pagerace roles --pairs`, tests/test_role_pairs.py).
"""

from __future__ import annotations

from collections.abc import Mapping

from stress.roles.base import Actor

# What is shared by holding, as opposed to over a free and a reuse.
_LIFECYCLE = frozenset({"alloc", "free"})


def shared_through(a: type[Actor], b: type[Actor]) -> list[str]:
    """How roles a and b can come to the same page; empty if they cannot."""
    how = sorted((a.SHARES & b.SHARES) - _LIFECYCLE - {"any"})
    how += [f"any page ({x.name})" for x in (a, b) if "any" in x.SHARES]
    if ("free" in a.SHARES and "alloc" in b.SHARES) or ("alloc" in a.SHARES
                                                        and "free" in b.SHARES):
        how.append("free, then alloc")
    return how


def sharing_pairs(roles: Mapping[str, type[Actor]]) -> dict[tuple[str, str], list[str]]:
    """Every pair of roles (in the registry's order) that can share a page, with how."""
    names = list(roles)
    out: dict[tuple[str, str], list[str]] = {}
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            how = shared_through(roles[a], roles[b])
            if how:
                out[a, b] = how
    return out
