"""The scenario schema: every key a scenario file may hold, as JSON Schema.

Built from the tables the loader itself uses (the dataclasses' fields and
defaults, `RUN_RANGES`, the roles' operations and parameters, the anomaly
kinds), so the two cannot say different things about a key: `load_scenario`
validates each document against it after its own checks, a property test holds
the two to the same answers, and `docs/scenarios.md` is generated from it
(`pagerace schema --markdown`).  `pagerace schema` prints it for editors
(taplo / Even Better TOML read a `#:schema path` first line).
"""

from __future__ import annotations

import json
import math
from dataclasses import MISSING, fields
from typing import Any

from stress.anomalies import KINDS
from stress.memory import BACKENDS
from stress.model.config import DELAY_POINTS, KERNELS, MEMCG_MODES, ModelConfig
from stress.roles import ROLES
from stress.scenario import (
    EXPLORE_RANGES,
    EXPLORE_STRATEGIES,
    MAX_ROLE_COUNT,
    MAX_SEEDS,
    PARAM_RANGES,
    RUN_RANGES,
    SIZE_RANGE,
    ExploreSpec,
    RunSpec,
    Sizes,
    field_kind,
)
from stress.schemes import DEFAULT_SCHEME
from stress.sourcedoc import getdoc

SCHEMA_ID = "https://pagerace.invalid/scenario.schema.json"
POWER_OF_TWO = ("queue_size", "pool_ring_size", "trace_entries")
NO_CONTROL = "^[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f]*$"

