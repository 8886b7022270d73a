"""The `pagerace` command.  Exit codes (DESIGN.md): 0 as expected, 1 a verdict failed,
2 bad input or usage, 3 harness error, 130 interrupted."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

EXIT_OK, EXIT_FAIL, EXIT_USAGE, EXIT_ERROR, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


class UsageError(Exception):
    """Bad input: printed as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: {message}")


def _positive_int(text: str) -> int:
    try:
        v = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if v < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {v}")
    return v


START_METHODS = ("forkserver", "spawn", "fork")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="pagerace", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    bench = sub.add_parser("bench", help="measure the harness")
    bsub = bench.add_subparsers(dest="what", required=True, parser_class=_Parser)
    atomics = bsub.add_parser("atomics", help="ns per memory-interface call, every backend")
    atomics.add_argument("--calls", type=_positive_int, default=1_000_000)
    atomics.add_argument("--repeat", type=_positive_int, default=5)
    atomics.add_argument("--start-method", choices=START_METHODS, default="forkserver")
    atomics.add_argument("--json", action="store_true")
    return parser


def _cmd_bench(args: argparse.Namespace) -> int:
    from stress.surfaces.bench_atomics import bench_atomics, report_atomics

    results, floor = bench_atomics(args.calls, args.repeat, args.start_method)
    print(report_atomics(results, floor, args.json), end="" if not args.json else "\n")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = build_parser().parse_args(argv)
        return {"bench": _cmd_bench}[args.command](args)
    except UsageError as e:
        print(e, file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("pagerace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())
