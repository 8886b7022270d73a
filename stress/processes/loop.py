"""The worker's hot loop, compiled with the model: draw an operation, run it, again.

Kept apart from `worker.py` (process control, logs, signals), which stays
interpreted: this is the one part of the worker that runs per operation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from stress.anomalies import PageBug
from stress.model.ptr_ring import RingStuck

SCHEDULE_BITS: Final = 8  # the schedule holds 2**SCHEDULE_BITS draws


def run_batch(schedule: list[Callable[[], None]], getrandbits: Callable[[int], int],
              batch: int, ring_stuck: Callable[[RingStuck], None]) -> None:
    """Run `batch` operations drawn from `schedule`."""
    i = 0
    while i < batch:
        try:
            while i < batch:
                schedule[getrandbits(SCHEDULE_BITS)]()
                i += 1
        except PageBug:
            i += 1  # VM_BUG_ON: reported; this operation is abandoned
        except RingStuck as e:
            # Each try at a damaged ring costs ~50 ms: end the batch, so the
            # heartbeat and the pause request are seen between them.
            ring_stuck(e)
            i = batch
