"""The layers of docs/design.md are kept by a tool: import-linter's contract in
pyproject.toml, run here on the tree and on a copy with one import pointing up."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINT = Path(sys.executable).parent / "lint-imports"


def _lint(tree: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True,
                          text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "stress", tree / "stress",
                    ignore=shutil.ignore_patterns("*.so", "__pycache__", "*.c"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_the_tree_keeps_its_layers(tmp_path: Path) -> None:
    """Every import in stress/ points down the layers, and the engines stay apart."""
    res = _lint(_copy(tmp_path))
    assert res.returncode == 0, res.stdout[-2000:]
    assert "1 kept, 0 broken" in res.stdout


def test_an_engine_importing_the_other_breaks_the_contract(tmp_path: Path) -> None:
    """The supervisor importing the explorer (siblings) is reported, and fails the lint."""
    tree = _copy(tmp_path)
    sup = tree / "stress" / "processes" / "supervisor.py"
    sup.write_text(sup.read_text() + "\nfrom stress.explore import runner  # noqa\n")
    res = _lint(tree)
    assert res.returncode == 1
    assert "BROKEN" in res.stdout and "stress.processes.supervisor -> stress.explore.runner" \
        in res.stdout, res.stdout[-2000:]


def test_a_lower_layer_importing_a_higher_one_breaks_the_contract(tmp_path: Path) -> None:
    """The model importing the checks (above it) is reported, and fails the lint."""
    tree = _copy(tmp_path)
    page_ref = tree / "stress" / "model" / "page_ref.py"
    page_ref.write_text(page_ref.read_text() + "\nimport stress.checks.audit  # noqa\n")
    res = _lint(tree)
    assert res.returncode == 1 and "stress.model.page_ref -> stress.checks.audit" in res.stdout
