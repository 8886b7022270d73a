"""`pagerace merge`: the summaries of many `--out` folders read as one run's."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from stress.runrecord import read_summary
from stress.summary import ExploreSummary, Summary
from stress.surfaces.report import ReportError


def find_summaries(dirs: Sequence[Path]) -> list[Summary]:
    """Every run's summary under the folders named (run directories or their parents).

    A folder named twice, or a run found through two names, counts once.
    """
    found: dict[Path, Summary] = {}
    for d in dirs:
        if not d.is_dir():
            raise ReportError(f"{d}: no such directory")
        files = [d / "summary.json"] if (d / "summary.json").is_file() \
            else sorted(d.glob("*/summary.json"))
        if not files:
            raise ReportError(f"{d}: no run directories in it (no */summary.json)")
        for f in files:
            found[f.parent.resolve()] = read_summary(f)
    return sorted(join_splits(list(found.values())),
                  key=lambda s: (s.scenario, s.seed, s.run_dir))


def join_splits(summaries: list[Summary]) -> list[Summary]:
    """The parts of one exploration split over machines (`explore --split K/N`), as one.

    Its counts are the parts' sums; `exhausted` holds only when every part is there and
    exhausted, and a clean verdict needs every part.
    """
    out: list[Summary] = []
    groups: dict[tuple[Any, ...], list[ExploreSummary]] = {}
    for s in summaries:
        if isinstance(s, ExploreSummary) and (s.split[1] or 1) > 1:
            groups.setdefault((s.scenario, s.seed, s.strategy, s.split[1]), []).append(s)
        else:
            out.append(s)
    return out + [_joined(parts, key[3]) for key, parts in groups.items()]


def _joined(parts: list[ExploreSummary], n: int) -> ExploreSummary:
    parts = sorted(parts, key=lambda p: p.split[0] or 0)
    missing = sorted(set(range(1, n + 1)) - {p.split[0] for p in parts})
    found = [p for p in parts if p.finding]
    seconds = max(p.seconds for p in parts)
    errors = [e for p in parts for e in p.errors]
    verdicts = {p.verdict for p in parts}
    if str(parts[0].expected).startswith("detect"):
        verdict = "pass" if "pass" in verdicts else ("error" if "error" in verdicts else "fail")
    elif "fail" in verdicts:
        verdict = "fail"
    elif missing or "error" in verdicts:
        verdict = "error"
        if missing:
            errors.append(f"parts {', '.join(map(str, missing))} of {n} are missing: "
                          "a clean verdict needs every part")
    else:
        verdict = "pass"
    j = found[0] if found else parts[0]
    covered = j.covered
    if covered is not None:
        bounds = [p.covered.proven_bound if p.covered else None for p in parts]
        proven = None if missing or None in bounds else min(b for b in bounds if b is not None)
        covered = replace(covered, proven_bound=proven, statement=f"{len(parts)} of {n} parts: "
                          + " | ".join(p.covered.statement if p.covered else "?"
                                       for p in parts))
    return replace(j, schedules=sum(p.schedules for p in parts),
                   steps=sum(p.steps for p in parts),
                   abandoned=sum(p.abandoned for p in parts),
                   blocked=sum(p.blocked for p in parts), cut=sum(p.cut for p in parts),
                   seconds=seconds, duration_s=seconds,
                   exhausted=not missing and all(p.exhausted for p in parts),
                   split=[None, n], parts=[p.split[0] or 0 for p in parts], errors=errors,
                   covered=covered, verdict=verdict)
