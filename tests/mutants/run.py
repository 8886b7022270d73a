"""The mutation catalogue: each bug of this folder, alone, against the default suite.

    python tests/mutants/run.py [NAME ...] [--jobs N] [--json FILE] [--margin N]
                                [--explore SECONDS]

Every `*.toml` here is one small patch (`file`, `old`, `new`: `old` must occur exactly
once) and the `bug` it plants.  For each, the installed package is copied to a scratch
directory, the patch applied there, and `pagerace run` (the default suite, default seeds)
run against the copy.  A bug is caught when a scenario fails its expectation; a run that
ends in a harness error does not count.  The table says which scenario caught it, with
which anomaly kind, and how long into that scenario's race the first one came.

With `--margin N` each caught bug's margin is measured too: the scenarios that caught it
(the first three) run again with seeds 1..N at their full duration, and the margin is
the most seeds out of N on which one of them failed; a detection counts when it holds
on all N.  With `--explore SECONDS` the explorer looks for each bug too, with that budget:
on its case in tests/explore_bugs when one plants the same patch (with that bug's
strategy, to 20,000 schedules), else on the scenario that caught it, else on the whole
suite; the table gives the schedules it took and the fewest preemptions of its finding.
A bug found by neither engine is caught by none.  A patch may say `equivalent = "why"`:
a mutant that changes no state the model can observe (the argument written down, and
the run still made, so that a catch would show the argument wrong); it is listed apart
and does not fail the catalogue.

Exit status: 0 when every bug is caught by a failed expectation, 1 otherwise, 2 on a
malformed patch.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # tests/patches.py

from patches import Patch, PatchError, package_dir, patched_copy  # noqa: E402

SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
TIMEOUT_S = 900


@dataclass
class Outcome:
    name: str
    bug: str
    file: str
    caught_by: str = "-"
    kind: str = "-"
    first_s: float | None = None
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    wall_s: float = 0.0
    seeds: int = 0  # --margin N: the seeds the catching scenarios reran with
    margin: int = 0  # the most of them on which one failed
    margin_on: str = "-"  # that scenario
    explored: str = "-"  # what the explorer found: "KIND on CASE: S schedules, P preemptions"
    equivalent: str = ""  # why this mutant changes nothing the model can observe, if it says

    @property
    def caught(self) -> bool:
        return bool(self.failed)

    @property
    def every_seed(self) -> bool:
        """Stress catches it on every seed of its margin run."""
        return self.seeds > 0 and self.margin == self.seeds

    @property
    def found(self) -> bool:
        return self.explored not in ("-", "nothing")


def load(names: list[str]) -> Iterator[Patch]:
    for path in sorted(HERE.glob("*.toml")):
        if not names or path.stem in names:
            yield Patch.load(path)


def run_suite(scratch: Path, out: Path, scenarios: list[Path]) -> list[dict[str, object]]:
    env = dict(os.environ, PYTHONPATH=str(scratch), PYTHONSAFEPATH="1", NO_COLOR="1")
    subprocess.run([sys.executable, "-m", "stress", "run", "--out", str(out),
                    *map(str, scenarios)], cwd=scratch, env=env, timeout=TIMEOUT_S,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return [json.loads(p.read_text()) for p in sorted(out.glob("*/summary.json"))]


def judge(m: Patch, summaries: list[dict[str, object]], wall_s: float) -> Outcome:
    o = Outcome(m.name, m.bug, m.file, wall_s=round(wall_s, 1))
    order = {p.stem: k for k, p in enumerate(SCENARIOS)}
    summaries.sort(key=lambda s: order.get(str(s["scenario"]), 99))
    for s in summaries:
        name, verdict = str(s["scenario"]), s["verdict"]
        if verdict == "fail":
            o.failed.append(name)
        elif verdict != "pass":
            o.errors.append(f"{name}: {verdict}")
    if len(summaries) < len(SCENARIOS):
        o.errors.append(f"{len(summaries)} of {len(SCENARIOS)} scenarios wrote a summary")
    if o.failed:
        first = next(s for s in summaries if s["scenario"] == o.failed[0])
        o.caught_by = o.failed[0]
        o.kind, o.first_s = _unexpected(first)
    return o


def _unexpected(s: dict[str, object]) -> tuple[str, float | None]:
    """The anomaly kind that made the scenario fail, and when it was first seen."""
    from stress.scenario import load_scenario

    expect = load_scenario(ROOT / "scenarios" / f"{s['scenario']}.toml").expect
    seen, firsts = s["anomalies"], s["first_detection_s"]
    assert isinstance(seen, dict) and isinstance(firsts, dict)
    allowed = set() if expect.clean else set(expect.detect) - set(expect.forbid)
    bad = [k for k in seen if k not in allowed]
    if expect.clean or set(seen) & set(expect.forbid):
        kind = min(bad, key=lambda k: firsts.get(k, float("inf")))
        return kind, firsts.get(kind)
    return "(expected detection missing)", None


def _env(scratch: Path) -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=str(scratch), PYTHONSAFEPATH="1", NO_COLOR="1")


def margin(scratch: Path, o: Outcome, seeds: int) -> None:
    """The most seeds out of `seeds` on which one of the catching scenarios failed."""
    o.seeds = seeds
    for name in o.failed[:3]:
        out = scratch / f"margin-{name}"
        subprocess.run([sys.executable, "-m", "stress", "run", "--repeat", str(seeds), "--out",
                        str(out), str(ROOT / "scenarios" / f"{name}.toml")], cwd=scratch,
                       env=_env(scratch), timeout=TIMEOUT_S, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL, check=False)
        n = sum(json.loads(p.read_text())["verdict"] == "fail"
                for p in out.glob("*/summary.json"))
        if n > o.margin:
            o.margin, o.margin_on = n, name
        if o.every_seed:
            break


def explore_case(m: Patch) -> tuple[Path, str] | None:
    """The explorer's case for this bug: an explore bug planting the very same patch."""
    for path in sorted((HERE.parent / "explore_bugs").glob("*.toml")):
        b = Patch.load(path)
        if (b.file, b.old, b.new) == (m.file, m.old, m.new):
            return (path.parent / b.extra["scenario"]).resolve(), b.extra.get("strategy", "pct")
    return None


