"""The `pagerace` command.  Exit codes (docs/design.md): 0 as expected, 1 a verdict failed,
2 bad input or usage, 3 harness error, 4 inconclusive (a clean run nobody raced), 130
interrupted."""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from stress import BUILD, __version__
from stress.keys import keys
from stress.processes.stop import request_stop
from stress.scenario import (
    MAX_SEEDS,
    WEEK,
    ExploreSpec,
    RunSpec,
    ScenarioError,
    check_range,
)
from stress.summary import ExploreSummary, Summary
from stress.surfaces.junit import write_junit
from stress.surfaces.results import (
    EXIT_ERROR,
    EXIT_FAIL,
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_USAGE,
    console_for,
    exit_code,
    print_results,
    reliability_table,
)


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _number_in(kind: type[int] | type[float], lo: float, hi: float) -> Callable[[str], Any]:
    """An option's parser: a number of `kind`, finite, within the same bounds as a scenario's."""
    what = "a whole number" if kind is int else "a number"

    def parse(text: str) -> Any:
        try:
            v = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {what}: {text!r}") from None
        if why := check_range(v, lo, hi):
            raise argparse.ArgumentTypeError(why)
        return v
    return parse


def _key(cls: type, name: str, lo: float | None = None, help: str | None = None
         ) -> dict[str, Any]:
    """An option that overrides a scenario key: its declaration's bounds or choices and
    its help (stress/keys.py); `lo`, `help`: where the option means more than the key."""
    f, k = keys(cls)[name]
    if k.choices:
        return {"choices": k.choices, "help": help or k.help}
    assert k.lo is not None and k.hi is not None
    kind = float if isinstance(k.lo, float) or isinstance(f.default, float) else int
    return {"type": _number_in(kind, k.lo if lo is None else lo, k.hi),
            "help": help or k.help}


START_METHODS = ("forkserver", "spawn", "fork")
DEFAULT_SUITE_BUDGET = 60.0


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"K/N needs 1 <= K <= N, got {text}")
    return k, n


def _bench_options(p: argparse.ArgumentParser, *, with_defaults: bool) -> None:
    """Options both `bench` and `bench atomics` take, wherever they are written.

    The subcommand's copies default to SUPPRESS: an argparse subparser's defaults
    would otherwise overwrite what was given before the subcommand's name.
    """
    def default(v: object) -> object:
        return v if with_defaults else argparse.SUPPRESS

    p.add_argument("--repeat", type=_number_in(int, 1, 1000), default=default(5))
    p.add_argument("--start-method", choices=START_METHODS, default=default("forkserver"))
    p.add_argument("--json", action="store_true", default=default(False))


