"""Each scenario key declared once: the loader, the schema and the CLI read one declaration."""

from __future__ import annotations

from dataclasses import dataclass, fields

import pytest

from stress.keys import help_of, key, keys
from stress.model.config import ModelConfig
from stress.scenario import (
    Expect,
    ExploreSpec,
    RunSpec,
    ScenarioError,
    Sizes,
    _parse_table,
)
from stress.schema import scenario_schema
from stress.surfaces.cli import UsageError, build_parser


@pytest.mark.parametrize("cls", [ModelConfig, Sizes, RunSpec, Expect, ExploreSpec],
                         ids=lambda c: c.__name__)
def test_every_field_of_a_table_is_a_declared_key(cls: type) -> None:
    """A field without a declaration would be a key nothing documents or checks."""
    assert list(keys(cls)) == [f.name for f in fields(cls)]
    assert all(k.help for _, k in keys(cls).values())


@dataclass(frozen=True)
class Demo:
    n: int = key(1, lo=0, hi=3, help="a small count")
    mode: str = key("a", choices=("a", "b"), help="one of two")
    on: bool = key(False, help="a switch")


@pytest.mark.parametrize("table, error", [
    ({"n": 5}, "f.toml: t.n: must be in [0, 3], got 5"),
    ({"n": 1.5}, "f.toml: t.n: expected int, got float 1.5"),
    ({"mode": "c"}, "f.toml: t.mode: must be one of a, b, got 'c'"),
    ({"on": 1}, "f.toml: t.on: expected bool, got int 1"),
])
def test_the_one_table_parser_checks_what_the_declaration_says(table: dict[str, object],
                                                               error: str) -> None:
    """Type, bounds and choices come from the field's declaration, for any table."""
    with pytest.raises(ScenarioError) as e:
        _parse_table("f.toml", "t.", table, Demo)
    assert str(e.value) == error
    assert _parse_table("f.toml", "t.", {"n": 3, "mode": "b"}, Demo) == {"n": 3, "mode": "b"}


def test_the_schema_and_the_cli_say_what_the_declaration_says() -> None:
    """The same help and bounds in the JSON Schema and on the command line."""
    run = scenario_schema()["properties"]["run"]["properties"]
    assert run["duration"]["description"] == help_of(RunSpec, "duration")
    assert (run["workers"]["minimum"], run["workers"]["maximum"]) == (1, 1024)
    explore = scenario_schema()["properties"]["explore"]["properties"]
    assert explore["depth"]["maximum"] == keys(ExploreSpec)["depth"][1].hi
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices  # type: ignore[union-attr]
    by_flag = {o: a for a in sub["run"]._actions for o in a.option_strings}
    assert by_flag["--duration"].help == help_of(RunSpec, "duration")
    by_flag = {o: a for a in sub["explore"]._actions for o in a.option_strings}
    assert by_flag["--preemptions"].help == help_of(ExploreSpec, "preemptions")
    with pytest.raises(UsageError, match=r"--depth: must be in \[1, 16\], got 17"):
        parser.parse_args(["explore", "--depth", "17"])
