"""Writing scenarios: every role documented, and `pagerace new` giving one that passes."""

from __future__ import annotations

from pathlib import Path

import pytest
from e2e import pagerace, summaries

from stress.roles import ROLES
from stress.scenario import ScenarioError, load_scenario
from stress.sourcedoc import getdoc
from stress.surfaces.authoring import new_scenario

ROOT = Path(__file__).parent.parent


@pytest.mark.parametrize("name", list(ROLES))
def test_every_operation_and_parameter_is_explained(name: str) -> None:
    """`pagerace roles` has a line for each op and parameter: none may be missing."""
    cls = ROLES[name]
    assert getdoc(cls), name
    for op in cls.OPS:
        assert getdoc(getattr(cls, op)), f"{name}.{op} has no docstring"
    for param in cls.PARAMS:
        assert cls.PARAM_HELP.get(param), f"{name}.{param} has no PARAM_HELP"


def test_roles_command_lists_every_role(tmp_path: Path) -> None:
    """The roles table names every role, op and parameter."""
    out = pagerace("roles", cwd=tmp_path).stdout
    for name, cls in ROLES.items():
        assert name in out and all(op in out for op in cls.OPS)
        assert all(p in out for p in cls.PARAMS)


@pytest.mark.xdist_group("e2e")
def test_new_scenario_passes_as_written(tmp_path: Path) -> None:
    """`pagerace new NAME` writes NAME.toml here, and it runs clean."""
    res = pagerace("new", "my-scenario", cwd=tmp_path)
    assert res.returncode == 0 and (tmp_path / "my-scenario.toml").is_file(), res.stderr
    run = pagerace("run", "my-scenario.toml", "--duration", "0.5", "--out", "runs",
                   cwd=tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    [s] = summaries(tmp_path / "runs")
    assert s["scenario"] == "my-scenario" and s["verdict"] == "pass"


def test_new_from_a_scenario_keeps_it_but_the_name(tmp_path: Path) -> None:
    """--from copies a scenario under the new name; the copy loads and expects the same."""
    source = ROOT / "scenarios" / "c03-stale-checked.toml"
    path = new_scenario("my-c03", source, tmp_path)
    copy, original = load_scenario(path), load_scenario(source)
    assert copy.name == "my-c03" and copy.expect == original.expect
    assert copy.model == original.model


@pytest.mark.parametrize(("name", "needle"), [("../x", "is not a portable name"),
                                               ("taken", "already exists")])
def test_new_refuses_a_bad_or_taken_name(tmp_path: Path, name: str, needle: str) -> None:
    """A name that is no file name, or a file that exists, is refused; nothing is overwritten."""
    (tmp_path / "taken.toml").write_text("keep me")
    with pytest.raises(ScenarioError, match=needle):
        new_scenario(name, None, tmp_path)
    assert (tmp_path / "taken.toml").read_text() == "keep me"


def test_new_on_a_full_disk_leaves_no_empty_file(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A write that fails half-way (ENOSPC) removes the file: the name stays free."""
    import errno

    real_open = Path.open

    class Full:
        """A file on a full disk: it opens, and every write fails."""

        def __init__(self, f: object) -> None:
            self.f = f

        def write(self, text: str) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def __enter__(self) -> Full:
            return self

        def __exit__(self, *exc: object) -> None:
            self.f.close()  # type: ignore[attr-defined]

    monkeypatch.setattr(Path, "open", lambda self, *a, **k: Full(real_open(self, *a, **k)))
    with pytest.raises(ScenarioError, match="cannot write: No space left on device"):
        new_scenario("mine", None, tmp_path)
    monkeypatch.undo()
    assert not (tmp_path / "mine.toml").exists()
    assert new_scenario("mine", None, tmp_path) == tmp_path / "mine.toml"