def build_parser() -> argparse.ArgumentParser:
    from stress.memory import BACKENDS

    parser = _Parser(prog="pagerace", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pagerace {__version__} "
                        f"({BUILD.name} build{': ' + BUILD.reason if BUILD.reason else ''})",
                        help="the version, and which build runs (compiled or pure, and why)")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = sub.add_parser("run", help="run scenarios (default: the suite in scenarios/)")
    run.add_argument("scenarios", nargs="*", metavar="SCENARIO", help="scenario TOML files")
    run.add_argument("--workers", **_key(RunSpec, "workers"))
    run.add_argument("--duration", **_key(RunSpec, "duration"))
    run.add_argument("--ops", **_key(RunSpec, "ops", lo=1,
                                     help="operations per worker instead of a duration"))
    run.add_argument("--seed", **_key(RunSpec, "seeds", help="run seed (repeatable); default: "
                                                             "each scenario's seeds"),
                     action="append", dest="seeds")
    run.add_argument("--backend", choices=BACKENDS, help="memory backend override")
    run.add_argument("--start-method", choices=START_METHODS, default="forkserver")
    run.add_argument("--out", type=Path, default=Path("runs"), help="parent of run directories")
    run.add_argument("--budget", type=_number_in(float, 0.1, WEEK),
                     help="seconds for the whole run, shared across scenarios and seeds (a "
                          "buggy run stops at its first detection, may use time others left)")
    run.add_argument("--shard", type=_shard, help="K/N: run the K-th of N stable slices")
    run.add_argument("--repeat", type=_number_in(int, 1, MAX_SEEDS),
                     help="run every scenario with seeds 1..N and report reliability")
    run.add_argument("--until-detected", action="store_true",
                     help="end a buggy scenario's race at its first expected detection (always so "
                          "under a budget)")
    run.add_argument("--junitxml", type=Path, metavar="FILE",
                     help="also write the verdicts as JUnit XML, one test case per run")
    run.add_argument("--explore", type=_number_in(float, 0.0, WEEK), metavar="S",
                     help="after the stress runs, explore each scenario for at most S seconds "
                          "(within the budget) and hunt a reproducer for each failed run; "
                          "default: 1 for the suite, 0 (stress only) for named scenarios")

    ex = sub.add_parser("explore", help="run scenarios under a controlled scheduler: find, "
                                        "shrink and replay a race deterministically")
    ex.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                    help="scenario TOML files (default: the suite in scenarios/)")
    ex.add_argument("--strategy", **_key(ExploreSpec, "strategy",
                                         help="portfolio, random, pct, dfs or dpor (default: "
                                              "each scenario's [explore] strategy, portfolio "
                                              "unless it says)"))
    ex.add_argument("--depth", **_key(ExploreSpec, "depth"))
    ex.add_argument("--preemptions", **_key(ExploreSpec, "preemptions"))
    ex.add_argument("--schedules", **_key(ExploreSpec, "schedules"))
    ex.add_argument("--budget", type=_number_in(float, 0.1, WEEK),
                    help="seconds for the whole command, split across scenarios")
    ex.add_argument("--seed", **_key(RunSpec, "seeds", help="exploration seed"), default=1)
    ex.add_argument("--jobs", type=_number_in(int, 1, 256), default=1,
                    help="explorer processes per scenario (disjoint seeds or subtrees)")
    ex.add_argument("--shard", type=_shard, help="K/N: explore the K-th of N stable slices")
    ex.add_argument("--split", type=_shard,
                    help="K/N: search the K-th of N parts of each scenario (dfs: every N-th "
                         "program; random, pct: every N-th schedule); merge joins the parts")
    ex.add_argument("--checkpoint", type=Path, metavar="DIR",
                    help="dfs, dpor: save where each scenario's search got to in DIR, and go "
                         "on from there when DIR already holds it")
    ex.add_argument("--out", type=Path, default=Path("runs"), help="parent of run directories")
    ex.add_argument("--junitxml", type=Path, metavar="FILE",
                    help="also write the verdicts as JUnit XML")

    rp = sub.add_parser("replay", help="replay an explorer token: the same anomaly at the same "
                                       "step, every time")
    rp.add_argument("token", metavar="TOKEN")
    rp.add_argument("--scenario", type=Path, metavar="FILE",
                    help="the scenario file to replay against, instead of the path in the "
                         "token (relative to where it was made); it must be the same "
                         "configuration")
    rp.add_argument("--out", type=Path, default=Path("runs"), help="parent of run directories")

    merge = sub.add_parser("merge", help="one verdict table and exit code from many --out "
                                         "folders (CI shards, repeats, machines)")
    merge.add_argument("dirs", nargs="+", type=Path, metavar="DIR",
                       help="--out folders or run directories")
    merge.add_argument("--junitxml", type=Path, metavar="FILE",
                       help="write the verdicts as JUnit XML, one test case per run")

    lst = sub.add_parser("list", help="the scenarios of the suite with their claims and "
                                      "expectations")
    lst.add_argument("--json", action="store_true", help="machine-readable output")
    sub.add_parser("schemes", help="the schemes a scenario can name: built-in and entry points")
    roles = sub.add_parser("roles", help="every role with its operations and parameters")
    roles.add_argument("--pairs", nargs="*", metavar="SCENARIO",
                       help="instead: every pair of roles that can share a page and the "
                            "clean scenarios (default: the suite) that meet it in each "
                            "engine; exit 1 if one is met by none")
    schema = sub.add_parser("schema", help="the scenario format as JSON Schema (for editors)")
    schema.add_argument("--markdown", action="store_true",
                        help="the scenario reference generated from it (docs/scenarios.md)")
    new = sub.add_parser("new", help="write NAME.toml here: a commented scenario that passes")
    new.add_argument("name", metavar="NAME")
    new.add_argument("--from", dest="source", type=Path, metavar="SCENARIO",
                     help="start from this scenario instead of the template")

    report = sub.add_parser("report", help="what happened in a run, anomaly by anomaly")
    report.add_argument("run_dir", type=Path, metavar="RUN_DIR")
    report.add_argument("--per-kind", type=_number_in(int, 1, 1000), default=3,
                        help="anomalies shown per kind (default 3)")
    report.add_argument("--json", action="store_true", help="machine-readable output")
    report.add_argument("--html", type=Path, metavar="FILE", help="write a self-contained page")

    bench = sub.add_parser("bench", help="measure the harness (default) or the atomics")
    _bench_options(bench, with_defaults=True)
    duration = {"type": _number_in(float, 0.01, 3600.0), "help": "seconds per measured run"}
    bench.add_argument("--duration", default=1.0, **duration)  # type: ignore[arg-type]
    bsub = bench.add_subparsers(dest="what", parser_class=_Parser)
    atomics = bsub.add_parser("atomics", help="ns per memory-interface call, every backend")
    _bench_options(atomics, with_defaults=False)
    atomics.add_argument("--calls", type=_number_in(int, 1, 1 << 40), default=1_000_000)
    bex = bsub.add_parser("explore", help="the explorer's scheduling points per second")
    _bench_options(bex, with_defaults=False)
    bex.add_argument("--duration", default=argparse.SUPPRESS, **duration)  # type: ignore[arg-type]
    binl = bsub.add_parser("inline", help="one worker's operations in this process: ns per op")
    _bench_options(binl, with_defaults=False)
    binl.add_argument("--ops", type=_number_in(int, 1, 1 << 40), default=200_000,
                      help="operations per run (default 200000)")
    return parser


