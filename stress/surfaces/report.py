"""`pagerace report RUN_DIR`: what happened in a run, and how each anomaly came about.

Reads whatever the run left: the manifest, the summary (absent if the
supervisor itself died), every process's JSON-lines log (a line cut short by a
crash is skipped) and the trace dump.  Each anomaly record carries the merged
history of its page at the moment it was detected; the account turns that
timeline into kernel terms.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stress.model.memcontrol import MEMCG_ID
from stress.runrecord import (
    Event,
    RecordError,
    read_log,
    read_manifest,
    read_summary,
    read_trace,
)
from stress.summary import ExploreSummary, Found, Manifest, ModelFacts, StressSummary, Summary
from stress.surfaces.results import plain
from stress.surfaces.windows import find_window, noise, window_account

TIMELINE = 16  # operations shown per anomaly


class ReportError(RecordError):
    """A run directory that cannot be reported: one line, exit code 2."""


@dataclass
class Run:
    path: Path
    manifest: Manifest | None
    summary: Summary | None
    anomalies: list[dict[str, Any]] = field(default_factory=list)
    suppressed: dict[str, int] = field(default_factory=dict)
    progress: list[dict[str, Any]] = field(default_factory=list)
    crashes: list[dict[str, Any]] = field(default_factory=list)  # "worker crashed" records
    t0_ns: int | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Exact counts from the summary; from the logs when there is none."""
        if self.summary:
            return dict(self.summary.anomalies)
        out: dict[str, int] = {}
        for a in self.anomalies:
            out[a["kind"]] = out.get(a["kind"], 0) + 1
        for k, n in self.suppressed.items():
            out[k] = out.get(k, 0) + n
        return out

    def rel_ms(self, ts_ns: int) -> float:
        return (ts_ns - (self.t0_ns or 0)) / 1e6

    @property
    def explored(self) -> bool:
        """An explorer's run: its trace times are scheduler steps, not nanoseconds."""
        if self.summary is not None:
            return isinstance(self.summary, ExploreSummary)
        return self.manifest is not None and self.manifest.explored  # a run that did not finish

    def when(self, ts: int) -> str:
        return f"step {ts}" if self.explored else f"{self.rel_ms(ts):.3f} ms"


def load_run(path: Path) -> Run:
    if not path.is_dir():
        raise ReportError(f"{path}: no such run directory")
    logs = sorted(path.glob("*.jsonl"))
    manifest = read_manifest(path / "manifest.json")
    if manifest is None and not logs:
        raise ReportError(f"{path}: not a pagerace run directory (no manifest.json, no logs)")
    summary = path / "summary.json"
    run = Run(path, manifest, read_summary(summary) if summary.exists() else None)
    for log in logs:
        for rec in read_log(log):
            event = rec.get("event")
            if event == Event.ANOMALY:
                run.anomalies.append(rec)
            elif event == Event.ANOMALIES_SUPPRESSED:
                run.suppressed[rec["kind"]] = run.suppressed.get(rec["kind"], 0) + rec["suppressed"]
            elif event == Event.PROGRESS:
                run.progress.append(rec)
            elif event == Event.RACE_STARTED:
                run.t0_ns = rec["t0_ns"]
            elif event == Event.WORKER_CRASHED:
                run.crashes.append(rec)
    run.anomalies.sort(key=lambda a: a.get("ts_ns", 0) if isinstance(a.get("ts_ns"), int)
                       else 0)
    run.progress.sort(key=lambda p: p["t"])
    return run


def crashed_workers(run: Run) -> list[int]:
    """Workers that died mid-run, from the summary's health or the logs."""
    health = run.summary.health if run.summary else {}
    dead = {int(w) for w, h in health.items() if h.get("exitcode") not in (0, None)}
    dead |= {int(e["worker"]) for e in run.crashes}
    return sorted(dead)


def last_operations(run: Run, worker: int, last: int = 12) -> list[dict[str, Any]]:
    """The tail of a worker's trace ring as dumped at the end of the run."""
    path = run.path / "traces.npz"
    if not path.exists():
        return []
    from stress.runs.logs import history_rows

    ring = read_trace(path, f"worker_{worker}")
    return history_rows(ring[-last:]) if ring is not None else []


