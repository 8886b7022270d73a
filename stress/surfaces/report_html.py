"""`pagerace report --html FILE`: one self-contained page (no network, no external scripts).

A lane per worker with the operations on each anomalous page, coloured by
what they did, the anomaly marked, and the account beside it; then the run's
throughput and anomalies over time.  Drawn as inline SVG from Python, so the
page shows everything even with scripts off; the small inline script only adds
highlighting.
"""

from __future__ import annotations

from html import escape
from typing import Any

from stress.summary import Manifest
from stress.surfaces.report import Run, account, describe, first_per_kind
from stress.surfaces.windows import find_window

KIND_COLOURS = {
    "misrouted-free": "#d62728", "use-after-free": "#9467bd", "double-free": "#8c564b",
    "bad-page": "#e377c2", "stale-tryget": "#ff7f0e", "pool-refcnt-violation": "#bcbd22",
    "pool-alloc-refcount": "#bcbd22",
    "lost-update": "#17becf", "refcount-underflow": "#1f77b4", "memcg-escape": "#2ca02c",
    "memcg-mismatch": "#98df8a", "get-on-free": "#c49c94", "freeze-violation": "#f7b6d2",
    "page-leak": "#7f7f7f", "conservation": "#393b79", "pool-inflight-negative": "#637939",
    "lru-corrupt": "#843c39", "dtor-lost": "#9467bd",
}
OP_COLOURS = {  # by what an operation does to the page's life
    "alloc_page": "#2ca02c", "page_pool_alloc": "#2ca02c",
    "get_page": "#1f77b4", "get_page_unless_zero": "#17becf",
    "put_page": "#ff7f0e", "free_pages_prepare": "#7f7f7f", "page_pool_release": "#7f7f7f",
    "page_pool_put_page": "#bcbd22", "page_pool_recycle": "#bcbd22",
    "set_page_dtor": "#9467bd", "misroute": "#d62728", "bad_page": "#d62728", "use": "#d62728",
    # The reads that open a window, and the swap cache's two steps.
    "slot_read": "#8c564b", "refcount_check": "#8c564b", "swapcache_delete": "#e377c2",
    "swapcache_clear": "#e377c2", "lru_del": "#843c39",
}
LANE_H, LEFT, WIDTH = 28, 110, 900