def _cmd_bench(args: argparse.Namespace) -> int:
    import json

    if args.what == "atomics":
        from stress.surfaces.bench_atomics import bench_atomics, report_atomics

        results, floor = bench_atomics(args.calls, args.repeat, args.start_method)
        print(report_atomics(results, floor, args.json), end="" if not args.json else "\n")
        return EXIT_OK
    r: dict[str, Any]
    if args.what == "explore":
        from stress.surfaces.bench_explore import bench_explore
        from stress.surfaces.bench_explore import report_explore as report

        r = bench_explore(args.repeat, args.duration)
    elif args.what == "inline":
        from stress.surfaces.bench_inline import bench_inline
        from stress.surfaces.bench_inline import report_inline as report

        r = bench_inline(args.ops, args.repeat)
    else:
        from stress.surfaces.bench_harness import bench_harness
        from stress.surfaces.bench_harness import report_harness as report

        r = bench_harness(args.repeat, args.duration, args.start_method)
    print(json.dumps(r, indent=2) if args.json else report(r), end="\n" if args.json else "")
    return EXIT_OK


def _interrupt(signum: int, frame: object) -> None:
    """SIGINT and SIGTERM: stop like Ctrl-C (workers stopped, summary written).

    The flag outlives the exception: a KeyboardInterrupt raised where something
    swallows it (a finalizer, a library's cleanup) still stops the run at the
    supervisor's next tick.
    """
    request_stop(signal.Signals(signum).name)
    raise KeyboardInterrupt


