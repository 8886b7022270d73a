"""The hang policy alone: made-up times, heartbeats and process states, no processes."""

from __future__ import annotations

import psutil

from stress.processes.policy import STARTUP_GRACE, STARTUP_TIMEOUT, Heartbeats, Startup


def test_no_worker_ready_is_a_hang_only_after_the_startup_timeout() -> None:
    """With nobody ready, the workers have STARTUP_TIMEOUT seconds, not a moment more."""
    s = Startup(started=100.0, nworkers=2, hang_timeout=5.0)
    assert s.hung(100.0 + STARTUP_TIMEOUT, [0, 1]) == {}
    hung = s.hung(100.0 + STARTUP_TIMEOUT + 0.1, [0, 1])
    assert set(hung) == {0, 1} and hung[0].startswith("not ready after 30.1 s")


def test_a_laggard_gets_the_grace_or_twice_what_its_first_sibling_took() -> None:
    """Once one worker is ready, the rest have max(STARTUP_GRACE, 2 x the first's time)."""
    quick = Startup(started=0.0, nworkers=2, hang_timeout=5.0)
    assert quick.hung(1.0, [1]) == {}  # worker 0 ready after 1 s: grace is 5 s from then
    assert quick.hung(1.0 + STARTUP_GRACE, [1]) == {}
    assert quick.hung(1.0 + STARTUP_GRACE + 0.1, [1]) == {
        1: "not ready 5.1 s after its first sibling"}
    slow = Startup(started=0.0, nworkers=2, hang_timeout=5.0)
    assert slow.hung(4.0, [1]) == {}  # a loaded machine: the first took 4 s, so 8 s of grace
    assert slow.hung(11.9, [1]) == {} and 1 in slow.hung(12.1, [1])


def test_a_stopped_worker_is_a_hang_after_the_hang_timeout_of_being_stopped() -> None:
    """Stopped (SIGSTOP, a debugger) longer than the hang timeout: hung, with why; a worker
    that resumes starts its count again."""
    s = Startup(started=0.0, nworkers=2, hang_timeout=2.0)
    stopped = {1: psutil.STATUS_STOPPED}
    assert s.hung(0.5, [0, 1], stopped) == {}
    assert s.hung(1.0, [0, 1], {1: psutil.STATUS_RUNNING}) == {}  # resumed: forgotten
    assert s.hung(1.5, [0, 1], stopped) == {}
    assert s.hung(3.4, [0, 1], stopped) == {}
    assert s.hung(3.6, [0, 1], stopped) == {1: "stopped for 2.1 s before ready"}


def test_a_heartbeat_that_moves_is_never_a_hang() -> None:
    """A worker whose beat changes every look is alive however long the run."""
    h = Heartbeats(hang_timeout=1.0)
    h.start(2, now=0.0)
    for t in range(1, 50):
        assert h.hung(float(t), [t, t]) == {}


def test_a_heartbeat_that_stands_still_is_a_hang_after_the_timeout() -> None:
    """The beat stands still from t=1: hung just after t=1+timeout, the other worker not."""
    h = Heartbeats(hang_timeout=1.0)
    h.start(2, now=0.0)
    assert h.hung(1.0, [7, 1]) == {}
    assert h.hung(1.9, [7, 2]) == {}
    assert h.hung(2.1, [7, 3]) == {0: "no heartbeat for 1.10 s"}


def test_parked_time_is_excused() -> None:
    """An audit's pause restarts every worker's clock: parked is not hung."""
    h = Heartbeats(hang_timeout=1.0)
    h.start(1, now=0.0)
    h.excuse(5.0)
    assert h.hung(5.9, [0]) == {} and h.hung(6.1, [0]) == {0: "no heartbeat for 1.10 s"}
