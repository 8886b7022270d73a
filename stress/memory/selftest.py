"""Cross-process exercises of the memory interface.

Used by `pagerace bench atomics` and by the tests that prove the backends
really are (or, for `racy`, really are not) atomic between processes.  Each
runs in a child that attaches to the arena by handle, waits on a start word so
that both children race from the same moment, and leaves its result in a slot.
"""

from __future__ import annotations

import time

from stress.memory.arena import Arena, ArenaHandle
from stress.memory.backends import Memory

# Words of the scratch area (the globals region's tail is unused by the model).
START, RESULT0 = 8, 10


def _wait_start(arena: Arena) -> None:
    start = arena.layout.globals + START
    while arena.atomic.load(start) == 0:
        time.sleep(0)


def time_fetch_adds(mem: Memory, slot: int, n: int) -> int:
    """Nanoseconds for n fetch_add calls on one slot: the loop a benchmark times."""
    fa = mem.fetch_add
    t0 = time.perf_counter_ns()
    for _ in range(n):
        fa(slot, 1)
    return time.perf_counter_ns() - t0


def fetch_add_loop(handle: ArenaHandle, slot: int, n: int, who: int) -> None:
    """Add 1 to `slot` n times; store the elapsed ns in result slot `who`."""
    arena = Arena.attach(handle)
    try:
        _wait_start(arena)
        elapsed = time_fetch_adds(arena.memory, slot, n)
        arena.atomic.store(arena.layout.globals + RESULT0 + who, elapsed)
    finally:
        arena.close()


def tryget_put_loop(handle: ArenaHandle, slot: int, n: int, who: int, final_put_at: int) -> None:
    """tryget/put pairs on a refcount; at iteration final_put_at drop the base reference.

    Result slot `who` counts trygets that saw a negative count or resurrected a
    count that had reached zero for good (after the base reference was dropped
    and no transient reference could exist): both impossible with real atomics.
    """
    arena = Arena.attach(handle)
    try:
        mem = arena.memory
        bad = 0
        _wait_start(arena)
        for k in range(n):
            if k == final_put_at:
                mem.fetch_add(slot, -1)
            old = mem.add_unless(slot, 1, 0)
            if old < 0:
                bad += 1
            if old != 0:
                if mem.fetch_add(slot, -1) <= 0:
                    bad += 1
        arena.atomic.store(arena.layout.globals + RESULT0 + who, bad)
    finally:
        del mem
        arena.close()


def race(arena: Arena, target: object, args_per_child: list[tuple[object, ...]],
         start_method: str = "forkserver", timeout: float = 120.0) -> list[int]:
    """Run target in one child per args tuple, released together; their result slots."""
    import multiprocess

    ctx = multiprocess.get_context(start_method)
    g = arena.layout.globals
    arena.atomic.store(g + START, 0)
    procs = [ctx.Process(target=target, args=(arena.handle(), *a)) for a in args_per_child]
    for p in procs:
        p.start()
    time.sleep(0.05)
    arena.atomic.store(g + START, 1)
    for p in procs:
        p.join(timeout)
        if p.exitcode != 0:
            for q in procs:
                q.kill()
            raise RuntimeError(f"selftest child exited with {p.exitcode}")
    return [arena.atomic.load(g + RESULT0 + k) for k in range(len(procs))]