HEALTH = ("worker-crash", "worker-hang", "budget-overrun")  # shown as errors, not pages


def first_per_kind(run: Run, per_kind: int) -> list[dict[str, Any]]:
    seen: dict[str, int] = {}
    out = []
    for a in run.anomalies:
        if a["kind"] in HEALTH:
            continue
        n = seen[a["kind"]] = seen.get(a["kind"], 0) + 1
        if n <= per_kind:
            out.append(a)
    return out


# -- the account ---------------------------------------------------------------------------

TraceRow = dict[str, Any]  # a traced operation, as history_rows gives it

# What each traced operation did, in kernel terms: (who, event) -> phrase.
PHRASES: dict[str, Callable[[str, TraceRow], str]] = {
    "alloc_page": lambda w, e: f"{w} allocated it from the page allocator (gen {e['gen']})",
    "page_pool_alloc": lambda w, e:
        f"{w}'s driver took it from page pool {e['result']} (gen {e['gen']})",
    "get_page": lambda w, e:
        f"{w} took another reference (get_page, {e['before']} to {e['after']})",
    "get_page_unless_zero": lambda w, e:
        f"{w}'s speculative tryget raised it to {e['after']}" if e["result"]
        else f"{w}'s tryget failed on refcount {e['before']}",
    "put_page": lambda w, e:
        f"{w}'s put took it to 0" if e["after"] == 0  # (release_pages or __put_page: the next line)
        else f"{w}'s put left {e['after']}",
    "page_ref_freeze": lambda w, e:
        f"{w} froze it at {e['aux']}" if e["result"]
        else f"{w}'s freeze at {e['aux']} failed ({e['before']})",
    "page_ref_unfreeze": lambda w, e: f"{w} unfroze it to {e['after']}",
    "free_pages_prepare": lambda w, e: "it went back to the page allocator",
    "page_pool_put_page": lambda w, e:
        f"{w}'s driver returned it to pool {e['aux']} at refcount {e['before']}",
    "page_pool_recycle": lambda w, e:
        f"it was recycled into pool {e['aux']}'s {'cache' if e['result'] == 1 else 'ring'}",
    "page_pool_release": lambda w, e: f"pool {e['aux']} released it to the page allocator",
    "set_page_dtor": lambda w, e:
        f"{w} gave it a filesystem destructor" if e["aux"]
        else f"{w} set its destructor (pool {e['after'] - 1})",
    "lru_del": lambda w, e:
        f"{w} took it off the LRU (list_del), lru.next a list pointer" if e["result"]
        else f"{w} took it off the LRU (list_del), lru.next {e['aux']:#x}: not a list pointer",
    "add_to_page_cache": lambda w, e: f"{w} inserted it into the page cache at index {e['aux']}",
    "delete_from_page_cache": lambda w, e: f"{w} truncated it from index {e['aux']}",
    "remove_mapping": lambda w, e:
        f"{w}'s reclaim froze it at {e['before']} and evicted it from index {e['aux']}",
    "vm_insert_page": lambda w, e: f"{w} mapped it into user space (PTE {e['aux']})",
    "zap_page": lambda w, e: f"{w} unmapped it (PTE {e['aux']})",
    "tlb_remove_page": lambda w, e:
        f"{w}'s munmap put its reference in the mmu_gather batch ({e['result']} "
        f"page{'' if e['result'] == 1 else 's'})",
    "release_pages": lambda w, e:
        f"release_pages (a batch of {e['aux']}) took it to 0, never calling __put_page",
    "mem_cgroup_charge": lambda w, e: f"{w} charged it to memcg {e['after'] & MEMCG_ID}",
    "mem_cgroup_uncharge": lambda w, e: f"{w} uncharged it",
    "misroute": lambda w, e:
        f"{w}'s free path sent it {'to a page pool' if e['result'] else 'to the page allocator'}"
        ", the wrong way",
    "bad_page": lambda w, e: "the page allocator reported it as a bad page and leaked it",
    "use": lambda w, e: f"{w} used it expecting gen {e['before']} and found gen {e['after']}",
    "slot_read": lambda w, e:
        f"{w} read {'PTE' if e['result'] else 'page-cache slot'} {e['aux']} -> it (gen {e['gen']})",
    "refcount_check": lambda w, e: f"{w} read its refcount: {e['before']}",
    "swapcache_delete": lambda w, e: f"{w} began removing it from the swap cache"
        + (", putting first" if e["result"] else ""),
    "swapcache_clear": lambda w, e: f"{w} cleared PG_swapcache",
    "mark_page_accessed": lambda w, e:
        f"{w}'s read marked it accessed ({'set' if e['result'] else 'cleared'} PG_referenced, "
        "without the page lock)",
}


