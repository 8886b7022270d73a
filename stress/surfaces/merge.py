"""`pagerace merge`: the summaries of many `--out` folders read as one run's."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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
            try:
                s = json.loads(f.read_text(encoding="utf-8"))
                s["run_dir"] = s.get("run_dir") or str(f.parent)
                for key in ("scenario", "seed", "verdict", "expected", "anomalies"):
                    s[key]  # noqa: B018 - a summary without them is not one
            except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError,
                    TypeError) as e:
                raise ReportError(f"{f}: not a pagerace summary ({type(e).__name__}: {e})") \
                    from None
            found[f.parent.resolve()] = s
    return sorted(found.values(), key=lambda s: (s["scenario"], s["seed"], s["run_dir"]))
