"""Race windows in the report: each window kind's read is traced, found and told.

Each race is played in one thread with the model's own code (the second CPU's part
runs inside the first one's delay point), the trace rings are read back as the
supervisor would, and the report's account must name the read that opened the window.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pages import cached_page

import stress.model.swap_state as swap_state
import stress.schemes.dtor_ref1 as dtor_ref1
from stress.anomalies import Anomaly
from stress.memory.trace import all_records
from stress.model import (
    Machine,
    add_to_page_cache_lru,
    add_to_swap_cache,
    alloc_page,
    delete_from_page_cache,
    delete_from_swap_cache,
    filemap_get_entry,
    get_page_unless_zero,
    page_pool_alloc_pages,
    page_pool_put_page,
    put_page,
    skb_frag_unref,
)
from stress.model import flags as F
from stress.processes.reporting import HISTORY, anomaly_history
from stress.runrecord import Event
from stress.schemes import load_scheme
from stress.surfaces.report import account
from stress.surfaces.windows import find_window


def second_cpu(h) -> Machine:  # type: ignore[no-untyped-def]
    """Worker 1's machine over the same arena, tracing into its own ring."""
    return Machine(h.arena, h.m.cfg, load_scheme(h.m.cfg.scheme), h.anomalies.append,
                   worker=1, trace=True)


def anomaly_record(h, a: Anomaly) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """What the supervisor logs: the anomaly with its page's merged history."""
    records = all_records(h.arena.words, h.arena.layout)
    return a.to_dict() | {"history": anomaly_history(records, a), "ts_ns": int(records["ts"][-1])}


def race_in(m: Machine, other: Callable[[], None]) -> None:
    """Run `other` once, inside the window m's next delay point marks."""
    def once(_: float) -> None:
        m.spin = lambda _: None
        other()

    m.spin = once



