"""`pagerace roles --pairs`: every pair of roles that can share a page, and the clean
scenarios where it meets, under each engine.

Stress meets a pair in a clean scenario that has both roles; the explorer in one
whose actor groups (`explore.world.actor_groups`, within its `[explore] actors`) put
both in the same schedule.  A pair no clean scenario meets is a bug class neither
engine can see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from stress.explore.world import actor_groups, group_roles
from stress.roles import ROLES
from stress.roles.pairs import sharing_pairs
from stress.scenario import Scenario


@dataclass(frozen=True)
class PairCover:
    pair: tuple[str, str]
    how: list[str]
    stress: list[str]  # clean scenarios where both roles race
    explore: list[str]  # clean scenarios where the explorer schedules them together

    @property
    def met(self) -> bool:
        return bool(self.stress) and bool(self.explore)


def pair_coverage(scenarios: Sequence[Scenario]) -> list[PairCover]:
    """Each sharing pair of the registered roles, with the clean scenarios meeting it."""
    clean = [s for s in scenarios if s.expect.clean]
    together: dict[str, list[set[str]]] = {}
    for scn in clean:
        named, _ = group_roles(scn, actor_groups(scn, scn.explore.actors))
        together[scn.name] = [set(g) for g in named]
    out = []
    for (a, b), how in sharing_pairs(ROLES).items():
        stress = [s.name for s in clean if {a, b} <= {r.role for r in s.roles}]
        explore = [s.name for s in clean if any({a, b} <= g for g in together[s.name])]
        out.append(PairCover((a, b), how, stress, explore))
    return out


def pairs_table(covers: Sequence[PairCover]) -> Any:
    from rich.table import Table

    table = Table(title="pagerace role pairs that can share a page, and the clean scenarios "
                        "that meet them")
    for col in ("roles", "share a page through", "stress", "explorer"):
        table.add_column(col, overflow="fold")
    for c in covers:
        table.add_row(" + ".join(c.pair), "; ".join(c.how), _names(c.stress),
                      _names(c.explore))
    return table


def _names(names: list[str]) -> str:
    if not names:
        return "[red]none[/]"
    return ", ".join(names[:3]) + (f" (+{len(names) - 3})" if len(names) > 3 else "")
