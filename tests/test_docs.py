"""The repository stands on its own: its docs name what is there, and nothing outside it."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_every_scenario_is_named_in_the_claims_table() -> None:
    """docs/model.md lists every scenario file of the suite, and no file that is gone."""
    text = (ROOT / "docs" / "model.md").read_text()
    named = set(re.findall(r"`(c\d\d-[a-z0-9-]+\.toml)`", text))
    assert named == {p.name for p in (ROOT / "scenarios").glob("*.toml")}


def test_every_model_module_has_its_kernel_counterpart() -> None:
    """Each module of stress/model (but the plumbing) is in docs/model.md's table."""
    text = (ROOT / "docs" / "model.md").read_text()
    plumbing = {"__init__.py", "config.py", "machine.py"}
    for path in (ROOT / "stress" / "model").glob("*.py"):
        if path.name not in plumbing:
            assert f"`{path.name}`" in text, path.name


def test_nothing_points_outside_the_repository() -> None:
    """No file refers to ../shared or to the design notes the repository does not hold."""
    pattern = re.compile(r"\.\./shared|\bDESIGN\.md|\bMODEL\.md")
    for folder in ("stress", "docs", "tests", "examples", "scenarios"):
        for path in (ROOT / folder).rglob("*"):
            if path.is_file() and path.suffix in {".py", ".md", ".toml", ".json"} \
                    and path.name != "test_docs.py":
                assert not pattern.search(path.read_text()), path
    assert not pattern.search((ROOT / "README.md").read_text())


def test_markdown_links_inside_the_repository_resolve() -> None:
    """Every relative link in the README and docs/ names a file that exists."""
    for md in [ROOT / "README.md", *(ROOT / "docs").glob("*.md"), ROOT / "examples" / "README.md"]:
        for target in re.findall(r"\]\(([^)#:]+)\)", md.read_text()):
            assert (md.parent / target).exists(), f"{md.name}: {target}"


def test_every_flag_of_the_model_is_in_the_docs() -> None:
    """docs/model.md names every PG_ flag the model defines."""
    from stress.model import flags as F

    text = (ROOT / "docs" / "model.md").read_text()
    names = [n for n in vars(F) if n.startswith("PG_")]
    assert names and all(f"`{n}`" in text for n in names), [
        n for n in names if f"`{n}`" not in text]


def test_every_kind_says_who_would_notice_in_model_md() -> None:
    """docs/model.md section 4 gives each kind's origin and words as stress.anomalies has them."""
    from stress.anomalies import VOICES

    text = (ROOT / "docs" / "model.md").read_text()
    for kind, v in VOICES.items():
        origin = v.origin + (" (with page checks)" if v.needs_checks else "")
        assert f"| `{kind.value}` | {origin} | {v.says.replace('|', '/')} |" in text, kind
