"""Admission: refuse a run the machine cannot hold, before its arena exists.

An arena larger than `/dev/shm` dies of SIGBUS when a worker first touches a
page past the end; one larger than memory brings the OOM killer, which may as
well end something else.  Both are decided here from the layout, which is a
pure function of the sizes, and refused in one line naming the keys to lower.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

import psutil

from stress.memory.arena import SHM_DIR
from stress.memory.layout import CTRL_WORDS, PAGE_WORDS, TRACE_WORDS, WORD, Layout
from stress.runs.plan import Plan

WORKER_BYTES = 48 << 20  # a worker's own resident memory besides the arena (measured: ~41 MiB)
SHM_HEADROOM = 0.9  # of /dev/shm's free space
MIN_FREE_MEMORY = 512 << 20  # memory left for everything else, at the least
WORKERS_PER_CPU = 4


@dataclass(frozen=True)
class Admission:
    arena_bytes: int
    memory_bytes: int  # the arena plus the workers
    shm_free: int
    memory_available: int
    refusal: str | None  # why the run does not fit, or None
    warning: str | None  # fits, but will not race as the scenario means


def size_text(n: int) -> str:
    for unit, scale in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


def _keys_to_lower(layout: Layout, *, processes: bool) -> list[str]:
    """The scenario keys behind the largest parts of the footprint, largest first.

    With `processes`, the workers' own memory counts too (a memory shortage);
    without, only the arena does (a /dev/shm shortage).
    """
    c = layout.config
    parts = {
        "run.workers": c.nworkers * (layout.worker_words * WORD
                                     + (WORKER_BYTES if processes else 0)),
        "model.pages": c.npages * (PAGE_WORDS + 2) * WORD,
        "model.trace_entries": c.nworkers * c.trace_entries * TRACE_WORDS * WORD,
        "model.ledger_size": c.nworkers * (c.ledger_size + CTRL_WORDS) * WORD,
    }
    return [k for k, _ in sorted(parts.items(), key=lambda kv: -kv[1])][:3]


def admit(plan: Plan) -> Admission:
    """Whether the run fits in `/dev/shm` and memory with headroom."""
    layout = Layout.of(plan.config)
    arena = layout.nbytes
    memory = arena + plan.config.nworkers * WORKER_BYTES
    try:
        shm_free = shutil.disk_usage(SHM_DIR).free
    except OSError:
        shm_free = 0
    vm = psutil.virtual_memory()
    spare = max(MIN_FREE_MEMORY, vm.total // 10)
    refusal = None
    short_of_shm = arena > shm_free * SHM_HEADROOM
    if short_of_shm or memory + spare > vm.available:
        refusal = (f"needs {size_text(arena)} of shared memory and {size_text(memory)} with "
                   f"its {plan.config.nworkers:,} workers, but {SHM_DIR} has "
                   f"{size_text(shm_free)} free and {size_text(vm.available)} of memory is "
                   "available; lower "
                   + ", ".join(_keys_to_lower(layout, processes=not short_of_shm)))
    cpus = os.cpu_count() or 1
    warning = None
    if plan.config.nworkers > WORKERS_PER_CPU * cpus:
        warning = (f"{plan.config.nworkers} workers on {cpus} CPUs: more than "
                   f"{WORKERS_PER_CPU} per CPU mostly wait for a CPU and race less")
    return Admission(arena, memory, shm_free, vm.available, refusal, warning)
