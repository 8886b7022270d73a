"""A request to stop, from a signal handler to the supervisor's loops.

The handler also raises KeyboardInterrupt so that a blocking call ends at once;
the flag is what the loops rely on, since an exception raised inside a
finalizer or a library's cleanup can be swallowed there.
"""

from __future__ import annotations

_requested: str | None = None


def request_stop(why: str) -> None:
    global _requested
    _requested = why


def stop_requested() -> str | None:
    """What asked the run to stop (a signal's name), or None."""
    return _requested
