"""What `run` and `merge` print at the end: the verdict and reliability tables, a line
for every run that did not pass, the closing line, and the exit code (docs/design.md)."""

from __future__ import annotations

import errno
from collections.abc import Sequence
from typing import Any

from rich.console import Console

from stress.summary import (
    Explored,
    ExploreSummary,
    Reproducer,
    StressSummary,
    Summary,
    Window,
)

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR, EXIT_INCONCLUSIVE, EXIT_INTERRUPTED = \
    0, 1, 2, 3, 4, 130


def reproducer(s: Summary) -> str | None:
    """How to see a failed run again, deterministically: its replay token, or the explorer."""
    if isinstance(s, ExploreSummary):
        return f"pagerace replay '{s.token}'" if s.token else None
    for r in (s.reproducer, s.explored):  # the explorer's, when it found the same failure
        if r is not None and r.token and (not isinstance(r, Reproducer) or r.found == r.kind):
            return (f"{r.found} found by the explorer ({r.strategy}, "
                    f"{r.schedules:,} schedules, "
                    f"{_fewest(r)}; {r.steps} steps shrunk): pagerace replay '{r.token}'")
    if s.scenario_file:
        return f"a deterministic, minimal reproducer: pagerace explore {s.scenario_file}"
    return None


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich exits 1 here, which says "a verdict failed": let the command say what it is."""
        raise BrokenPipeError(errno.EPIPE, "the output's reader went away")


def console_for(stdout_isatty: bool) -> Console:
    """A terminal's own width; piped output whole, never cut at 80 columns."""
    return _Console() if stdout_isatty else _Console(width=1000)


def plain(value: object) -> str:
    """Text from a run's files, for a string rich reads as markup: printed as it is."""
    from rich.markup import escape

    return escape(str(value))


def _fewest(r: Explored | Reproducer) -> str:
    n = r.preemptions_min
    if n is None or n < 0:
        return "preemptions not minimised"
    return f"{n} preemption{'' if n == 1 else 's'}" + (f", {r.label}" if r.label else "")


def explored_text(x: Explored | None) -> str:
    """The explorer's line for a scenario: what it found, or what it covered."""
    if x is None:
        return "-"
    if x.found:
        return f"found {x.found}\n{x.schedules:,} schedules, {_fewest(x)}"
    if x.errors:
        return f"{x.verdict}: {x.errors[0]}"
    return (f"nothing in {x.schedules:,}\n"
            + ("exhausted" if x.exhausted else f"{x.strategy}, {x.seconds:.1f} s"))


# The verdict table's columns, and the order in which a narrow console loses them.
COLUMNS = ("claim", "scenario", "seed", "verdict", "expected", "seen", "first detection",
           "windows contested", "explorer", "ops/s", "audits")
DROPPED_FIRST = ("audits", "ops/s", "explorer", "windows contested", "first detection",
                 "claim")
_STYLE = {"pass": "green", "fail": "red", "error": "bold red", "inconclusive": "yellow"}


def windows_text(windows: dict[str, Window] | None) -> str:
    """Each kind of race window: contested of seen (the rings' sample), or none."""
    if not windows:
        return "-"
    return "\n".join(f"{k} {w.contested:,}/{w.windows:,}" for k, w in windows.items())


def _cells(s: Summary) -> dict[str, str]:
    """A run's row as plain text (a line per kind: a kind is a name, never folded)."""
    stress = s if isinstance(s, StressSummary) else None
    return {
        "claim": s.claim or "-", "scenario": s.scenario, "seed": str(s.seed),
        "verdict": s.verdict + (" (interrupted)" if s.interrupted else ""),
        "expected": s.expected,
        "seen": "\n".join(f"{k} {n}" for k, n in s.anomalies.items()) or "nothing",
        "first detection": "\n".join(f"{k} {t:.3f}s"
                                     for k, t in s.first_detection_s.items()) or "-",
        "windows contested": windows_text(stress.windows if stress else None),
        "explorer": explored_text(stress.explored if stress else None),
        "ops/s": f"{s.ops_per_s:,}", "audits": str(s.audits),
    }


def _width(col: str, rows: list[dict[str, str]]) -> int:
    """The narrowest the column can be without cutting a name: its longest line (for
    `expected`, which wraps between kinds, its longest word)."""
    split = str.split if col == "expected" else str.splitlines
    return max([min(len(col), 7)] + [len(w) for r in rows for w in split(r[col])])


