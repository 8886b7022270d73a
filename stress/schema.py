"""The scenario schema: every key a scenario file may hold, as JSON Schema.

Built from the declarations the loader itself uses (each table's fields, declared
with their defaults, bounds, choices and help by `stress.keys.key`; the roles'
operations and parameters; the anomaly kinds), so the two cannot say different
things about a key: a property test holds the loader and the schema to the same
answers (the loader does not run the schema: one validation path), and
`docs/scenarios.md` is generated from it
(`pagerace schema --markdown`).  `pagerace schema` prints it for editors
(taplo / Even Better TOML read a `#:schema path` first line).
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING
from typing import Any

from stress.anomalies import KINDS
from stress.keys import Key, keys
from stress.model.config import DELAY_POINTS, ModelConfig
from stress.roles import ROLES
from stress.scenario import (
    DEFAULT_BACKEND,
    MAX_ROLE_COUNT,
    MAX_SEEDS,
    PARAM_RANGES,
    Expect,
    ExploreSpec,
    RunSpec,
    Scenario,
    Sizes,
    field_kind,
)
from stress.schemes import DEFAULT_SCHEME
from stress.sourcedoc import getdoc

SCHEMA_ID = "https://pagerace.invalid/scenario.schema.json"
NO_CONTROL = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"

# The keys that are not a table's fields: the role table's own.
ROLE_KEYS = {
    "role": "the kind of actor (pagerace roles lists them)",
    "count": "how many actors of this kind",
    "mix": "operation weights, merged over the role's defaults",
}


def _number(kind: type, lo: float, hi: float) -> dict[str, Any]:
    return {"type": "integer" if kind is int else "number", "minimum": lo, "maximum": hi}


def _key(f: Any, k: Key) -> dict[str, Any]:
    """A scalar key's schema, from its declaration (stress/keys.py)."""
    if k.power_of_two:
        assert k.hi is not None
        p: dict[str, Any] = {"enum": [1 << i for i in range(int(k.hi).bit_length())]}
    elif k.choices:
        p = {"enum": list(k.choices)}
    elif field_kind(f) is bool:
        p = {"type": "boolean"}
    elif field_kind(f) is str:
        p = {"type": "string", "minLength": 1}
    else:
        assert k.lo is not None and k.hi is not None
        p = _number(field_kind(f), k.lo, k.hi)
    if f.default is not MISSING:
        p["default"] = f.default
    return p | {"description": k.help}


def _table(cls: type, special: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Every key of a table: its declaration's schema, or the one given for it."""
    special = special or {}
    return {name: special[name] | {"description": k.help} if name in special else _key(f, k)
            for name, (f, k) in keys(cls).items()}


def _model() -> dict[str, Any]:
    delays = keys(ModelConfig)["delays"][1]
    props = _table(ModelConfig, {
        "scheme": {"type": "string", "minLength": 1, "default": DEFAULT_SCHEME},
        "delays": {"type": "object", "additionalProperties": False, "default": {},
                   "properties": {k: {"type": "number", "minimum": delays.lo,
                                      "maximum": delays.hi, "description": v}
                                  for k, v in DELAY_POINTS.items()}}})
    f, backend = _scenario_keys()["backend"]
    props["backend"] = {"enum": list(backend.choices), "default": DEFAULT_BACKEND,
                        "description": backend.help}
    props |= _table(Sizes)
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": "the model: which scheme, memcg mode, checks, faults and sizes"}


def _scenario_keys() -> dict[str, tuple[Any, Key]]:
    return {name: (f, k) for name, (f, k) in keys(Scenario).items()}


def _role(name: str) -> dict[str, Any]:
    cls = ROLES[name]
    props: dict[str, Any] = {
        "role": {"const": name, "description": ROLE_KEYS["role"]},
        "count": {"type": "integer", "minimum": 1, "maximum": MAX_ROLE_COUNT, "default": 1,
                  "description": ROLE_KEYS["count"]},
        "mix": {"type": "object", "additionalProperties": False,
                "description": ROLE_KEYS["mix"],
                "properties": {op: {"type": "number", "minimum": 0, "maximum": 1e9,
                                    "default": w} for op, w in cls.OPS.items()}},
    }
    for p, (kind, default) in cls.PARAMS.items():
        schema = {"type": "boolean"} if kind is bool else _number(kind, *PARAM_RANGES[kind])
        props[p] = schema | {"default": default, "description": cls.PARAM_HELP.get(p, "")}
    return {"type": "object", "required": ["role"], "additionalProperties": False,
            "properties": props, "title": name}


def _run() -> dict[str, Any]:
    seeds = keys(RunSpec)["seeds"][1]
    assert seeds.lo is not None and seeds.hi is not None
    props = _table(RunSpec, {"seeds": {"type": "array", "minItems": 1, "maxItems": MAX_SEEDS,
                                       "items": _number(int, seeds.lo, seeds.hi),
                                       "default": list(RunSpec().seeds)}})
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": getdoc(RunSpec).split(": ", 1)[1].rstrip(".")}


def _explore() -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "properties": _table(ExploreSpec),
            "description": "the explorer (pagerace explore): strategy, bounds and its own small "
                           "sizes; the stress run ignores it"}


