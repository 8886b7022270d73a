"""Every pair of roles that can share a page meets in some clean scenario, in both engines."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import ClassVar

from stress.roles import ROLES
from stress.roles.base import Actor
from stress.roles.pairs import shared_through, sharing_pairs
from stress.scenario import load_scenario
from stress.surfaces.role_pairs import pair_coverage

SUITE = sorted((Path(__file__).resolve().parent.parent / "scenarios").glob("*.toml"))


def _role(name: str, shares: set[str]) -> type[Actor]:
    class R(Actor):
        SHARES: ClassVar[frozenset[str]] = frozenset(shares)

    R.name = name
    return R


def test_holding_the_same_structure_is_sharing() -> None:
    """Two roles that take pages from one structure share them through it."""
    assert shared_through(_role("a", {"pte"}), _role("b", {"pte", "free"})) == ["pte"]


def test_a_free_feeding_an_allocation_is_sharing() -> None:
    """A page one role frees can be the page the other allocates: shared over its reuse."""
    assert shared_through(_role("a", {"free"}), _role("b", {"alloc"})) == ["free, then alloc"]
    assert shared_through(_role("a", {"free"}), _role("b", {"free"})) == []


def test_any_page_meets_everyone() -> None:
    """A role that may take any page shares with every role, even one that only holds."""
    assert shared_through(_role("s", {"any"}), _role("b", {"cache"})) == ["any page (s)"]


def test_roles_that_never_hold_the_same_page_are_not_a_pair() -> None:
    """The page-cache reader and the zerocopy application have no page in common."""
    pairs = sharing_pairs(ROLES)
    assert ("zerocopy", "reader") not in pairs and ("reader", "gup") not in pairs
    assert ("zerocopy", "gup") in pairs and pairs["reader", "truncater"][0] == "cache"


def test_the_suite_meets_every_pair_in_both_engines() -> None:
    """Each sharing pair has a clean scenario with both roles, and an explorer group with both."""
    covers = pair_coverage([load_scenario(p) for p in SUITE])
    assert len(covers) == len(sharing_pairs(ROLES)) > 0
    assert [c.pair for c in covers if not c.met] == []


def test_a_suite_that_misses_a_pair_says_so(tmp_path: Path) -> None:
    """Without the one scenario that has every role, pairs go unmet and the command exits 1."""
    rest = [p for p in SUITE if p.stem != "c04-owner-priv-1-checked-clean"]
    unmet = [c.pair for c in pair_coverage([load_scenario(p) for p in rest]) if not c.met]
    assert ("reader", "swapcache") in unmet
    proc = subprocess.run([sys.executable, "-m", "stress", "roles", "--pairs", *map(str, rest)],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    assert "not: " in proc.stdout and "reader + swapcache" in proc.stdout.splitlines()[-1]


def test_a_clean_scenario_that_explores_pairs_apart_does_not_meet_them(tmp_path: Path) -> None:
    """Stress meets a pair the explorer's single actor never schedules with its partner."""
    scn = tmp_path / "s.toml"
    scn.write_text('name = "s"\n[model]\nscheme = "pg_network"\n'
                   '[[roles]]\nrole = "zerocopy"\n[[roles]]\nrole = "gup"\n'
                   '[[roles]]\nrole = "nic"\n'
                   '[run]\nworkers = 2\n[expect]\nclean = true\n[explore]\nactors = 1\n')
    [c] = [c for c in pair_coverage([load_scenario(scn)]) if c.pair == ("zerocopy", "gup")]
    assert c.stress == ["s"] and c.explore == [] and not c.met