def verdict_table(summaries: Sequence[Summary], width: int = 1000) -> Any:
    """One row per run.  Narrow consoles lose the audits, the throughput, the timing, then
    the claim (the scenario's name carries it); where even the rest would cut a name or a
    kind, each run is a short block of lines instead.  Never a cut name or verdict."""
    from rich import box
    from rich.table import Table

    rows = [_cells(s) for s in summaries]
    cols = list(COLUMNS)

    def need(cs: list[str]) -> int:  # the content, a space each side, a rule between
        return sum(_width(c, rows) for c in cs) + 3 * len(cs) + 1

    for col in DROPPED_FIRST:
        if need(cols) <= width:
            break
        cols.remove(col)
    if need(cols) > width:
        return _verdict_blocks(rows)
    table = Table(title="pagerace verdicts", box=box.HEAVY_HEAD)
    for col in cols:
        table.add_column(col, overflow="fold", min_width=_width(col, rows))
    for r in rows:
        table.add_row(*(f"[{_STYLE[r['verdict'].split()[0]]}]{plain(r[c])}[/]"
                        if c == "verdict" else plain(r[c]) for c in cols))
    return table


def _verdict_blocks(rows: list[dict[str, str]]) -> Any:
    from rich.console import Group
    from rich.text import Text

    lines: list[Text] = [Text("pagerace verdicts", style="italic")]
    for r in rows:
        head = Text(f"{r['scenario']} seed {r['seed']}: ")
        head.append(r["verdict"], style=_STYLE[r["verdict"].split()[0]])
        head.append(f" (expected {r['expected']})")
        lines += [head, Text("  seen: " + r["seen"].replace("\n", ", "))]
    return Group(*lines)


def reliability_table(summaries: Sequence[Summary], width: int = 1000) -> Any:
    """Per scenario over its seeds: how often the verdict held, and how fast detection came."""
    import statistics

    from rich.table import Table

    by: dict[str, list[Summary]] = {}
    for s in summaries:
        by.setdefault(s.scenario, []).append(s)
    table = Table(title="reliability over seeds")
    for col in ("claim", "scenario", "expected", "runs", "as expected", "rate",
                "median first detection", "max first detection"):
        table.add_column(col, overflow="fold")
    for name, runs in by.items():
        ok = sum(r.verdict == "pass" for r in runs)
        times = [min(r.first_detection_s.values()) for r in runs
                 if r.verdict == "pass" and r.first_detection_s]
        clean = runs[0].expected == "clean"
        table.add_row(plain(runs[0].claim or "-"), plain(name),
                      plain(runs[0].expected), str(len(runs)),
                      str(ok), f"{ok / len(runs):.0%}",
                      "-" if clean or not times else f"{statistics.median(times):.3f} s",
                      "-" if clean or not times else f"{max(times):.3f} s")
    return table


def print_results(console: Console, summaries: Sequence[Summary], *,
                  reliability: bool, output_error: str | None = None) -> None:
    """The tables, a line per run that did not pass, and the plain closing line."""
    import sys

    width = console.width
    if summaries:
        console.print(verdict_table(summaries, width) if not reliability
                      else reliability_table(summaries, width))
    for s in summaries:
        if s.verdict != "pass":
            state = "interrupted" if s.interrupted else s.verdict
            why = f" ({s.errors[0]})" if s.errors and state != "interrupted" else ""
            console.print(f"{state}: {s.scenario} seed {s.seed}{why}: "
                          f"pagerace report {s.run_dir}", soft_wrap=True, highlight=False,
                          markup=False)
            if state == "fail" and (hint := reproducer(s)):
                console.print(f"  {hint}", soft_wrap=True, highlight=False, markup=False)
    if output_error:
        print(f"pagerace: {output_error}", file=sys.stderr)
    done = [s for s in summaries if not s.interrupted]
    passed = sum(s.verdict == "pass" for s in done)
    unsure = sum(s.verdict == "inconclusive" for s in done)
    # For CI logs and whoever greps them; an interrupted run is neither passed nor failed.
    console.print(f"pagerace: {passed} passed, {len(done) - passed - unsure} failed"
                  + (f", {unsure} inconclusive" if unsure else ""), highlight=False)


def exit_code(summaries: Sequence[Summary], *, output_error: str | None = None) -> int:
    """0 every verdict as expected, 1 a fail, 3 a harness error, 4 a clean run whose race
    windows were never contested (and nothing worse), 130 interrupted."""
    if any(s.interrupted for s in summaries):
        return EXIT_INTERRUPTED
    verdicts = {s.verdict for s in summaries}
    if "error" in verdicts or output_error:
        return EXIT_ERROR
    if "fail" in verdicts:
        return EXIT_FAIL
    return EXIT_INCONCLUSIVE if "inconclusive" in verdicts else EXIT_OK