def _expect() -> dict[str, Any]:
    kinds = {"type": "array", "items": {"enum": list(KINDS)}}
    props = _table(Expect, {"detect": kinds, "forbid": kinds,
                            "lost_recycles": {"type": "boolean"}})
    return {
        "type": "object", "additionalProperties": False, "properties": props,
        "description": getdoc(Expect).split(": ", 1)[1].rstrip("."),
        "oneOf": [
            {"properties": {"clean": {"const": True}, "detect": {"maxItems": 0},
                            "forbid": {"maxItems": 0}}, "required": ["clean"]},
            {"properties": {"clean": {"const": False}, "detect": {"minItems": 1}},
             "required": ["detect"]},
        ],
    }


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12)."""
    top = _scenario_keys()
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "pagerace scenario",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "roles", "expect"],
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$",
                     "description": top["name"][1].help},
            "description": {"type": "string", "maxLength": 4096, "pattern": NO_CONTROL,
                            "default": "", "description": top["description"][1].help},
            "claim": {"type": "string", "maxLength": 64,
                      "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", "default": "",
                      "description": top["claim"][1].help},
            "model": _model(),
            "roles": {"type": "array", "minItems": 1,
                      "description": "the actors: one [[roles]] table per kind",
                      "items": {"oneOf": [_role(name) for name in ROLES]}},
            "run": _run(),
            "expect": _expect(),
            "explore": _explore(),
        },
    }


def schema_json() -> str:
    return json.dumps(scenario_schema(), indent=2) + "\n"


def schema_errors(data: Any) -> list[str]:
    """`key: reason` for each way `data` breaks the schema (best match first)."""
    from jsonschema import Draft202012Validator
    from jsonschema.exceptions import best_match

    validator = Draft202012Validator(scenario_schema())
    errors = list(validator.iter_errors(data))
    # TOML has nan and inf, JSON has not, so JSON Schema cannot refuse them: checked here.
    found = [f"{path}: {v} is not a finite number" for path, v in _non_finite(data, "")]
    if errors:
        first = best_match(errors)
        ordered = [first] + [e for e in errors if e is not first]
        found += [f"{'.'.join(str(p) for p in e.absolute_path) or '(top)'}: {e.message}"
                  for e in ordered]
    return found


def _non_finite(data: Any, path: str) -> list[tuple[str, float]]:
    if isinstance(data, float) and not math.isfinite(data):
        return [(path or "(top)", data)]
    items = data.items() if isinstance(data, dict) else enumerate(data) \
        if isinstance(data, list) else ()
    return [hit for k, v in items for hit in _non_finite(v, f"{path}.{k}" if path else str(k))]


def markdown() -> str:
    """The scenario reference (docs/scenarios.md), generated from the schema."""
    s = scenario_schema()
    out = ["# Scenario reference",
           "",
           "Generated from the scenario schema by `pagerace schema --markdown`; a test fails",
           "when this page and the schema differ. `pagerace schema` prints the schema itself",
           "(JSON Schema, for editors: a first line `#:schema path/to/scenario.schema.json`",
           "makes taplo and Even Better TOML validate and complete a scenario file).",
           "",
           "A scenario is one TOML file. Numbers are finite; an integer key takes no",
           "fraction (`2`, not `2.0`); unknown keys are errors.",
           ""]

    def rng(p: dict[str, Any]) -> str:
        if "enum" in p:
            vals = p["enum"]
            if vals and all(isinstance(v, int) for v in vals) and len(vals) > 8:
                return "a power of two, 1 to 2^31"
            return " \\| ".join(f"`{v}`" for v in vals)
        if "minimum" in p:
            lo, hi = p["minimum"], p.get("maximum")
            fmt = (lambda v: f"{v:g}") if isinstance(lo, float) else str
            return f"{fmt(lo)} to {fmt(hi)}" if hi is not None else f"at least {fmt(lo)}"
        if p.get("type") == "array":
            return f"1 to {p.get('maxItems', '')} items".replace("1 to  items", "a list")
        if "const" in p:
            return f"`{p['const']}`"
        return ""

    def kind(p: dict[str, Any]) -> str:
        if "enum" in p:
            return "integer" if all(isinstance(v, int) for v in p["enum"]) else "string"
        return str(p.get("type", "")) or "string"

    def table(title: str, props: dict[str, Any], intro: str = "") -> None:
        out.extend([f"## {title}", ""])
        if intro:
            out.extend([intro, ""])
        out.extend(["| key | type | default | values | meaning |", "|---|---|---|---|---|"])
        for key, p in props.items():
            default = json.dumps(p["default"]) if "default" in p else (
                "unset" if title == "[expect]" else "required")
            out.append(f"| `{key}` | {kind(p)} | {default} | {rng(p)} | "
                       f"{p.get('description', '')} |")
        out.append("")

    top = s["properties"]
    table("Top level", {k: top[k] for k in ("name", "description", "claim")},
          "`name` is required; so are at least one `[[roles]]` table and `[expect]`.")
    table("[model]", top["model"]["properties"], top["model"]["description"] + ".")
    table("[[roles]]", {k: v for k, v in top["roles"]["items"]["oneOf"][0]["properties"].items()
                        if k in ROLE_KEYS},
          "One table per kind of actor. Each role's operations (its `mix` keys) and "
          "parameters:")
    for role in top["roles"]["items"]["oneOf"]:
        name = role["title"]
        cls = ROLES[name]
        props = role["properties"]
        ops = ", ".join(f"`{op}` ({w['default']:g})"
                        for op, w in props["mix"]["properties"].items())
        out.extend([f"### role = \"{name}\"", "", getdoc(cls).splitlines()[0],
                    "", f"Operations (default weight): {ops}.", ""])
        params = {k: v for k, v in props.items() if k not in ROLE_KEYS}
        if params:
            out.extend(["| parameter | type | default | values | meaning |",
                        "|---|---|---|---|---|"])
            for key, p in params.items():
                out.append(f"| `{key}` | {kind(p)} | {json.dumps(p['default'])} | {rng(p)} | "
                           f"{p['description']} |")
            out.append("")
    table("[run]", top["run"]["properties"], top["run"]["description"] + ".")
    table("[expect]", top["expect"]["properties"],
          "Either `clean = true`, or a non-empty `detect` list with an optional `forbid` list; "
          "either may add `lost_recycles`. "
          "The anomaly kinds are those of docs/model.md section 4: "
          + ", ".join(f"`{k}`" for k in KINDS) + ".")
    table("[explore]", top["explore"]["properties"], top["explore"]["description"] + ".")
    return "\n".join(out).rstrip() + "\n"
