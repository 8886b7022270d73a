"""What `run` and `merge` print at the end: the verdict and reliability tables, a line
for every run that did not pass, the closing line, and the exit code (docs/design.md)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.console import Console

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130
NARROW, VERY_NARROW = 120, 100  # console widths below which less important columns go


def reproducer(s: dict[str, Any]) -> str | None:
    """How to see a failed run again, deterministically: its replay token, or the explorer."""
    if s.get("mode") == "explore":
        return f"pagerace replay '{s['token']}'" if s.get("token") else None
    if s.get("scenario_file"):
        return f"a deterministic, minimal reproducer: pagerace explore {s['scenario_file']}"
    return None


def console_for(stdout_isatty: bool) -> Console:
    """A terminal's own width; piped output whole, never cut at 80 columns."""
    return Console() if stdout_isatty else Console(width=1000)


def verdict_table(summaries: Sequence[dict[str, Any]], width: int = 1000) -> Any:
    """One row per run.  Narrow consoles lose throughput, timing, then the claim (the
    scenario's name carries it), never a name or a verdict."""
    from rich import box
    from rich.table import Table

    narrow = width < VERY_NARROW
    # Narrow: no vertical rules, so the columns get the characters the rules took.
    table = Table(title="pagerace verdicts", box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD)
    cols = [] if narrow else ["claim"]
    cols += ["scenario", "seed", "verdict", "expected", "seen"]
    if width >= VERY_NARROW:
        cols.append("first detection")
    if width >= NARROW:
        cols += ["ops/s", "audits"]
    longest = max((len(s["scenario"]) for s in summaries), default=8)
    for col in cols:  # fold, never truncate: a cut name cannot be looked up
        table.add_column(col, overflow="fold",
                         min_width=longest if col == "scenario" else min(len(col), 7))
    style = {"pass": "green", "fail": "red", "error": "bold red"}
    for s in summaries:
        v = s["verdict"] + (" (interrupted)" if s.get("interrupted") else "")
        cells = {
            "claim": s.get("claim") or "-", "scenario": s["scenario"], "seed": str(s["seed"]),
            "verdict": f"[{style[s['verdict']]}]{v}[/]", "expected": s["expected"],
            "seen": ", ".join(f"{k} {n}" for k, n in s["anomalies"].items()) or "nothing",
            "first detection": ", ".join(f"{k} {t:.3f}s"
                                         for k, t in s["first_detection_s"].items()) or "-",
            "ops/s": f"{s['ops_per_s']:,}", "audits": str(s["audits"]),
        }
        table.add_row(*(cells[c] for c in cols))
    return table


def reliability_table(summaries: Sequence[dict[str, Any]], width: int = 1000) -> Any:
    """Per scenario over its seeds: how often the verdict held, and how fast detection came."""
    import statistics

    from rich.table import Table

    by: dict[str, list[dict[str, Any]]] = {}
    for s in summaries:
        by.setdefault(s["scenario"], []).append(s)
    table = Table(title="reliability over seeds")
    for col in ("claim", "scenario", "expected", "runs", "as expected", "rate",
                "median first detection", "max first detection"):
        table.add_column(col, overflow="fold")
    for name, runs in by.items():
        ok = sum(r["verdict"] == "pass" for r in runs)
        times = [min(r["first_detection_s"].values()) for r in runs
                 if r["verdict"] == "pass" and r["first_detection_s"]]
        clean = runs[0]["expected"] == "clean"
        table.add_row(runs[0].get("claim") or "-", name, runs[0]["expected"], str(len(runs)),
                      str(ok), f"{ok / len(runs):.0%}",
                      "-" if clean or not times else f"{statistics.median(times):.3f} s",
                      "-" if clean or not times else f"{max(times):.3f} s")
    return table


def print_results(console: Console, summaries: Sequence[dict[str, Any]], *,
                  reliability: bool, output_error: str | None = None) -> None:
    """The tables, a line per run that did not pass, and the plain closing line."""
    import sys

    width = console.width
    if summaries:
        console.print(verdict_table(summaries, width) if not reliability
                      else reliability_table(summaries, width))
    for s in summaries:
        if s["verdict"] != "pass":
            state = "interrupted" if s.get("interrupted") else s["verdict"]
            why = f" ({s['errors'][0]})" if s["errors"] and state != "interrupted" else ""
            console.print(f"{state}: {s['scenario']} seed {s['seed']}{why}: "
                          f"pagerace report {s['run_dir']}", soft_wrap=True, highlight=False,
                          markup=False)
            if state == "fail" and (hint := reproducer(s)):
                console.print(f"  {hint}", soft_wrap=True, highlight=False, markup=False)
    if output_error:
        print(f"pagerace: {output_error}", file=sys.stderr)
    done = [s for s in summaries if not s.get("interrupted")]
    passed = sum(s["verdict"] == "pass" for s in done)
    # For CI logs and whoever greps them; an interrupted run is neither passed nor failed.
    console.print(f"pagerace: {passed} passed, {len(done) - passed} failed", highlight=False)


def exit_code(summaries: Sequence[dict[str, Any]], *, output_error: str | None = None) -> int:
    """0 every verdict as expected, 1 a fail, 3 a harness error, 130 interrupted."""
    if any(s.get("interrupted") for s in summaries):
        return EXIT_INTERRUPTED
    verdicts = {s["verdict"] for s in summaries}
    if "error" in verdicts or output_error:
        return EXIT_ERROR
    return EXIT_FAIL if "fail" in verdicts else EXIT_OK
