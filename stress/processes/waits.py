"""The supervisor's two waits on every worker: ready to race, and parked for an audit."""

from __future__ import annotations

import time
from collections.abc import Callable

# (now, the workers still waited for) -> the ones that count as hung, each with why
HungPolicy = Callable[[float, list[int]], dict[int, str]]


def wait_all(left: Callable[[], list[int]], *, dead: Callable[[], bool],
             stop: Callable[[], None], hung: HungPolicy,
             on_hung: Callable[[int, str], None], poll: float) -> bool:
    """Until `left()` is empty (True), a worker dies or one is hung (False).

    `stop` raises when the command is being stopped; `poll` is the sleep between looks.
    """
    while True:
        waiting = left()
        if not waiting:
            return True
        if dead():
            return False
        stop()
        if found := hung(time.monotonic(), waiting):
            for w, why in found.items():
                on_hung(w, why)
            return False
        time.sleep(poll)
