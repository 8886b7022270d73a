"""The `pagerace` command's entry point: interrupts are one line from the first instant.

Importing the command line takes a few hundred milliseconds (numpy, rich, the model),
and a Ctrl-C in that window would end in a KeyboardInterrupt traceback, a SIGTERM in
a silent death by signal.  Nothing exists yet to clean up, so both end here as any
later interrupt does: one line and exit code 130.  The commands that start processes
install their own handlers (stress/surfaces/cli.py), which take over from these.
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Sequence

EXIT_INTERRUPTED = 130  # results.EXIT_INTERRUPTED (not imported: importing is the slow part)


def _terminate(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _terminate)
    try:
        from stress.surfaces.cli import main as command
    except KeyboardInterrupt:
        print("pagerace: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    return command(argv)
