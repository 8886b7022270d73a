"""One schema for scenarios: the loader, the JSON Schema and the generated reference agree."""

from __future__ import annotations

import copy
import json
import math
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from stress.scenario import ScenarioError, parse_scenario
from stress.schema import markdown, scenario_schema, schema_errors, schema_json

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml")) + sorted(
    (ROOT / "examples").glob("*.toml"))


def test_the_schema_is_valid_json_schema() -> None:
    """The schema itself passes the draft 2020-12 metaschema."""
    Draft202012Validator.check_schema(scenario_schema())


def test_generated_reference_and_schema_file_are_current() -> None:
    """docs/scenarios.md and docs/scenario.schema.json are what the schema gives today.

    If this fails: pagerace schema --markdown > docs/scenarios.md
    and pagerace schema > docs/scenario.schema.json
    """
    assert (ROOT / "docs" / "scenarios.md").read_text() == markdown()
    assert (ROOT / "docs" / "scenario.schema.json").read_text() == schema_json()


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_satisfies_the_schema(path: Path) -> None:
    """The suite and the examples validate, as an editor would check them."""
    assert schema_errors(tomllib.loads(path.read_text())) == []


def test_a_broken_file_is_rejected_by_the_schema() -> None:
    """A wrong type, an unknown key and a missing verdict are each a schema error."""
    doc = tomllib.loads((DATA / "clean_pg_network.toml").read_text())
    doc["run"]["workers"] = "two"
    doc["model"]["frob"] = 1
    del doc["expect"]
    errors = schema_errors(doc)
    assert any(e.startswith("run.workers: 'two' is not of type 'integer'") for e in errors)
    assert any("'frob' was unexpected" in e for e in errors)
    assert any("'expect' is a required property" in e for e in errors)


def test_schema_command_prints_the_schema(tmp_path: Path) -> None:
    """`pagerace schema` is the JSON Schema an editor can be pointed at."""
    out = subprocess.run([sys.executable, "-m", "stress", "schema"], capture_output=True,
                         text=True, check=True, cwd=tmp_path).stdout
    assert json.loads(out) == scenario_schema()


# -- the loader and the schema give the same answer -----------------------------------------

BASE = tomllib.loads((DATA / "clean_pg_network.toml").read_text())
INTEGER_KEYS = {k for k, v in scenario_schema()["properties"]["run"]["properties"].items()
                if v.get("type") == "integer"}
PLACES = ([("",), ("name",), ("description",), ("claim",), ("roles",), ("run",),
           ("model",), ("expect",), ("frob",)]
          + [("model", k) for k in scenario_schema()["properties"]["model"]["properties"]]
          + [("model", "frob"), ("model", "delays", "lookup_tryget"), ("model", "delays", "x")]
          + [("run", k) for k in scenario_schema()["properties"]["run"]["properties"]]
          + [("run", "frob"), ("expect", "clean"), ("expect", "detect"), ("expect", "forbid")]
          + [("roles", 0, k) for k in ("role", "count", "mix", "retain", "drop_via_put_page",
                                       "hold", "frob")]
          + [("roles", 1, k) for k in ("map_ratio", "pipe_max")]
          + [("roles", 0, "mix", "rx"), ("roles", 0, "mix", "nope")])
VALUES = st.sampled_from([
    -1, 0, 1, 2, 3, 64, 100, 1000, 1025, (1 << 20) + 1, (1 << 31) - 1, 1 << 31, (1 << 31) + 1,
    1 << 62, (1 << 62) + 1, (1 << 63) - 1,
    0.0, 0.5, 1.5, 2.5, -0.5, 1e-4, 0.05, 1e9 + 1, 7e5, math.nan, math.inf, -math.inf,
    True, False,
    "", "x", "ok-name", ".hidden", "a b", "x" * 70, "C\x1b1", "none", "unmap", "atomic",
    "racy", "bad-page", "lost-update", "nic", "gup", "pg_network", "driver_ref",
    [], [1], [-1], [1, 2], ["bad-page"], ["nope"], [{}],
    {}, {"rx": 1.0}, {"lookup_tryget": 5}, {"role": "nic"}, {"clean": True},
])


def _set(doc: dict[str, Any], place: tuple[Any, ...], value: Any) -> None:
    *parents, last = place
    node: Any = doc
    for key in parents:
        node = node[key] if not isinstance(node, dict) else node.setdefault(key, {})
    if last == "":
        return
    node[last] = copy.deepcopy(value)  # the sampled values are shared between examples


def _semantic_only(place: tuple[Any, ...], value: Any) -> bool:
    """Rules the schema leaves to the loader: a scheme must load; ints have no fraction."""
    if place == ("model", "scheme"):
        return not (isinstance(value, str) and value in ("pg_network", "driver_ref"))
    key = place[-1]
    is_int_key = key in INTEGER_KEYS or key in (
        "lookup_retries", "count", "retain", "hold", "pipe_max", "pages", "cache_slots",
        "pte_slots", "cgroups", "queue_size", "pool_ring_size", "pool_cache_size",
        "ledger_size", "trace_entries")
    return is_int_key and isinstance(value, float) and value.is_integer()


def _property(place: tuple[Any, ...]) -> dict[str, Any]:
    """The schema of the key at `place` ({} where it has none)."""
    node: dict[str, Any] = scenario_schema()
    for key in place:
        if isinstance(key, int):
            node = node.get("items", {}).get("oneOf", [{}])[0 if key == 0 else 1]
        else:
            node = node.get("properties", {}).get(key, {})
    return node


def _boundaries(place: tuple[Any, ...]) -> list[Any]:
    """Each side of every bound the schema states for the key: where drift would show."""
    p = _property(place)
    out: list[Any] = []
    if "minimum" in p:
        step = 1 if p.get("type") == "integer" else 1e-3
        for bound, sign in ((p["minimum"], -1), (p.get("maximum"), 1)):
            if bound is not None:
                out += [bound, bound + sign * step]
    if "enum" in p:
        out += p["enum"][:3] + p["enum"][-2:]
    return out


@st.composite
def _change(draw: st.DrawFn) -> tuple[tuple[Any, ...], Any]:
    place = draw(st.sampled_from(PLACES))
    bounds = _boundaries(place)
    value = draw(st.sampled_from(bounds) if bounds and draw(st.booleans()) else VALUES)
    return place, value


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_change(), min_size=1, max_size=3))
def test_loader_and_schema_accept_the_same_documents(
        changes: list[tuple[tuple[Any, ...], Any]]) -> None:
    """Any document the loader's own checks accept, the schema accepts, and the converse."""
    doc = copy.deepcopy(BASE)
    for place, value in changes:
        assume(not _semantic_only(place, value))
        try:
            _set(doc, place, value)
        except (TypeError, KeyError, IndexError):
            assume(False)
    try:
        parse_scenario(doc, "<doc>")
        loader_ok = True
    except ScenarioError:
        loader_ok = False
    schema_ok = not schema_errors(doc)
    assert loader_ok == schema_ok, (changes, schema_errors(doc)[:1])
