"""Whether the process that started us is still there.

Killed outright (SIGKILL), a command stays a zombie until whoever started it reaps it,
and that may be waiting for the command's pipes to close, which the workers and jobs
it started still hold.  `kill(pid, 0)` and `pid_exists` both say a zombie exists, so a
worker asking them would wait for its parent's reaper, and the reaper for the worker.
"""

from __future__ import annotations

import psutil


def gone(pid: int) -> bool:
    """The process is dead, or a zombie."""
    try:
        return bool(psutil.Process(pid).status() == psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:  # (someone else's: alive, as far as we can tell)
        return False