def _cmd_run(args: argparse.Namespace) -> int:

    from stress.runs.rundir import OutputError, check_out
    from stress.surfaces import runner
    from stress.surfaces.both_engines import EXPLORE_BY, EXPLORE_S, Phase
    from stress.surfaces.suite_budget import overrun_warning

    paths = runner.find_scenarios(args.scenarios)
    if args.shard:
        paths = runner.shard(paths, *args.shard)
    scenarios = tuple(
        s.with_overrides(workers=args.workers, duration=args.duration, ops=args.ops,
                         backend=args.backend)
        for s in runner.load_all(paths)
    )
    if args.repeat and args.seeds:
        raise UsageError("pagerace run: --repeat and --seed exclude each other")
    seeds = tuple(range(1, args.repeat + 1)) if args.repeat else \
        tuple(args.seeds) if args.seeds else None
    budget = args.budget if args.budget or args.scenarios else DEFAULT_SUITE_BUDGET
    try:
        out = check_out(args.out)
    except OutputError as e:
        raise UsageError(f"pagerace: {e}") from None
    req = runner.RunRequest(scenarios, seeds, out, args.start_method, budget,
                            args.until_detected)
    for warning in runner.admit_all(req):
        print(f"pagerace: warning: {warning}", file=sys.stderr)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    console = console_for(sys.stdout.isatty())
    t0 = time.monotonic()
    if sys.stdout.isatty():
        from stress.surfaces.live import LiveProgress

        with LiveProgress(console) as progress:
            outcome = runner.execute(req, progress)
    else:
        outcome = runner.execute(req, runner.PlainProgress())
    explore_s = args.explore if args.explore is not None else \
        0.0 if args.scenarios else EXPLORE_S
    explore_interrupted = False
    if explore_s and not outcome.interrupted and not outcome.output_error:
        phase = Phase(out, t0 + budget * EXPLORE_BY if budget else None, explore_s)
        print("pagerace: exploring each scenario (at most "
              f"{explore_s:g} s each, within the budget)", file=sys.stderr, flush=True)
        try:
            phase.reproduce(outcome.summaries, {scn.name: scn for scn in scenarios})
            phase.explore(outcome.summaries, scenarios)
        except OutputError as e:  # the stress runs' verdicts are written; the phase stops
            outcome.output_error = f"the explorer phase stopped: {e}"
        except KeyboardInterrupt:
            explore_interrupted = True
            print("pagerace: interrupted during the explorer phase: the stress verdicts "
                  "stand, the explorer's are missing", file=sys.stderr)
        for line in phase.skipped:
            print(f"pagerace: warning: {line}", file=sys.stderr)
    wall_s = time.monotonic() - t0
    print_results(console, outcome.summaries, reliability=bool(args.repeat),
                  output_error=outcome.output_error)
    overrun = overrun_warning(wall_s, budget) if budget and not outcome.interrupted else None
    if overrun:
        print(f"pagerace: warning: {overrun}", file=sys.stderr)
    code = exit_code(outcome.summaries, output_error=outcome.output_error)
    if explore_interrupted:
        code = EXIT_INTERRUPTED
    if args.junitxml:
        try:
            write_junit(args.junitxml, outcome.summaries)
        except OSError as e:
            print(f"pagerace: {args.junitxml}: cannot write: {e.strerror}", file=sys.stderr)
            return max(code, EXIT_ERROR) if code != EXIT_INTERRUPTED else code
    return code


def _cmd_explore(args: argparse.Namespace) -> int:
    from stress.explore.admission import admit_explore
    from stress.explore.checkpoint import CheckpointError
    from stress.explore.runner import ExploreOptions
    from stress.runs.rundir import OutputError, check_out
    from stress.surfaces import runner
    from stress.surfaces.explore_cmd import explore_all, print_explore

    paths = runner.find_scenarios(args.scenarios)
    if args.shard:
        paths = runner.shard(paths, *args.shard)
    scenarios = runner.load_all(paths)
    try:
        out = check_out(args.out)
    except OutputError as e:
        raise UsageError(f"pagerace: {e}") from None
    # Options a strategy has no use for are refused, not ignored.
    for option, given, takes in (("--preemptions", args.preemptions, ("dfs", "dpor", "portfolio")),
                                 ("--depth", args.depth, ("pct", "portfolio")),
                                 ("--checkpoint", args.checkpoint, ("dfs", "dpor"))):
        for scn in scenarios if given is not None else ():
            if (strategy := args.strategy or scn.explore.strategy) not in takes:
                raise UsageError(f"pagerace explore: {option} applies to {' or '.join(takes)} "
                                 f"only; {scn.name} explores with {strategy} "
                                 f"(add --strategy {takes[0]})")
    cpus = os.cpu_count() or 1
    if args.jobs > max(2, cpus):  # (2 on one CPU: a test's split must run anywhere)
        raise UsageError(f"pagerace explore: --jobs {args.jobs}: this machine has {cpus} "
                         f"CPU{'s' if cpus != 1 else ''}; each job is a process that keeps "
                         f"one busy, so at most {max(2, cpus)}")
    for scn in scenarios:
        if (why := admit_explore(scn, args.jobs)) is not None:
            raise ScenarioError(f"{scn.path or scn.name}: {why}")
    if args.checkpoint is not None:
        try:
            args.checkpoint.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise UsageError(f"pagerace explore: --checkpoint {args.checkpoint}: cannot be "
                             f"made a directory ({e.strerror})") from None
    opts = ExploreOptions(strategy=args.strategy, depth=args.depth,
                          preemptions=args.preemptions, schedules=args.schedules,
                          seed=args.seed, jobs=args.jobs,
                          split=(args.split[0] - 1, args.split[1]) if args.split else (0, 1),
                          checkpoint=args.checkpoint)
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _interrupt)
    try:
        summaries = explore_all(scenarios, opts, out, args.budget)
    except OutputError as e:  # a run directory could not be written mid-way
        print(f"pagerace: {e}", file=sys.stderr)
        return EXIT_ERROR
    except CheckpointError as e:
        raise UsageError(f"pagerace explore: {e}") from None
    print_explore(console_for(sys.stdout.isatty()), summaries)
    return _junit_and_exit(args.junitxml, summaries)


