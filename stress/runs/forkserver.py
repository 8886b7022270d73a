"""The forkserver the workers are forked from, with their modules imported once.

Preloading `stress.processes.worker` in the forkserver spares every worker its own
imports (0.6 s a run on an idle 2-core machine, 1.8 s with 4 busy loops on it).  The
forkserver is `python -c ...`, so its `sys.path` starts with the current directory,
and `multiprocess` does not pass it the parent's path.  Started from a checkout's root
after a plain `pip install .` (as CI runs the suite), it would preload the source
tree's `stress`, which has no built extension, and every worker forked from it would
fail.  So it is started from our own temporary directory, where only the installed
package can be found; the workers still run in the parent's directory (multiprocess
moves each child back there).
"""

from __future__ import annotations

import os
from typing import Any

from stress.runs import tempdir

PRELOAD = ["stress.processes.worker"]


def context(start_method: str) -> Any:
    """A `multiprocess` context for `start_method`; for forkserver, its server running and
    preloaded."""
    import multiprocess
    from multiprocess import forkserver

    ctx = multiprocess.get_context(start_method)
    if start_method != "forkserver":
        return ctx
    ctx.set_forkserver_preload(PRELOAD)  # (no effect on a server already running)
    try:
        here: str | None = os.getcwd()
    except OSError:  # (the directory we were started in is gone: nothing to come back to)
        here = None
    os.chdir(tempdir.claim())
    try:
        forkserver.ensure_running()
    finally:
        if here is not None:
            os.chdir(here)
    return ctx
