"""The mutants and the explorer's bugs still apply to the package as it is now."""

from __future__ import annotations

from pathlib import Path

import pytest
from patches import Patch

import stress

HERE = Path(__file__).parent
PATCHES = sorted([*(HERE / "mutants").glob("*.toml"), *(HERE / "explore_bugs").glob("*.toml")])


@pytest.mark.parametrize("path", PATCHES, ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_patch_applies_once(path: Path) -> None:
    """A refactor of the model must not silently turn a planted bug into a no-op or an error."""
    patch = Patch.load(path)
    source = Path(stress.__file__).parent.parent / patch.file
    assert source.is_file(), patch.file
    assert source.read_text().count(patch.old) == 1, f"{patch.name}: old no longer in {patch.file}"
