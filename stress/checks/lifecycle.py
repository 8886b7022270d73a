"""A model's life, written once: `boot` it over an arena, `finish` it with the final audit.

The supervisor, the explorer, the benchmarks and the tests all start a model the same
way (the memory initialised, a machine, each page pool set up for its owner) and end
it the same way (teardown, then the final audit, which nothing may fail).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from stress.checks.audit import AuditResult, final_audit
from stress.checks.teardown import Report, teardown
from stress.memory import Arena
from stress.model import Machine, ModelConfig, mem_init, page_pool_init
from stress.model.scheme import Scheme


def boot(arena: Arena, config: ModelConfig, scheme: Scheme, report: Report,
         pool_owners: Sequence[int] = (), *, worker: int = -1, trace: bool = False,
         checks: bool = True) -> Machine:
    """A fresh model over `arena`: its memory initialised, then `attach`."""
    mem_init(arena)
    return attach(arena, config, scheme, report, pool_owners, worker=worker, trace=trace,
                  checks=checks)


def attach(arena: Arena, config: ModelConfig, scheme: Scheme, report: Report,
           pool_owners: Sequence[int] = (), *, worker: int = -1, trace: bool = False,
           checks: bool = True) -> Machine:
    """A machine over an initialised arena, each page pool initialised for its owner
    (`pool_owners[k]` owns pool k; none given: pool k by worker 0)."""
    m = Machine(arena, config, scheme, report, worker=worker, trace=trace, checks=checks)
    owners = list(pool_owners) or [0] * arena.layout.config.npools
    for pool, owner in enumerate(owners):
        page_pool_init(m, pool, owner)
    return m


@dataclass
class Finished:
    inflight_at_destroy: dict[int, int]  # pool -> pages still in flight when destroyed
    audit: AuditResult  # the final audit: anything in use after the drain is a leak


def finish(m: Machine, report: Report) -> Finished:
    """Every holder has let go: empty the structures, destroy the pools, audit it all."""
    inflight = teardown(m, report)
    return Finished(inflight, final_audit(m.arena, m.scheme))