def _junit_and_exit(path: Path | None, summaries: Sequence[Summary]) -> int:
    """Write the verdicts as JUnit XML if asked (one line and exit 2 if it cannot be)."""
    if path:
        try:
            write_junit(path, summaries)
        except OSError as e:
            raise UsageError(f"pagerace: {path}: cannot write: {e.strerror}") from None
    return exit_code(summaries)


def _cmd_replay(args: argparse.Namespace) -> int:
    from stress.explore.token import TokenError
    from stress.runs.rundir import OutputError, check_out
    from stress.surfaces.explore_cmd import replay_command

    try:
        out = check_out(args.out)
        summary, line = replay_command(args.token, out, args.scenario)
    except (TokenError, ScenarioError, OutputError) as e:
        raise UsageError(f"pagerace replay: {e}") from None
    print(line)
    print(f"run directory: {summary.run_dir}")
    return EXIT_OK if summary.anomalies else 1


def _cmd_merge(args: argparse.Namespace) -> int:
    from stress.surfaces.merge import find_summaries

    summaries = find_summaries(args.dirs)
    console = console_for(sys.stdout.isatty())
    seeds: dict[str, set[int]] = {}
    for s in summaries:
        seeds.setdefault(s.scenario, set()).add(s.seed)
    repeated = any(len(v) > 1 for v in seeds.values())
    explored = [s for s in summaries if isinstance(s, ExploreSummary)]
    if summaries and len(explored) == len(summaries):
        from stress.surfaces.explore_cmd import print_explore

        print_explore(console, explored)  # its own columns: exhausted, abandoned, ...
        return _junit_and_exit(args.junitxml, summaries)
    print_results(console, summaries, reliability=False)
    if repeated:
        console.print(reliability_table(summaries, console.width))
    return _junit_and_exit(args.junitxml, summaries)


def _cmd_list(args: argparse.Namespace) -> int:
    import json

    from rich.table import Table

    from stress.scenario import load_scenario
    from stress.surfaces import runner

    scenarios = [(path, load_scenario(path)) for path in runner.find_scenarios([])]
    if args.json:
        print(json.dumps([{"name": s.name, "claim": s.claim, "scheme": s.model.scheme,
                           "expected": s.expect.describe(), "clean": s.expect.clean,
                           "detect": list(s.expect.detect), "forbid": list(s.expect.forbid),
                           "seeds": list(s.run.seeds), "file": str(path),
                           "description": s.description.strip()}
                          for path, s in scenarios], indent=2))
        return EXIT_OK
    table = Table(title="pagerace scenarios")
    for col in ("claim", "scenario", "scheme", "expected", "seeds", "file"):
        table.add_column(col, overflow="fold")
    for path, s in scenarios:
        table.add_row(s.claim or "-", s.name, s.model.scheme, s.expect.describe(),
                      ",".join(map(str, s.run.seeds)), str(path))
    console_for(sys.stdout.isatty()).print(table)
    return EXIT_OK


