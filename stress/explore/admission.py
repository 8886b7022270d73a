"""Admission for the explorer: refuse a search whose schedules the machine cannot hold.

The work of a search is bounded by its budget (stress/explore/scheduler.py asks the
clock inside a schedule), but not its memory: a reducing strategy keeps state for
every step of the schedule it runs (the step's frame, footprint and vector clock),
so `[explore] max_steps` bounds it.  Refused, like a stress run that does not fit
(stress/runs/admission.py), in one line naming the keys to lower.
"""

from __future__ import annotations

import psutil

from stress.runs.admission import MIN_FREE_MEMORY, WORKER_BYTES, size_text
from stress.scenario import Scenario

# A dpor step's state besides its vector clock: measured ~1.3 kB (c10's control, 4 actors,
# 3,284 steps: 3.7 MB over a 484-step schedule), with room.
STEP_BYTES = 2048
CLOCK_BYTES = 8  # per actor, per step


def schedule_bytes(scn: Scenario) -> int:
    """The most one schedule's state can take: every step up to the bound."""
    x = scn.explore
    return x.max_steps * (STEP_BYTES + CLOCK_BYTES * max(x.actors, x.systematic_actors))


def admit_explore(scn: Scenario, jobs: int) -> str | None:
    """Why `jobs` processes exploring `scn` may not fit in memory, or None."""
    need = jobs * (schedule_bytes(scn) + WORKER_BYTES)
    vm = psutil.virtual_memory()
    spare = max(MIN_FREE_MEMORY, vm.total // 10)
    if need + spare <= vm.available:
        return None
    x = scn.explore
    actors = max(x.actors, x.systematic_actors)
    return (f"explore.max_steps: schedules of up to {x.max_steps:,} steps of "
            f"{actors} actors may need {size_text(need)} with {jobs} job"
            f"{'s' if jobs != 1 else ''}, and {size_text(vm.available)} of memory is "
            "available; lower explore.max_steps (or --jobs)")
