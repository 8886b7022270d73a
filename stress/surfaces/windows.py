"""Race windows: the read a check-then-act relied on, the act, and what came in between.

An investigator reads a race as a window: a check (a read) and the act that relied on
it, and whatever another CPU did in between.  The model traces those reads at its
check-then-act points (`slot_read`, `refcount_check`, the driver's `page_pool_put_page`,
`swapcache_delete`); here they are found in an anomalous page's history and told in
window form.  Kinds that do not come from a check-then-act have no window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

Event = dict[str, Any]


def _last(h: list[Event], before: int, test: Callable[[Event], bool]) -> int | None:
    for i in range(min(before, len(h)) - 1, -1, -1):
        if test(h[i]):
            return i
    return None


def _next(h: list[Event], after: int, test: Callable[[Event], bool]) -> int | None:
    for i in range(after + 1, len(h)):
        if test(h[i]):
            return i
    return None


def _stale_tryget(a: dict[str, Any], h: list[Event]) -> tuple[int, int | None] | None:
    w = a["worker"]
    act = _last(h, len(h), lambda e: e["op"] == "get_page_unless_zero" and e["result"]
                and e["worker"] == w)
    if act is None:
        return None
    read = _last(h, act, lambda e: e["op"] == "slot_read" and e["worker"] == w)
    return None if read is None else (read, act)


def _pool_refcnt(a: dict[str, Any], h: list[Event]) -> tuple[int, int | None] | None:
    act = _last(h, len(h), lambda e: e["op"] == "page_pool_recycle")
    if act is None:
        return None
    w = h[act]["worker"]
    read = _last(h, act, lambda e: e["op"] == "page_pool_put_page" and e["result"]
                 and e["worker"] == w)
    return None if read is None else (read, act)


def _misrouted(a: dict[str, Any], h: list[Event]) -> tuple[int, int | None] | None:
    end = _last(h, len(h), lambda e: e["op"] == "misroute")
    end = len(h) if end is None else end
    read = _last(h, end, lambda e: e["op"] in ("refcount_check", "swapcache_delete"))
    if read is None:
        return None
    e0 = h[read]
    if e0["op"] == "swapcache_delete":
        if not e0["result"]:
            return None  # cleared first, as it should: not this window
        act = _next(h, read, lambda e: e["op"] == "swapcache_clear" and
                    e["worker"] == e0["worker"])
    else:
        act = _next(h, read, lambda e: e["op"] == "put_page" and e["worker"] == e0["worker"])
    return read, act


FINDERS = {"stale-tryget": _stale_tryget, "pool-refcnt-violation": _pool_refcnt,
           "pool-alloc-refcount": _pool_refcnt,
           "misrouted-free": _misrouted}


def find_window(a: dict[str, Any], explored: bool = False) -> dict[str, Any] | None:
    """The window of an anomaly from a check-then-act, for tools (JSON) and pictures."""
    finder = FINDERS.get(a["kind"])
    h = a.get("history") or []
    found = finder(a, h) if finder else None
    if found is None:
        return None
    read, act = found
    end_ts = h[act]["ts"] if act is not None else a.get("ts_ns", h[-1]["ts"])
    stop = act if act is not None else len(h)
    inside = [e for e in h[read + 1:stop] if not noise(e)]
    after = [e for e in h[stop + 1:] if not noise(e)][-8:] if act is not None else []
    gens = [h[read]["gen"]] + [e["gen"] for e in inside]
    changes = [g for i, g in enumerate(gens) if i == 0 or g != gens[i - 1]]
    length = end_ts - h[read]["ts"]
    return {
        "kind": a["kind"], "page": a["page"], "reader": h[read]["worker"],
        "read": h[read], "act": h[act] if act is not None else None,
        "start": h[read]["ts"], "end": end_ts,
        "length": length if explored else round(length / 1e6, 6),
        "unit": "steps" if explored else "ms",
        "inside": inside, "after": after, "gens": changes,
        "before": [e for e in h[:read] if e["op"] == "get_page_unless_zero" and e["result"]][-1:],
    }


def noise(e: Event) -> bool:
    """A failed tryget changes nothing: left out of accounts, kept in timelines."""
    return e["op"] == "get_page_unless_zero" and not e["result"]


def window_account(a: dict[str, Any], w: dict[str, Any], when: Callable[[int], str],
                   describe: Callable[[Event], str]) -> str:
    """The account in window form: the read, the window's length, what happened in it."""
    r, read, act, page = w["reader"], w["read"], w["act"], a["page"]
    n = w["length"]
    span = f"{n:g} steps" if w["unit"] == "steps" else f"{n * 1000:.1f} us" if n < 1 else \
        f"{n:.3f} ms"
    then = "; ".join(describe(e) for e in w["after"])
    others = [e for e in w["inside"] if e["worker"] != r or w["kind"] == "misrouted-free"]
    inside = "; ".join(describe(e) for e in others) or "nothing else touched it"
    gens = " -> ".join(str(g) for g in w["gens"])
    gen_note = f" (gen {gens})" if len(w["gens"]) > 1 else ""
    if w["kind"] == "stale-tryget":
        where = f"page-cache slot {read['aux']}" if not read["result"] else f"PTE {read['aux']}"
        return (f"Worker {r} read {where} -> page {page} (gen {read['gen']}) at "
                f"{when(read['ts'])}; before its tryget at {when(w['end'])}, {span} later, "
                f"{inside}{gen_note}; worker {r}'s tryget then succeeded on a page that was no "
                f"longer the one it read (gen {act['gen'] if act else '?'}).")
    if w["kind"] in ("pool-refcnt-violation", "pool-alloc-refcount"):
        return (f"Worker {r}'s driver read refcount {read['before']} on page {page} at "
                f"{when(read['ts'])} (1: only the pool's own reference, so recycle); before "
                f"the recycle at {when(w['end'])}, {span} later, {inside}"
                + (f"; after it, in the pool: {then}" if then else "")
                + "; the pool holds a page someone else still references.")
    if read["op"] == "swapcache_delete":
        end = f"before it cleared PG_swapcache at {when(w['end'])}" if act else \
            f"with PG_swapcache still set at {when(w['end'])}"
        return (f"Worker {r} began removing page {page} from the swap cache at "
                f"{when(read['ts'])}, dropping the cache's reference first; {end}, {span} "
                f"after: {inside}.")
    holder = w["before"][-1] if w["before"] else None
    held = f" ({describe(holder)})" if holder and not read["result"] else ""
    check = ("only its own: it set the destructor" if read["result"] else
             f"another reference was there{held}, so it set no destructor")
    return (f"Worker {r}'s network put read refcount {read['before']} on page {page} at "
            f"{when(read['ts'])}: {check}; before its put at {when(w['end'])}, {span} later, "
            f"{inside}" + (f"; then {then}" if then else "") + ".")