def _cmd_schemes(args: argparse.Namespace) -> int:
    from rich.table import Table

    from stress.schemes import SchemeError, available, load_scheme

    table = Table(title="pagerace schemes (or name a file: path/to/file.py:ClassName)")
    for col in ("scheme", "summary", "from"):
        table.add_column(col, overflow="fold")
    for found in available():
        try:
            summary = load_scheme(found.name).summary
        except SchemeError as e:  # a broken plug-in is listed with why, not a traceback
            summary = f"[red]{e}[/]"
        table.add_row(found.name, summary, f"{found.origin}: {found.target}")
    console_for(sys.stdout.isatty()).print(table)
    return EXIT_OK


def _cmd_schema(args: argparse.Namespace) -> int:
    from stress.schema import markdown, schema_json

    print(markdown() if args.markdown else schema_json(), end="")
    return EXIT_OK


def _cmd_roles(args: argparse.Namespace) -> int:
    from stress.surfaces.authoring import roles_table

    if args.pairs is None:
        console_for(sys.stdout.isatty()).print(roles_table())
        return EXIT_OK
    from stress.surfaces.role_pairs import pair_coverage, pairs_table
    from stress.surfaces.runner import find_scenarios, load_all

    covers = pair_coverage(load_all(find_scenarios(args.pairs)))
    console_for(sys.stdout.isatty()).print(pairs_table(covers))
    unmet = [" + ".join(c.pair) for c in covers if not c.met]
    print(f"role pairs: {len(covers) - len(unmet)} of {len(covers)} met in both engines"
          + (f"; not: {', '.join(unmet)}" if unmet else ""))
    return EXIT_FAIL if unmet else EXIT_OK


def _cmd_new(args: argparse.Namespace) -> int:
    from stress.surfaces.authoring import new_scenario

    path = new_scenario(args.name, args.source, Path.cwd())
    print(f"wrote {path.name}: pagerace run {path.name}")
    return EXIT_OK


def _cmd_report(args: argparse.Namespace) -> int:
    import json

    from stress.surfaces.report import load_run, render_text, to_json

    run = load_run(args.run_dir)
    if args.html:
        from stress.surfaces.report_html import render_html

        try:
            args.html.write_text(render_html(run, args.per_kind), encoding="utf-8")
        except OSError as e:
            raise UsageError(f"pagerace report: --html {args.html}: {e.strerror}") from None
    if args.json:
        print(json.dumps(to_json(run, args.per_kind), indent=2))
    elif not args.html:
        print(render_text(run, args.per_kind), end="")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    from stress.memory import ArenaError
    from stress.runrecord import RecordError

    if sys.stdout is None:  # started with its standard output closed (>&-)
        print("pagerace: standard output is closed: nothing it prints would be seen",
              file=sys.stderr)
        return EXIT_ERROR
    try:
        args = build_parser().parse_args(argv)
        commands = {"bench": _cmd_bench, "run": _cmd_run, "list": _cmd_list,
                    "report": _cmd_report, "schemes": _cmd_schemes, "merge": _cmd_merge,
                    "roles": _cmd_roles, "new": _cmd_new, "schema": _cmd_schema,
                    "explore": _cmd_explore, "replay": _cmd_replay}
        code = commands[args.command](args)
        sys.stdout.flush()  # (a write error shows here, not at exit as a traceback)
        return code
    except (ScenarioError, ArenaError, RecordError) as e:
        print(f"pagerace: {e}", file=sys.stderr)
        return EXIT_USAGE
    except UsageError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pagerace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`pagerace list | head`): the rest of the output is lost.
        _drop_stdout()
        print("pagerace: the output's reader went away: output cut short", file=sys.stderr)
        return EXIT_ERROR
    except OSError as e:
        if e.errno not in _OUTPUT_ERRNOS or e.filename is not None:
            raise  # (not a write to standard output: a bug to see whole)
        _drop_stdout()
        print(f"pagerace: cannot write the output ({e.strerror})", file=sys.stderr)
        return EXIT_ERROR


# A write to standard output that fails this way is the output's fault, not the run's (the
# files pagerace writes report their own failures, naming the file, where they are written).
_OUTPUT_ERRNOS = frozenset({errno.ENOSPC, errno.EIO, errno.EDQUOT, errno.EBADF, errno.EFBIG})


def _drop_stdout() -> None:
    """Send what is still buffered nowhere, so the exit does not fail on it again."""
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