# What every key means: the scenario reference is generated from these words.
TOP = {
    "name": "the scenario's name; it names its run directories, so: 1 to 64 of A-Z a-z 0-9 "
            ". _ -, not starting with . or -",
    "description": "what the scenario shows, in the words of the thread",
    "claim": "the claim of docs/model.md section 5 it reproduces (C1 to C13), if any",
}
MODEL = {
    "scheme": "the design under test: a built-in scheme (driver_ref, pg_network, "
              "pg_network_put_page_only, dtor_ref1, pp_magic), an entry point of the group "
              "pagerace.schemes, or "
              "\"path/to/file.py:Class\" relative to the scenario",
    "memcg": "memcg charging: none; unmap (Arjun's v2: charge while mapped to user space); "
             "lifetime (Johannes: from allocation until the page returns to its pool or the "
             "allocator)",
    "check_owner_priv_1_at_free": "add PG_owner_priv_1 to PAGE_FLAGS_CHECK_AT_FREE, as "
                                  "Johannes proposed",
    "kernel": "the kernel whose checks and APIs the model follows: \"5.12\" (the thread's "
              "era) or \"6.8\" (\"page_pool leak\" at free, every free and allocation check "
              "behind check_pages_enabled, no page_pool_release_page)",
    "page_checks": "the kernel's page checks run: on 5.12 a CONFIG_DEBUG_VM kernel "
                   "(VM_BUG_ON_PAGE kills the task; an order-0 free checks the flags before "
                   "clearing them), off: the flags are cleared unchecked and the rest checked "
                   "at the pcp drain; on 6.8 check_pages_enabled, off: nothing is checked",
    "truncate_leaves_checked": "fault: a filesystem's truncate forgets to clear PG_checked",
    "swapcache_put_before_clear": "fault: swap-cache removal drops the cache's reference "
                                  "with put_page, before clearing PG_swapcache",
    "lookup_skips_recheck": "fault: a page-cache lookup does not recheck the slot after its "
                            "tryget",
    "lookup_retries": "retries of a lockless lookup before it gives up",
    "delays": "busy waits, in microseconds, at named check-then-act points, to widen a race "
              "window: " + "; ".join(f"{k}: {v}" for k, v in DELAY_POINTS.items()),
    "backend": "the memory backend: atomic (C __atomic builtins), locked (striped locks), "
               "racy (plain read-modify-write: the bug model of claim C9)",
}
SIZES = {
    "pages": "pages in the arena",
    "cache_slots": "page-cache slots (file indexes)",
    "pte_slots": "user page-table entries, split among the zerocopy applications",
    "cgroups": "memory cgroups",
    "queue_size": "a socket receive queue's capacity (a power of two)",
    "pool_ring_size": "a page pool's ptr_ring capacity (a power of two)",
    "pool_cache_size": "a page pool's alloc cache capacity (its owner's, lockless)",
    "ledger_size": "references one worker can publish for an audit",
    "trace_entries": "a worker's trace ring of its last operations (a power of two)",
}
RUN = {
    "duration": "seconds of racing (ignored when ops is set)",
    "ops": "operations per worker instead of a duration; 0: run for the duration",
    "workers": "worker processes; the actors are spread over them",
    "audit_interval": "seconds between stop-the-world audits",
    "seeds": "run seeds: one run per seed, each reproducible from it",
    "batch": "operations a worker runs between looks at the run state",
    "trace": "record every operation in the workers' trace rings (the reports' history)",
    "checks": "debug checks, oracles, audits and scans (off only to measure their cost)",
    "hang_timeout": "seconds without a heartbeat before a worker is reported hung",
}
EXPLORE = {
    "strategy": "how the explorer picks the next actor: portfolio (the default: dfs first, "
                "pct and random beside it, each a share of the schedules and the time), "
                "random (a uniform walk), pct (random priorities with depth - 1 change "
                "points), dfs (every program, every schedule within the preemption bound), dpor "
                "(every program, every interleaving, once up to the order of independent "
                "steps)",
    "schedules": "at most this many schedules (the budget may end the exploration first)",
    "depth": "pct: the bug depth d it aims at (d - 1 priority change points)",
    "preemptions": "dfs: at most this many switches away from an actor that could go on",
    "actors": "at most this many actors: the scenario's roles in order, one each first, then "
              "the further instances of each",
    "ops": "operations per actor under the scheduler",
    "warmup": "operations per actor before the scheduler starts, one actor at a time",
    "max_steps": "scheduling points after which a schedule is abandoned (never a finding)",
    "audit": "the full audit after every operation that leaves every actor between operations",
    "pages": "pages in the explorer's arena",
    "cache_slots": "page-cache slots in the explorer's arena",
    "pte_slots": "PTE slots in the explorer's arena",
    "queue_size": "a socket queue's capacity (a power of two)",
    "pool_ring_size": "a pool's ring capacity (a power of two)",
    "pool_cache_size": "a pool's alloc cache capacity",
}
EXPECT = {
    "clean": "nothing may be seen: any anomaly fails the run",
    "detect": "at least one of these kinds must be seen",
    "forbid": "none of these kinds may be seen (with detect)",
    "lost_recycles": "stress runs: whether page_pool_put_page must (true) or must not (false) "
                     "find pages shared during the race, releasing them instead of recycling "
                     "(what the kernel experiences under C8); unset: not judged",
}
ROLE_KEYS = {
    "role": "the kind of actor (pagerace roles lists them)",
    "count": "how many actors of this kind",
    "mix": "operation weights, merged over the role's defaults",
}


def _number(kind: type, lo: float, hi: float) -> dict[str, Any]:
    return {"type": "integer" if kind is int else "number", "minimum": lo, "maximum": hi}