def explore(scratch: Path, m: Patch, o: Outcome, budget: float) -> str:
    """What the explorer finds of the bug: kind, schedules, fewest preemptions."""
    case = explore_case(m)
    if case is not None:
        args = [str(case[0]), "--strategy", case[1], "--schedules", "20000"]
    elif o.failed:
        args = [str(ROOT / "scenarios" / f"{o.failed[0]}.toml"), "--budget", str(budget)]
    else:
        args = [*map(str, SCENARIOS), "--budget", str(budget)]
    out = scratch / "explore"
    subprocess.run([sys.executable, "-m", "stress", "explore", "--out", str(out), *args],
                   cwd=scratch, env=_env(scratch), timeout=TIMEOUT_S,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    for p in sorted(out.glob("*/summary.json")):
        s = json.loads(p.read_text())
        f = s.get("finding")
        if s["verdict"] == "fail" and f:
            where = case[0].stem if case else s["scenario"]
            return (f"{f['kind']} on {where}: {s['schedules']:,} schedules, "
                    f"{f.get('preemptions_min', '?')} preemptions")
    return "nothing"


def one(m: Patch, pkg: Path, scenarios: list[Path], seeds: int = 0,
        budget: float = 0.0) -> Outcome:
    with tempfile.TemporaryDirectory(prefix=f"pagerace-mutant-{m.name}-") as tmp:
        scratch = patched_copy(m, Path(tmp), pkg)
        start = time.monotonic()
        summaries = run_suite(scratch, scratch / "runs", scenarios)
        o = judge(m, summaries, time.monotonic() - start)
        o.equivalent = str(m.extra.get("equivalent", ""))
        o.seeds = seeds
        if seeds and o.caught:
            margin(scratch, o, seeds)
        if budget:
            o.explored = explore(scratch, m, o, budget)
        return o


def table(outcomes: list[Outcome]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title="pagerace mutation catalogue")
    for col in ("bug", "module", "caught by", "anomaly kind", "first detection", "suite",
                "stress margin", "explorer"):
        t.add_column(col)
    for o in outcomes:
        first = "-" if o.first_s is None else f"{o.first_s:.3f} s"
        caught = o.caught_by if o.caught else \
            f"equivalent: {o.equivalent}" if o.equivalent else "[red]NOT CAUGHT[/]"
        if o.errors:
            caught += f" ({'; '.join(o.errors)})"
        margin = f"{o.margin}/{o.seeds} on {o.margin_on}" if o.seeds else "-"
        t.add_row(f"{o.name}: {o.bug}", o.file.removeprefix("stress/"), caught, o.kind, first,
                  f"{o.wall_s:.0f} s", margin, o.explored)
    Console(width=240).print(t)
    n = sum(o.caught for o in outcomes)
    same = [o.name for o in outcomes if o.equivalent and not o.caught]
    print(f"mutants: {n} of {len(outcomes)} caught by the default suite"
          + (f" ({len(same)} equivalent: {', '.join(same)})" if same else ""))
    if any(o.seeds for o in outcomes) and any(o.explored != "-" for o in outcomes):
        stress = {o.name for o in outcomes if o.every_seed}
        found = {o.name for o in outcomes if o.found}
        same = {o.name for o in outcomes if o.equivalent} - stress - found
        print(f"engines: {len(stress & found)} by both (stress on every seed), "
              f"{len(stress - found)} by stress alone, {len(found - stress)} by the explorer "
              f"alone, {len(outcomes) - len(stress | found | same)} by neither"
              + (f", {len(same)} equivalent" if same else ""))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("names", nargs="*", help="mutants to run (file stems); default: all")
    ap.add_argument("--jobs", type=int, default=1, help="suites at once (each uses 2 CPUs)")
    ap.add_argument("--json", type=Path, help="also write the outcomes as JSON")
    ap.add_argument("--package", type=Path,
                    help="the package folder to mutate (default: the installed one)")
    ap.add_argument("--margin", type=int, default=0, metavar="N",
                    help="also rerun the scenarios that caught each bug with seeds 1..N")
    ap.add_argument("--explore", type=float, default=0.0, metavar="SECONDS",
                    help="also look for each bug with the explorer, with this budget")
    ap.add_argument("--baseline", action="store_true",
                    help="first check the unmutated copy passes the suite")
    args = ap.parse_args()
    pkg = args.package or package_dir()
    try:
        mutants = list(load(args.names))
        for m in mutants:  # every patch must apply before any suite runs
            with tempfile.TemporaryDirectory() as tmp:
                patched_copy(m, Path(tmp), pkg)
    except PatchError as e:
        print(e, file=sys.stderr)
        return 2
    if args.baseline:
        base = one(Patch("baseline", "stress/__init__.py", "none", "", "", {}), pkg, SCENARIOS)
        if base.failed or base.errors:
            print(f"baseline: the unmutated suite fails: {base.failed + base.errors}")
            return 1
    with ThreadPoolExecutor(max(1, args.jobs)) as ex:
        outcomes = list(ex.map(lambda m: one(m, pkg, SCENARIOS, args.margin, args.explore),
                               mutants))
    table(outcomes)
    if args.json:
        args.json.write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    return 0 if all((o.caught or o.equivalent) and not o.errors for o in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