def _ms(ts: int) -> str:
    return f"{ts / 1e6:.3f} ms"


def describe(e: TraceRow) -> str:
    """One timeline event in kernel terms."""
    w = f"worker {e['worker']}"
    phrase = PHRASES.get(e["op"])
    return phrase(w, e) if phrase else f"{w}: {e['op']}"


ALLOCS = ("alloc_page", "page_pool_alloc")
PREVIOUS_LIFE = ("refcount-underflow", "get-on-free", "double-free")



LEADS = {
    "misrouted-free": "The free path sent page {page} the wrong way",
    "use-after-free": "Worker {worker} used page {page} after it had been freed and reused",
    "double-free": "The free path ran twice for page {page}",
    "bad-page": "The page allocator found page {page} in a bad state",
    "stale-tryget": "Worker {worker} used page {page} as the page it looked up, but it was "
                    "not that page any more",
    "pool-refcnt-violation": "Page {page} sat in a page pool with an extra reference",
    "pool-alloc-refcount": "Page {page} was handed out by its pool with an extra reference",
    "lost-update": "Page {page}'s refcount disagreed with its holders",
    "refcount-underflow": "Page {page}'s refcount went below zero",
    "get-on-free": "Worker {worker} took a reference on free page {page}",
    "memcg-escape": "Page {page} escaped its cgroup while still in use",
    "lru-corrupt": "Page {page} left the LRU with its list linkage overwritten",
    "dtor-lost": "Page {page}'s destructor was gone when its final put looked for it",
}


def account(a: dict[str, Any], run: Run | None = None) -> str:
    """A short plain-language account: what was detected, then how it came about.

    For an anomaly from a check-then-act, the how is its window: the read, the act,
    and what other workers did in between (`stress.surfaces.windows`).
    """
    lead = LEADS.get(a["kind"], "{kind} on page {page}").format(
        page=a["page"], worker=a["worker"], kind=a["kind"])
    reason = f" ({a['reason']})" if a.get("reason") else ""
    history = a.get("history") or []
    # Tell the story of the page's current life, from its last allocation on; for a use
    # after free, of the life the holder thought it was in.
    held = (a.get("detail") or {}).get("held_gen")
    allocs = [i for i, e in enumerate(history)
              if e["op"] in ALLOCS and (held is None or e["gen"] <= held)]
    # A put or get that finds the count at zero usually belongs to a reference taken in
    # the page's previous life: start one allocation earlier.
    back = 2 if a["kind"] in PREVIOUS_LIFE and len(allocs) >= 2 else 1
    start = allocs[-back] if allocs else 0
    steps = [describe(e) for e in history[start:][-16:] if not noise(e)]
    story = f" How: {'; '.join(steps)}." if steps else ""
    w = find_window(a, run.explored if run else False)
    if w is not None:
        story = " " + window_account(a, w, run.when if run else _ms, describe)
    by = f" Seen by worker {a['worker']} in {a['op']}." if a["worker"] >= 0 else \
        f" Seen by the supervisor in {a['op']}."
    return f"{lead}{reason}.{by}{story}{voice_line(a)}"


def voice_line(a: Mapping[str, Any]) -> str:
    """Who would notice in the real kernel: its own words, or what it does instead."""
    if a.get("origin") == "kernel":
        return f" The kernel says so itself: {a.get('says', '')}."
    if a.get("origin") == "harness":
        return f" Only the harness sees this ({a.get('says', '')})."
    return ""  # a record written before origins existed


# -- text ----------------------------------------------------------------------------------