def c10_stale_tryget(h) -> tuple[int, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """C10 played out: worker 0 reads slot 6, worker 1 truncates, frees and reuses the page
    at index 9 inside the window, worker 0's tryget lands; the page and the logged record."""
    cpu1 = second_cpu(h)
    p = cached_page(cpu1, 6)

    def truncate_and_reuse() -> None:
        assert filemap_get_entry(cpu1, 6) == p and delete_from_page_cache(cpu1, 6, p)
        put_page(cpu1, p)
        assert alloc_page(cpu1) == p and add_to_page_cache_lru(cpu1, p, 9)

    race_in(h.m, truncate_and_reuse)
    assert filemap_get_entry(h.m, 6) == p
    return p, anomaly_record(h, h.anomalies[0])


def test_stale_tryget_window_starts_at_the_slot_read(harness) -> None:
    """C10: the account opens with the reader's slot read, and names the reuse inside."""
    p, a = c10_stale_tryget(harness(lookup_skips_recheck=True, delays={"lookup_tryget": 1}))
    w = find_window(a)
    assert w and w["read"]["op"] == "slot_read" and w["reader"] == 0
    assert {e["worker"] for e in w["inside"]} == {1} and len(w["gens"]) == 2
    text = account(a)
    assert f"Worker 0 read page-cache slot 6 -> page {p} (gen " in text
    assert "inserted it into the page cache at index 9" in text


def test_pool_refcnt_window_starts_at_the_drivers_read(harness) -> None:
    """C8: the driver's refcount read, the tryget inside, the recycle that relied on it."""
    h = harness(scheme="driver_ref", delays={"pool_check_recycle": 1})
    cpu1 = second_cpu(h)
    p = page_pool_alloc_pages(h.m, 0)
    race_in(h.m, lambda: get_page_unless_zero(cpu1, p))
    page_pool_put_page(h.m, 0, p)  # reads 1, a tryget lands, recycles at 2
    assert page_pool_alloc_pages(h.m, 0) == p  # handed out at 2: the violation
    a = anomaly_record(h, h.anomalies[0])
    assert a["kind"] == "pool-alloc-refcount"
    w = find_window(a)
    assert w and w["read"]["op"] == "page_pool_put_page" and w["act"]["op"] == "page_pool_recycle"
    text = account(a)
    assert f"Worker 0's driver read refcount 1 on page {p}" in text
    assert "worker 1's speculative tryget raised it to 2" in text


def test_dtor_window_starts_at_the_refcount_check(harness) -> None:
    """C2: the network put reads 2 (a tryget's), sets no destructor; the stranger's put frees."""
    h = harness(scheme="dtor_ref1")
    cpu1 = second_cpu(h)
    p = page_pool_alloc_pages(h.m, 0)
    assert get_page_unless_zero(cpu1, p)  # a transient reference, before the check
    skb_frag_unref(h.m, p)  # reads 2: no destructor; its put leaves 1
    put_page(cpu1, p)  # the stranger's put is the final one: to the allocator
    a = anomaly_record(h, next(x for x in h.anomalies if x.kind == "misrouted-free"))
    w = find_window(a)
    assert w and w["read"]["op"] == "refcount_check" and w["read"]["before"] == 2
    text = account(a)
    assert f"Worker 0's network put read refcount 2 on page {p}" in text
    assert "so it set no destructor" in text and "worker 1's put took it to 0" in text
    assert dtor_ref1  # the scheme module the check lives in


def test_swapcache_window_starts_when_the_removal_puts_first(harness) -> None:
    """C5's fault: the removal's put is the final one, PG_swapcache still set inside it."""
    h = harness(swapcache_put_before_clear=True)
    p = alloc_page(h.m)
    F.set_page_flag(h.m, p, F.PG_swapbacked)
    add_to_swap_cache(h.m, p)
    put_page(h.m, p)  # only the swap cache's reference left
    delete_from_swap_cache(h.m, p)
    a = anomaly_record(h, h.anomalies[0])
    assert a["kind"] == "misrouted-free"
    w = find_window(a)
    assert w and w["read"]["op"] == "swapcache_delete"
    assert f"Worker 0 began removing page {p} from the swap cache" in account(a)
    assert swap_state  # where the two steps are traced


def test_kinds_without_a_window_keep_the_plain_account(harness) -> None:
    """A stale PG_checked has no check-then-act: no window, the How: story as before."""
    h = harness(truncate_leaves_checked=True)
    p = cached_page(h.m, 3)
    assert filemap_get_entry(h.m, 3) == p
    F.set_page_flag(h.m, p, F.PG_checked)
    assert delete_from_page_cache(h.m, 3, p)
    put_page(h.m, p)
    a = anomaly_record(h, h.anomalies[0])
    assert find_window(a) is None and " How: " in account(a)


def test_the_json_report_carries_the_window(harness, tmp_path, capsys) -> None:
    """`pagerace report --json`: each anomaly from a check-then-act has its window."""
    import json

    from stress.surfaces.cli import main

    h = harness(scheme="driver_ref", delays={"pool_check_recycle": 1})
    cpu1 = second_cpu(h)
    p = page_pool_alloc_pages(h.m, 0)
    race_in(h.m, lambda: get_page_unless_zero(cpu1, p))
    page_pool_put_page(h.m, 0, p)
    page_pool_alloc_pages(h.m, 0)
    a = anomaly_record(h, h.anomalies[0])
    (tmp_path / "manifest.json").write_text(json.dumps({"scenario": {"name": "x"}}))
    (tmp_path / "supervisor.jsonl").write_text(json.dumps(a | {"event": Event.ANOMALY}) + "\n")
    assert main(["report", str(tmp_path), "--json"]) == 0
    [rec] = json.loads(capsys.readouterr().out)["anomalies"]
    w = rec["window"]
    assert w["reader"] == 0 and w["read"]["op"] == "page_pool_put_page" and w["unit"] == "ms"
    assert w["start"] <= w["end"] and [e["op"] for e in w["inside"]] == ["get_page_unless_zero"]


def test_a_long_window_keeps_its_read_in_the_history(harness) -> None:
    """Many reuses inside the window: the logged history still reaches back to the read."""
    h = harness(lookup_skips_recheck=True, delays={"lookup_tryget": 1})
    cpu1 = second_cpu(h)
    p = cached_page(cpu1, 6)

    def reuse_many_times() -> None:
        for _ in range(12):  # each life: lookup, truncate, free, allocate, insert
            assert filemap_get_entry(cpu1, 6) == p and delete_from_page_cache(cpu1, 6, p)
            put_page(cpu1, p)
            assert alloc_page(cpu1) == p and add_to_page_cache_lru(cpu1, p, 6)
            put_page(cpu1, p)
        assert filemap_get_entry(cpu1, 6) == p and delete_from_page_cache(cpu1, 6, p)
        put_page(cpu1, p)
        assert alloc_page(cpu1) == p and add_to_page_cache_lru(cpu1, p, 9)

    race_in(h.m, reuse_many_times)
    assert filemap_get_entry(h.m, 6) == p
    records = all_records(h.arena.words, h.arena.layout)
    assert len(records[records["page"] == p]) > HISTORY  # the read would have fallen off
    assert (h.anomalies[0].page, h.anomalies[0].worker) == (p, 0)
    a = anomaly_record(h, h.anomalies[0])
    w = find_window(a)
    # (worker 1's own ring, 64 records here, has lost its oldest: some gens are gone)
    assert w and w["read"]["op"] == "slot_read" and len(w["gens"]) > 5
    assert "Worker 0 read page-cache slot 6" in account(a)


def test_the_html_lane_draws_the_window(harness, tmp_path) -> None:
    """--html: a window bar on the reader's lane, the other CPU's operations ringed, gens ticked."""
    import json

    from stress.surfaces.cli import main

    _, a = c10_stale_tryget(harness(lookup_skips_recheck=True, delays={"lookup_tryget": 1}))
    run = tmp_path / "run"
    run.mkdir()
    (run / "manifest.json").write_text(json.dumps({"scenario": {"name": "x"},
                                                   "worker_seeds": [1, 2]}))
    (run / "supervisor.jsonl").write_text(json.dumps(a | {"event": Event.ANOMALY}) + "\n")
    assert main(["report", str(run), "--html", str(tmp_path / "r.html")]) == 0
    page = (tmp_path / "r.html").read_text()
    assert '<g class="window" data-reader="0"><rect class="window-bar"' in page
    ringed = page.count('class="op in-window"')
    assert ringed == len(find_window(a)["inside"]) > 0  # type: ignore[index]
    assert 'class="gen-change"' in page