CSS = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #222; max-width: 1100px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 17px; margin: 28px 0 8px; }
.verdict { padding: 1px 8px; border-radius: 4px; color: #fff; font-weight: 600; }
.verdict.pass { background: #2ca02c; } .verdict.fail { background: #d62728; }
.verdict.error, .verdict.unknown { background: #7f1d1d; }
.verdict.inconclusive { background: #b8860b; }
table.facts td { padding: 1px 12px 1px 0; vertical-align: top; }
.anomaly { border: 1px solid #ddd; border-left: 6px solid var(--kind); border-radius: 4px;
           padding: 8px 12px; margin: 12px 0; }
.anomaly.selected { box-shadow: 0 0 0 3px #ffd54f; }
.anomaly h3 { margin: 0 0 4px; font-size: 15px; }
.account { margin: 4px 0 8px; }
.lane-label { font-size: 12px; fill: #555; } .axis { font-size: 11px; fill: #777; }
.window-bar { fill: #ffdd57; fill-opacity: 0.45; stroke: #c9a100; }
.window-label { font-size: 10px; fill: #8a6d00; }
circle.in-window { stroke: #000; stroke-width: 2; }
.gen-change { font-size: 9px; fill: #b03060; } .gen-tick { stroke: #b03060; stroke-width: 2; }
.lane-line { stroke: #e5e5e5; } .legend span { margin-right: 12px; white-space: nowrap; }
.swatch { display: inline-block; width: 10px; height: 10px; border-radius: 5px;
          margin-right: 4px; vertical-align: middle; }
ul.kinds li { cursor: pointer; }
"""

SCRIPT = """
document.querySelectorAll('ul.kinds li').forEach(function (li) {
  li.addEventListener('click', function () {
    document.querySelectorAll('.anomaly').forEach(function (a) {
      a.classList.toggle('selected', a.dataset.kind === li.dataset.kind);
    });
    var first = document.querySelector('.anomaly[data-kind="' + li.dataset.kind + '"]');
    if (first) first.scrollIntoView({behavior: 'smooth', block: 'center'});
  });
});
document.body.dataset.ready = '1';
"""


def _timeline_svg(run: Run, a: dict[str, Any], nworkers: int) -> str:
    history = a.get("history") or []
    w = find_window(a, run.explored)
    if w:  # zoom on the window: from the reference it hinges on (if any) or its read
        first = min([w["start"]] + [e["ts"] for e in w["before"]])
        last = a.get("ts_ns") or history[-1]["ts"]  # up to the detection
        history = [e for e in history if first <= e["ts"] <= last]
    lanes = list(range(nworkers)) + (["supervisor"] if a["worker"] < 0 else [])
    height = LANE_H * len(lanes) + 30
    times = [e["ts"] for e in history] + ([a["ts_ns"]] if a.get("ts_ns") else [])
    t0, t1 = (min(times), max(times)) if times else (0, 1)
    span = max(t1 - t0, 1)

    def x(ts: int) -> float:
        return LEFT + (ts - t0) / span * (WIDTH - LEFT - 20)

    def y(lane: int | str) -> float:
        return 10 + LANE_H * lanes.index(lane) + LANE_H / 2

    parts = [f'<svg class="timeline" width="{WIDTH}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">']
    for lane in lanes:
        label = f"worker {lane}" if lane != "supervisor" else "supervisor"
        parts.append(f'<g class="lane" data-worker="{lane}">'
                     f'<line class="lane-line" x1="{LEFT}" x2="{WIDTH - 10}" y1="{y(lane)}" '
                     f'y2="{y(lane)}"/><text class="lane-label" x="4" y="{y(lane) + 4}">'
                     f'{label}</text></g>')
    # What happened in the window (and, for a page left in a pool, after it) is ringed.
    inside = {id(e) for e in w["inside"] + w["after"]} if w else set()
    if w and w["reader"] in lanes:
        # The window: a bar on the reader's lane from its read to its act.
        x0, x1, yr = x(w["start"]), x(w["end"]), y(w["reader"])
        title = escape(f"window: {w['length']} {w['unit']}")
        parts.append(f'<g class="window" data-reader="{w["reader"]}"><rect class="window-bar" '
                     f'x="{x0:.1f}" y="{yr - 9:.1f}" width="{max(x1 - x0, 2):.1f}" height="18" '
                     f'rx="4"><title>{title}</title>'
                     f'</rect><text class="window-label" x="{x0:.1f}" y="{yr - 12:.1f}">read'
                     f'</text><text class="window-label" x="{max(x1 - 18, x0 + 24):.1f}" '
                     f'y="{yr - 12:.1f}">act</text></g>')
    prev_gen, labelled = None, {lane: -1e9 for lane in lanes}
    for e in history:
        if e["worker"] not in lanes:
            continue
        if prev_gen is not None and e["gen"] != prev_gen:
            ex = x(e["ts"])
            tick = f'<line class="gen-tick" x1="{ex:.1f}" x2="{ex:.1f}" ' \
                   f'y1="{y(e["worker"]) + 6:.1f}" y2="{y(e["worker"]) + 10:.1f}"/>'
            label = ""
            if ex - labelled[e["worker"]] > 40:  # dense changes: a tick each, a label now and then
                labelled[e["worker"]] = ex
                label = f'<text class="gen-change" x="{ex - 12:.1f}" ' \
                        f'y="{y(e["worker"]) + 18:.1f}">gen {e["gen"]}</text>'
            parts.append(f'<g class="gen"><title>gen {prev_gen} -> {e["gen"]}</title>'
                         f'{tick}{label}</g>')
        prev_gen = e["gen"]
        colour = OP_COLOURS.get(e["op"], "#444")
        tip = f"{run.when(e['ts'])}  worker {e['worker']}  {e['op']}  " \
              f"refcount {e['before']}->{e['after']}  gen {e['gen']}\n{describe(e)}"
        cls, r = ("op in-window", 7) if id(e) in inside else ("op", 5)
        parts.append(f'<circle class="{cls}" r="{r}" data-op="{e["op"]}" '
                     f'cx="{x(e["ts"]):.1f}" cy="{y(e["worker"]):.1f}" fill="{colour}">'
                     f'<title>{escape(tip)}</title></circle>')
    if a.get("ts_ns"):
        lane = a["worker"] if a["worker"] >= 0 else "supervisor"
        ax, ay = x(a["ts_ns"]), y(lane)
        parts.append(f'<path class="anomaly-marker" d="M{ax:.1f},{ay - 11:.1f} l7,-10 h-14 z" '
                     f'fill="{KIND_COLOURS.get(a["kind"], "#d62728")}">'
                     f'<title>{escape(a["kind"])} detected here</title></path>')
    parts.append(f'<text class="axis" x="{LEFT}" y="{height - 4}">'
                 f'{run.when(t0)}</text><text class="axis" x="{WIDTH - 90}" '
                 f'y="{height - 4}">{run.when(t1)}</text></svg>')
    return "".join(parts)


def _over_time_svg(run: Run) -> str:
    width, height, left, bottom = WIDTH, 220, 70, 30
    samples = run.progress
    t_end = float(max([p["t"] for p in samples] + [1e-3]))
    for a in run.anomalies:
        if a.get("ts_ns") and run.t0_ns:
            t_end = max(t_end, run.rel_ms(a["ts_ns"]) / 1000)
    rates = [(float(p1["t"] + p0["t"]) / 2,
              float(p1["ops"] - p0["ops"]) / max(p1["t"] - p0["t"], 1e-9))
             for p0, p1 in zip(samples, samples[1:], strict=False)]
    top: float = max([r for _, r in rates] + [1.0])

    def x(t: float) -> float:
        return left + t / t_end * (width - left - 20)

    def y(r: float) -> float:
        return 10 + (1 - r / top) * (height - bottom - 10)

    pts = " ".join(f"{x(t):.1f},{y(r):.1f}" for t, r in rates)
    parts = [f'<svg id="throughput" width="{width}" height="{height}" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<line class="lane-line" x1="{left}" x2="{width - 10}" y1="{y(0)}" y2="{y(0)}"/>',
             f'<text class="axis" x="4" y="{y(top) + 4}">{top:,.0f}/s</text>',
             f'<text class="axis" x="4" y="{y(0)}">0</text>',
             f'<polyline class="ops-rate" points="{pts}" fill="none" stroke="#1f77b4" '
             f'stroke-width="2"/>']
    # Cumulative anomalies per kind (exact counts from the progress samples), each on
    # the height of the chart: the shape says when they came.
    kinds = sorted({k for p in samples for k in p.get("anomalies", {})})
    for kind in kinds:
        total = max(p.get("anomalies", {}).get(kind, 0) for p in samples) or 1
        steps = " ".join(
            f"{x(p['t']):.1f},{y(top * p.get('anomalies', {}).get(kind, 0) / total):.1f}"
            for p in samples)
        parts.append(f'<polyline class="anomaly-count" data-kind="{escape(kind)}" '
                     f'points="{steps}" fill="none" stroke="{KIND_COLOURS.get(kind, "#d62728")}" '
                     f'stroke-dasharray="4 3" stroke-width="1.5"><title>{escape(kind)}: '
                     f'{total:,} by the end</title></polyline>')
    if run.t0_ns:
        for a in run.anomalies:
            if a.get("ts_ns"):
                t = run.rel_ms(a["ts_ns"]) / 1000
                parts.append(f'<line class="anomaly-tick" data-kind="{a["kind"]}" '
                             f'x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{y(0)}" y2="{y(0) + 12}" '
                             f'stroke="{KIND_COLOURS.get(a["kind"], "#d62728")}" '
                             f'stroke-width="2"><title>{escape(a["kind"])} at {t:.3f} s, '
                             f'page {a["page"]}</title></line>')
    parts.append(f'<text class="axis" x="{left}" y="{height - 4}">0 s</text>'
                 f'<text class="axis" x="{width - 60}" y="{height - 4}">{t_end:.2f} s</text>'
                 '</svg>')
    return "".join(parts)


def render_html(run: Run, per_kind: int) -> str:
    m, s = run.manifest or Manifest(), run.summary
    model = m.model
    nworkers = m.nworkers or 1 + max([a["worker"] for a in run.anomalies] + [0])
    verdict = s.verdict if s else "unknown"
    counts = run.counts
    delays = ", ".join(f"{k} {v} us" for k, v in model.delays.items()) or "none"
    facts = [
        ("scenario", f"{m.name or '?'} ({m.claim or 'no claim'})"),
        ("expected", s.expected if s else "?"),
        ("seed", "?" if m.seed is None else m.seed),
        ("model", f"scheme {model.scheme or '?'}, memcg {model.memcg or '?'}, "
                  f"backend {m.backend or '?'}, delays {delays}"),
        ("run", f"{nworkers} workers, {s.duration_s} s, {s.ops:,} ops, "
                f"{s.audits} audits" if s else "no summary: built from the logs"),
    ] + [("error", e) for e in (s.errors if s else [])]
    body = [f'<h1>pagerace report <span class="verdict {escape(verdict)}">'
            f'{escape(verdict)}</span></h1><p>{escape(str(run.path))}</p>',
            '<table class="facts">' + "".join(
                f"<tr><td>{escape(k)}</td><td>{escape(str(v))}</td></tr>" for k, v in facts)
            + "</table>",
            '<h2>Anomalies</h2><ul class="kinds">' + "".join(
                f'<li data-kind="{escape(k)}"><span class="swatch" style="background:'
                f'{KIND_COLOURS.get(k, "#444")}"></span>{escape(k)}: {n:,}</li>'
                for k, n in counts.items()) + ("<li>none</li>" if not counts else "") + "</ul>",
            '<p class="legend">' + "".join(
                f'<span><span class="swatch" style="background:{c}"></span>{escape(op)}</span>'
                for op, c in OP_COLOURS.items()) + "</p>",
            '<section id="anomalies">']
    for a in first_per_kind(run, per_kind):
        colour = KIND_COLOURS.get(a["kind"], "#d62728")
        body.append(f'<article class="anomaly" data-kind="{escape(a["kind"])}" '
                    f'data-page="{a["page"]}" style="--kind:{colour}"><h3>{escape(a["kind"])}: '
                    f'page {a["page"]}</h3><p class="account">{escape(account(a, run))}</p>'
                    f'{_timeline_svg(run, a, nworkers)}</article>')
    body.append('</section><section id="over-time"><h2>Throughput and anomalies over time'
                '</h2><p>Solid: operations per second.  Dashed: each kind\'s cumulative count, '
                'scaled to the chart.  Ticks: the logged detections.</p>'
                f'{_over_time_svg(run)}</section>')
    title = escape(f"pagerace: {m.name or run.path.name} seed "
                   f"{'?' if m.seed is None else m.seed}")
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f"<style>{CSS}</style></head><body>{''.join(body)}<script>{SCRIPT}</script>"
            "</body></html>")
