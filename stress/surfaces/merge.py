"""`pagerace merge`: the summaries of many `--out` folders read as one run's."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stress.runrecord import read_summary
from stress.surfaces.report import ReportError


def find_summaries(dirs: Sequence[Path]) -> list[dict[str, Any]]:
    """Every run's summary under the folders named (run directories or their parents).

    A folder named twice, or a run found through two names, counts once.
    """
    found: dict[Path, dict[str, Any]] = {}
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
                  key=lambda s: (s["scenario"], s["seed"], s["run_dir"]))


def join_splits(summaries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The parts of one exploration split over machines (`explore --split K/N`), as one.

    Its counts are the parts' sums; `exhausted` holds only when every part is there and
    exhausted, and a clean verdict needs every part.
    """
    out: list[dict[str, Any]] = []
    groups: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
    for s in summaries:
        split = s.get("split")
        if s.get("mode") == "explore" and isinstance(split, list) and split[1] > 1:
            key = (s["scenario"], s["seed"], s.get("strategy"), split[1])
            groups.setdefault(key, []).append(s)
        else:
            out.append(s)
    return out + [_joined(parts, key[3]) for key, parts in groups.items()]


def _joined(parts: list[dict[str, Any]], n: int) -> dict[str, Any]:
    parts = sorted(parts, key=lambda p: p["split"][0])
    missing = sorted(set(range(1, n + 1)) - {p["split"][0] for p in parts})
    found = [p for p in parts if p.get("finding")]
    j = dict(found[0] if found else parts[0])
    for key in ("schedules", "steps", "abandoned", "blocked", "cut"):
        j[key] = sum(p.get(key, 0) for p in parts)
    j["seconds"] = j["duration_s"] = max(p.get("seconds", 0) for p in parts)
    j["exhausted"] = not missing and all(p.get("exhausted") for p in parts)
    j["split"], j["parts"] = [None, n], [p["split"][0] for p in parts]
    j["errors"] = [e for p in parts for e in p.get("errors", [])]
    bounds = [p.get("covered", {}).get("proven_bound") for p in parts]
    if j.get("covered") is not None:
        proven = None if missing or None in bounds else min(bounds)
        j["covered"] = dict(j["covered"], proven_bound=proven,
                            statement=f"{len(parts)} of {n} parts: " + " | ".join(
                                p.get("covered", {}).get("statement", "?") for p in parts))
    verdicts = {p["verdict"] for p in parts}
    if str(j["expected"]).startswith("detect"):
        j["verdict"] = "pass" if "pass" in verdicts else ("error" if "error" in verdicts
                                                          else "fail")
    elif "fail" in verdicts:
        j["verdict"] = "fail"
    elif missing or "error" in verdicts:
        j["verdict"] = "error"
        if missing:
            j["errors"].append(f"parts {', '.join(map(str, missing))} of {n} are missing: "
                               "a clean verdict needs every part")
    else:
        j["verdict"] = "pass"
    return j
