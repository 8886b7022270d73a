"""Where a reproducer hunt starts: the operations in a stress anomaly's window.

A failing stress run logs its anomaly with the page's history, the trace records
of every worker that touched the page from the window's read on (worker, trace
op).  A worker runs several actors, and a trace op (`put_page`) comes from many
role operations, so the history names no operation by itself.  What each role
operation can trace is observed, not declared: `emissions` runs the scenario's
actors as the explorer's warm-up does, one operation at a time, and records what
each one wrote.  An operation is in the focus when the trace ops its worker's records in the
window are best explained by it (`focus`, a greedy cover); the hunt's programs then
draw from those operations only (`Scenario.focus`, world.py), for the roles that
have any.

A focused program is still a program of the whole scenario (the same operation
indices, the warm-up unchanged), so the token a hunt finds replays on the
scenario file as it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from typing import Any

from stress.explore.world import World, actor_groups
from stress.model.machine import OP_NAMES
from stress.scenario import Scenario

SEEDS = 4  # warm-ups observed per group of actors
ROUNDS = 64  # operations per actor in each


Focus = dict[str, tuple[str, ...]]  # role -> the operations its programs draw from


def emissions(scn: Scenario, seeds: int = SEEDS,
              rounds: int = ROUNDS) -> dict[str, dict[str, frozenset[str]]]:
    """role -> operation -> the trace ops (machine.Op names) it was seen to write."""
    seen: dict[str, dict[str, set[str]]] = {}
    for group in actor_groups(scn, scn.explore.actors):
        world = World(replace(scn, focus=()), group)
        try:
            for seed in range(1, seeds + 1):
                for spec, ops in zip(world.plan.actors, world.emissions(seed, rounds),
                                     strict=True):
                    role = seen.setdefault(spec.role, {})
                    for name, codes in ops.items():
                        role.setdefault(name, set()).update(OP_NAMES[c] for c in codes)
        finally:
            world.close()
    return {r: {op: frozenset(t) for op, t in ops.items()} for r, ops in seen.items()}


def window_ops(history: Iterable[Mapping[str, Any]],
               roles_on: Mapping[int, set[str]]) -> dict[str, set[str]]:
    """role -> the trace ops its workers (worker -> its roles) wrote in the window (a
    worker's records count for every role it runs: which actor wrote one is not traced)."""
    out: dict[str, set[str]] = {}
    for rec in history:
        for role in roles_on.get(int(rec["worker"]), ()):
            out.setdefault(role, set()).add(str(rec["op"]))
    return out


def focus(window: Mapping[str, set[str]],
          emitted: Mapping[str, Mapping[str, frozenset[str]]]) -> Focus:
    """Each role's fewest operations that write what its workers wrote in the window.

    A greedy cover of the window's trace ops (those the role writes at all): the
    operations that write the most of what is left, all of them on a tie, until
    nothing is left.  A `put_page` alone, which every operation may write, chooses them
    all: a role whose cover is every operation, or empty, is left out (whole).
    """
    out: Focus = {}
    for role, seen in sorted(window.items()):
        writes = emitted.get(role, {})
        left = seen & frozenset().union(*writes.values())
        chosen: list[str] = []
        while left:
            most = max(len(w & left) for w in writes.values())
            ties = [op for op, w in writes.items() if len(w & left) == most and op not in chosen]
            chosen += ties
            left -= frozenset().union(*(writes[op] for op in ties))
        if chosen and len(chosen) < len(writes):
            out[role] = tuple(op for op in writes if op in chosen)
    return out


def focused(scn: Scenario, f: Focus) -> Scenario:
    """The scenario whose programs draw from `f` only (and whose schedules are the same)."""
    return replace(scn, focus=tuple(sorted(f.items())))
