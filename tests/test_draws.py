"""Every random choice a role makes goes through its Draws, which the explorer can search."""

from __future__ import annotations

import ast
import random
from pathlib import Path

from stress.explore.draws import Branching
from stress.roles.base import Draws

ROLES = Path(__file__).resolve().parent.parent / "stress" / "roles"
RANDOM_CALLS = {"random", "randrange", "randint", "choice", "choices", "getrandbits", "shuffle",
                "sample", "uniform"}


def _stray_draws(path: Path) -> list[str]:
    """Calls of a random method in a role module, outside Draws and build_schedule."""
    tree = ast.parse(path.read_text())
    allowed: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)) and node.name in (
                "Draws", "build_schedule"):
            allowed |= {id(n) for n in ast.walk(node)}
    return [f"{path.name}:{n.lineno}: {ast.unparse(n)}" for n in ast.walk(tree)
            if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
            and n.func.attr in RANDOM_CALLS and id(n) not in allowed]


def test_no_role_draws_around_its_draws() -> None:
    """A role that called its random stream itself would be invisible to draws = every."""
    found = [s for p in sorted(ROLES.glob("*.py")) for s in _stray_draws(p)]
    assert found == []


def test_the_guard_sees_a_role_drawing_for_itself(tmp_path: Path) -> None:
    """The check fires on a role that picks a page with its own random stream."""
    bad = tmp_path / "bad.py"
    bad.write_text("class Bad:\n    def op(self):\n        return int(self.rng.random() * 4)\n")
    assert _stray_draws(bad) == ["bad.py:3: self.rng.random()"]


def test_draws_and_branching_agree_on_what_a_draw_is() -> None:
    """pick(n) is one of n values and chance(p) a yes or no; branching asks the strategy only
    when there is a choice, and records each answer."""
    d = Draws(random.Random(1))
    assert all(0 <= d.pick(5) < 5 for _ in range(100)) and d.pick(0) == 0
    assert d.chance(1.0) and not d.chance(0.0)
    asked: list[tuple[int, int]] = []
    taken: list[int] = []
    b = Branching(random.Random(1), 3, lambda actor, n: asked.append((actor, n)) or n - 1, taken)
    assert (b.pick(1), b.pick(4), b.chance(0.0), b.chance(1.0), b.chance(0.5)) == (
        0, 3, False, True, False)
    assert asked == [(3, 4), (3, 2)] and taken == [3, 1]