def _model() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in fields(ModelConfig):
        default = None if f.default is MISSING else f.default
        if f.name == "scheme":
            p: dict[str, Any] = {"type": "string", "minLength": 1, "default": DEFAULT_SCHEME}
        elif f.name == "memcg":
            p = {"enum": list(MEMCG_MODES), "default": default}
        elif f.name == "kernel":
            p = {"enum": list(KERNELS), "default": default}
        elif f.name == "delays":
            p = {"type": "object", "additionalProperties": False, "default": {},
                 "properties": {k: {"type": "number", "minimum": 0, "maximum": 10_000,
                                    "description": v} for k, v in DELAY_POINTS.items()}}
        elif f.name == "lookup_retries":
            p = _number(int, 1, 1 << 20) | {"default": default}
        else:
            p = {"type": "boolean", "default": default}
        props[f.name] = p | {"description": MODEL[f.name]}
    props["backend"] = {"enum": list(BACKENDS), "default": "atomic",
                        "description": MODEL["backend"]}
    for f in fields(Sizes):
        lo, hi = SIZE_RANGE
        if f.name == "pages":
            hi = (1 << 31) - 1
        p = _number(int, lo, hi) | {"default": f.default, "description": SIZES[f.name]}
        if f.name in POWER_OF_TWO:
            p = {"enum": [1 << k for k in range(32)], "default": f.default,
                 "description": SIZES[f.name]}
        props[f.name] = p
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": "the model: which scheme, memcg mode, checks, faults and sizes"}


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
    props: dict[str, Any] = {}
    for f in fields(RunSpec):
        if f.name == "seeds":
            lo, hi = RUN_RANGES["seed"]
            p: dict[str, Any] = {"type": "array", "minItems": 1, "maxItems": MAX_SEEDS,
                                 "items": _number(int, lo, hi), "default": list(RunSpec().seeds)}
        elif field_kind(f) is bool:
            p = {"type": "boolean", "default": f.default}
        else:
            p = _number(field_kind(f), *RUN_RANGES[f.name]) | {"default": f.default}
        props[f.name] = p | {"description": RUN[f.name]}
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": "how long, how many workers, how often to audit, which seeds"}


def _explore() -> dict[str, Any]:
    props: dict[str, Any] = {}
    for f in fields(ExploreSpec):
        if f.name == "strategy":
            p: dict[str, Any] = {"enum": list(EXPLORE_STRATEGIES), "default": f.default}
        elif field_kind(f) is bool:
            p = {"type": "boolean", "default": f.default}
        elif f.name in POWER_OF_TWO:
            p = {"enum": [1 << k for k in range(17)], "default": f.default}
        else:
            p = _number(int, *EXPLORE_RANGES[f.name]) | {"default": f.default}
        props[f.name] = p | {"description": EXPLORE[f.name]}
    return {"type": "object", "additionalProperties": False, "properties": props,
            "description": "the explorer (pagerace explore): strategy, bounds and its own small "
                           "sizes; the stress run ignores it"}


def _expect() -> dict[str, Any]:
    kinds = {"type": "array", "items": {"enum": list(KINDS)}}
    props = {"clean": {"type": "boolean", "default": False, "description": EXPECT["clean"]},
             "detect": kinds | {"description": EXPECT["detect"]},
             "forbid": kinds | {"description": EXPECT["forbid"]},
             "lost_recycles": {"type": "boolean", "description": EXPECT["lost_recycles"]}}
    return {
        "type": "object", "additionalProperties": False, "properties": props,
        "description": "the verdict: clean = true, or a non-empty detect list",
        "oneOf": [
            {"properties": {"clean": {"const": True}, "detect": {"maxItems": 0},
                            "forbid": {"maxItems": 0}}, "required": ["clean"]},
            {"properties": {"clean": {"const": False}, "detect": {"minItems": 1}},
             "required": ["detect"]},
        ],
    }


def scenario_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file (draft 2020-12)."""
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "pagerace scenario",
        "type": "object",
        "additionalProperties": False,
        "required": ["name", "roles", "expect"],
        "properties": {
            "name": {"type": "string", "pattern": "^[A-Za-z0-9_][A-Za-z0-9._-]{0,63}$",
                     "description": TOP["name"]},
            "description": {"type": "string", "maxLength": 4096, "pattern": NO_CONTROL,
                            "default": "", "description": TOP["description"]},
            "claim": {"type": "string", "maxLength": 64,
                      "pattern": "^[^\\u0000-\\u001f\\u007f-\\u009f]*$", "default": "",
                      "description": TOP["claim"]},
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
