"""From a scenario to an arena: which actor runs where, and what each one owns."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from stress.memory import ArenaConfig
from stress.roles import ROLES, ActorSpec
from stress.scenario import Scenario


@dataclass(frozen=True)
class Plan:
    config: ArenaConfig
    actors: tuple[ActorSpec, ...]
    pool_owners: tuple[int, ...]  # worker id of each pool's NIC (its NAPI context)
    worker_seeds: tuple[int, ...]


def worker_seeds(seed: int, n: int) -> tuple[int, ...]:
    """Independent per-worker seeds derived from the run seed (numpy's SeedSequence)."""
    children = np.random.SeedSequence(seed).spawn(n)
    return tuple(int(c.generate_state(1, np.uint64)[0]) for c in children)


def make_plan(scn: Scenario, seed: int) -> Plan:
    workers = scn.run.workers
    nics = sum(r.count for r in scn.roles if r.role == "nic")
    apps = sum(r.count for r in scn.roles if r.role == "zerocopy")
    nqueues = max(1, nics)
    pte_slots = scn.sizes.pte_slots
    per_app = pte_slots // max(1, apps)
    actors = []
    counters: dict[str, int] = {}
    k = 0
    for role in scn.roles:
        cls = ROLES[role.role]
        for _ in range(role.count):
            i = counters.get(role.role, 0)
            counters[role.role] = i + 1
            spec = ActorSpec(
                role=role.role, index=i, worker=k % workers, mix=dict(role.mix),
                params=dict(role.params),
                pool=i if "pool" in cls.NEEDS else -1,
                queue=i % nqueues if "queue" in cls.NEEDS else -1,
                pte_lo=i * per_app if "pte" in cls.NEEDS else 0,
                pte_hi=(i + 1) * per_app if "pte" in cls.NEEDS else 0,
                memcg=i % scn.sizes.cgroups + 1 if "memcg" in cls.NEEDS else 0,
            )
            actors.append(spec)
            k += 1
    owners = tuple(a.worker for a in actors if a.role == "nic")
    config = scn.sizes.arena_config(nworkers=workers, npools=max(1, nics), nqueues=nqueues,
                                    trace=scn.run.trace)
    return Plan(config, tuple(actors), owners or (-1,), worker_seeds(seed, workers))