def render_text(run: Run, per_kind: int) -> str:
    from rich.console import Console

    console = Console(record=True, width=140)
    with console.capture() as cap:
        _header(console, run)
        for w in crashed_workers(run):
            ops = last_operations(run, w)
            console.rule(f"worker {w} died: its last operations")
            if ops:
                console.print(_timeline_table(run, ops))
            else:
                console.print("(no trace dump)")
        for a in first_per_kind(run, per_kind):
            console.rule(f"{a['kind']}: page {a['page']}")
            console.print(account(a, run), soft_wrap=False)
            history = (a.get("history") or [])[-TIMELINE:]
            if not history:
                console.print("(no trace history for this page)")
                continue
            console.print(_timeline_table(run, history))
    return cap.get()


def _timeline_table(run: Run, events: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    t = Table(show_edge=False, pad_edge=False)
    for col in ("step" if run.explored else "t (ms)", "worker", "operation", "page",
                "refcount", "gen", "what"):
        t.add_column(col)
    for e in events:
        t.add_row(str(e["ts"]) if run.explored else f"{run.rel_ms(e['ts']):.3f}",
                  str(e["worker"]), e["op"], str(e["page"]),
                  f"{e['before']} -> {e['after']}", str(e["gen"]), describe(e))
    return t


def _header(console: Any, run: Run) -> None:
    m, s = run.manifest or Manifest(), run.summary
    model = m.model
    console.print(f"[bold]pagerace report[/] {plain(run.path)}")
    console.print(f"scenario {plain(m.name or '?')} "
                  f"({plain(m.claim or 'no claim')}), "
                  f"seed {plain('?' if m.seed is None else m.seed)}, verdict "
                  f"[bold]{s.verdict if s else 'unknown (no summary)'}[/], expected "
                  f"{plain(s.expected if s else '?')}")
    delays = model.delays
    if run.explored:
        _explore_header(console, run, model)
        return
    if isinstance(s, ExploreSummary):
        return  # (explored: above)
    console.print(f"model: scheme {plain(model.scheme or '?')}, "
                  f"{plain(kernel_words(model))}, "
                  f"memcg {plain(model.memcg or '?')}, "
                  f"backend {plain(m.backend or '?')}, "
                  f"start method {plain(m.start_method or '?')}, "
                  f"workers {len(m.worker_seeds)}, delays "
                  f"{', '.join(f'{k} {v} us' for k, v in delays.items()) or 'none'}")
    if s:
        console.print(f"ran {s.duration_s} s: {s.ops:,} ops ({s.ops_per_s:,}/s), "
                      f"{s.audits} audits")
        for pool in s.pools:
            if pool.recycle_ratio is not None:
                console.print(f"pool {pool.pool}: recycle ratio {pool.recycle_ratio:.2%} "
                              f"({pool.recycled_cache:,} cache, {pool.recycled_ring:,} "
                              f"ring, {pool.released:,} released, "
                              f"{pool.released_ring_full:,} of them on a full ring, "
                              f"{pool.released_shared:,} lost to another holder: "
                              "page_pool_put_page saw a count other than 1)")
            if pool.inflight_at_destroy:
                console.print(f"pool {pool.pool}: shutdown stalled, "
                              f"{pool.inflight_at_destroy:,} pages still in flight at destroy")
    counts = run.counts
    first = s.first_detection_s if s else {}
    console.print("anomalies: " + plain(", ".join(
        f"{k} {n:,}" + (f" (first at {first[k]:.3f} s)" if k in first else "")
        for k, n in counts.items()) or "none"))
    for err in s.errors if s else []:
        console.print(f"[red]error[/]: {plain(err)}")
    for line in explorer_lines(s) if s else []:
        console.print(line, soft_wrap=True, markup=False, highlight=False)
    for e in run.crashes:
        console.print(f"[red]worker {e.get('worker')} crashed[/]: {plain(_exception_line(e))}")
    if not s:
        console.print("[yellow]no summary.json: the supervisor did not finish; "
                      "this report is built from the logs[/]")


def kernel_words(model: ModelFacts) -> str:
    """The kernel profile a run followed, as its manifest records it."""
    if model.kernel is None:
        return "kernel not recorded"  # a run from before the profiles
    checks = "page checks on" if model.page_checks else "page checks off"
    return f"kernel {model.kernel} ({checks})"


def _explore_header(console: Any, run: Run, model: ModelFacts) -> None:
    s = run.summary
    console.print(f"model: scheme {model.scheme or '?'}, {kernel_words(model)}, "
                  f"memcg {model.memcg or '?'}, "
                  f"backend {(run.manifest or Manifest()).backend or '?'}; explored with no "
                  "delays (the scheduler makes the windows)")
    if isinstance(s, ExploreSummary):
        b = s.bounds
        console.print(f"explored {s.schedules:,} schedules ({s.strategy}"
                      + (f", preemption bound {b.preemptions}" if b.preemptions
                         is not None else "")
                      + (f", depth {b.depth}" if b.depth is not None else "")
                      + f"), {s.steps:,} steps in {s.seconds} s; "
                      + ("the bounded space was exhausted" if s.exhausted else
                         f"not exhausted ({s.abandoned:,} schedules abandoned at "
                         "the step bound)" if s.searched else "not exhausted")
                      + f"; {b.actors} actors, "
                      f"{b.ops} operations each after {b.warmup} "
                      f"of warm-up, {b.pages} pages")
        f = s.finding
        if f:
            console.print(f"found {plain(f.kind)} on page {f.page} at step {f.step} "
                          f"({f.phase}), shrunk from {f.steps_before} to "
                          f"{f.steps_after} steps, {f.switches_before} to "
                          f"{f.switches_after} switches, operations {f.ops_before} to "
                          f"{f.ops_after}")
            if f.label:
                console.print(f"{f.label}: {minimal_line(f)}")
            console.print(f"replay: pagerace replay '{s.token}'", soft_wrap=True, markup=False)
        else:
            console.print("found nothing")


def explorer_lines(s: Summary) -> list[str]:
    """What `pagerace run`'s explorer phase added to a stress run: its reproducer hunt and
    its exploration of the scenario."""
    if not isinstance(s, StressSummary):
        return []
    lines = []
    if r := s.reproducer:
        if r.focus:
            ops = "; ".join(f"{role} {', '.join(map(str, o))}" for role, o in r.focus.items())
            lines.append(f"reproducer: the anomaly's window points at {ops}"
                         + ("; that found nothing, so the whole scenario was searched"
                            if r.whole else ""))
        if r.found == r.kind:
            lines.append(f"reproducer: the explorer ({r.strategy}) found {r.kind} in "
                         f"{r.schedules:,} schedules, shrunk to {r.steps} steps"
                         + (f", {r.label} ({r.preemptions_min} preemptions)"
                            if r.label else "")
                         + f"; replay: pagerace replay '{r.token}'")
        else:
            lines.append(f"reproducer: the explorer ({r.strategy}) did not find {r.kind} "
                         f"in {r.schedules:,} schedules ({r.seconds} s); "
                         f"its run: {r.run_dir}")
    if x := s.explored:
        lines.append(f"explored: {x.strategy}, {x.schedules:,} schedules in "
                     f"{x.seconds} s, "
                     + (f"found {x.found}: pagerace replay '{x.token}'" if x.found
                        else "the bounded space exhausted, nothing found" if x.exhausted
                        else "nothing found (not exhausted)")
                     + f"; its run: {x.run_dir}")
    return lines


def minimal_line(f: Found) -> str:
    """What the fewest preemptions of a finding say about it."""
    n = f.preemptions_min
    if n == 0:
        return "the program fails in its default order, with no preemption at all"
    return (f"it needs {'exactly' if f.preemptions_min_proven else 'at most'} {n} "
            f"preemption{'s' if n != 1 else ''} (a search at every lower bound "
            + ("found nothing)" if f.preemptions_min_proven else "was cut short)"))


def _exception_line(e: dict[str, Any]) -> str:
    exc = e.get("exception")
    if isinstance(exc, list) and exc:
        last = exc[-1]
        return f"{last.get('exc_type')}: {last.get('exc_value')}"
    return str(exc or "")


def to_json(run: Run, per_kind: int) -> dict[str, Any]:
    return {
        "run_dir": str(run.path), "manifest": run.manifest.to_dict() if run.manifest else None,
        "summary": run.summary.to_dict() if run.summary else None,
        "counts": run.counts, "suppressed": run.suppressed,
        "anomalies": [a | {"account": account(a, run), "window": find_window(a, run.explored)}
                      for a in first_per_kind(run, per_kind)],
        "progress": run.progress,
    }
