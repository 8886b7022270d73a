"""Scenario files: one TOML file per scenario (docs/design.md, "Scenarios").

Loading validates every key and value; an error names the file, the key and
the reason in one line, which the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import Field, dataclass, fields, replace
from pathlib import Path
from typing import Any

from stress.anomalies import KINDS
from stress.memory import BACKENDS, ArenaConfig
from stress.model import ModelConfig
from stress.model.config import REPLACED
from stress.model.scheme import dtor_field
from stress.roles import ROLES
from stress.schemes import DEFAULT_SCHEME, SchemeError, is_file_spec, load_scheme, resolve_path


class ScenarioError(Exception):
    """A scenario that cannot be run: the message is `file: key: reason`."""


@dataclass(frozen=True)
class RoleSpec:
    role: str
    count: int
    mix: Mapping[str, float]
    params: Mapping[str, Any]


@dataclass(frozen=True)
class RunSpec:
    duration: float = 2.0  # seconds of racing (ignored when ops is set)
    ops: int = 0  # operations per worker; 0 = run for the duration
    workers: int = 2
    audit_interval: float = 0.5
    seeds: tuple[int, ...] = (1,)
    batch: int = 256
    trace: bool = True
    checks: bool = True  # debug checks, oracles, audits and scans (off only to measure them)
    hang_timeout: float = 1.0


@dataclass(frozen=True)
class Sizes:
    pages: int = 4096
    cache_slots: int = 256
    pte_slots: int = 256
    cgroups: int = 4
    queue_size: int = 256
    pool_ring_size: int = 256
    pool_cache_size: int = 64
    ledger_size: int = 4096
    trace_entries: int = 4096


    def arena_config(self, *, nworkers: int, npools: int, nqueues: int, trace: bool
                     ) -> ArenaConfig:
        """The arena for these sizes; ValueError("field: reason") names an ArenaConfig field."""
        return ArenaConfig(
            npages=self.pages, nworkers=nworkers, npools=npools,
            pool_ring_size=self.pool_ring_size, pool_cache_size=self.pool_cache_size,
            nqueues=nqueues, queue_size=self.queue_size, cache_slots=self.cache_slots,
            pte_slots=self.pte_slots, ncgroups=self.cgroups, ledger_size=self.ledger_size,
            trace_entries=self.trace_entries if trace else 0,
        )


# The scenario keys of the ArenaConfig fields that are spelled differently.
_SIZE_KEY = {"npages": "pages", "ncgroups": "cgroups"}


@dataclass(frozen=True)
class Expect:
    clean: bool = False
    detect: tuple[str, ...] = ()
    forbid: tuple[str, ...] = ()
    # Whether page_pool_put_page finds pages shared during the race (C8: what the kernel
    # experiences as lost recycles); None: not judged.
    lost_recycles: bool | None = None

    @property
    def decided_at_first_detection(self) -> bool:
        """Whether the first detected kind settles the verdict: racing on cannot change it.

        Not so for a clean run, a forbid list (a forbidden kind may come later) or a
        lost-recycles expectation (judged over the whole race).
        """
        return not self.clean and not self.forbid and self.lost_recycles is None

    def describe(self) -> str:
        lost = {None: "", True: ", lost recycles", False: ", no lost recycles"}[
            self.lost_recycles]
        if self.clean:
            return "clean" + lost
        text = "detect " + " | ".join(self.detect)
        return text + (f", forbid {', '.join(self.forbid)}" if self.forbid else "") + lost


EXPLORE_STRATEGIES = ("portfolio", "random", "pct", "dfs", "dpor")


@dataclass(frozen=True)
class ExploreSpec:
    """`[explore]`: the explorer's sizes and bounds (docs/design.md, "Exploration").

    Small on purpose: every access of every actor is a scheduling point, and a
    bounded space must stay small enough to exhaust.
    """

    strategy: str = "portfolio"  # dfs, then pct and random beside it; or one of them
    schedules: int = 20_000  # at most this many schedules (the budget may end it first)
    depth: int = 3  # pct: bug depth d (d - 1 priority change points)
    preemptions: int = 2  # dfs: the preemption bound
    actors: int = 4  # at most this many actors, the scenario's roles in order, one each first
    ops: int = 2  # operations per actor under the scheduler
    warmup: int = 2  # operations per actor before it, one actor at a time (unscheduled)
    max_steps: int = 20_000  # a schedule longer than this is abandoned
    audit: bool = True  # the full audit after every operation that leaves all actors between ops
    pages: int = 12
    cache_slots: int = 4
    pte_slots: int = 4
    queue_size: int = 4
    pool_ring_size: int = 4
    pool_cache_size: int = 2

    def sizes(self, base: Sizes) -> Sizes:
        """The explorer's arena sizes over a scenario's (what the explorer does not size, kept)."""
        return replace(base, pages=self.pages, cache_slots=self.cache_slots,
                       pte_slots=self.pte_slots, queue_size=self.queue_size,
                       pool_ring_size=self.pool_ring_size, pool_cache_size=self.pool_cache_size)


# Bounds of the [explore] numbers.
EXPLORE_RANGES: dict[str, tuple[int, int]] = {
    "schedules": (1, 1 << 40), "depth": (1, 16), "preemptions": (0, 16), "actors": (1, 64),
    "ops": (0, 10_000), "warmup": (0, 10_000), "max_steps": (10, 1 << 30),
    "pages": (1, 1 << 16), "cache_slots": (1, 1 << 16), "pte_slots": (1, 1 << 16),
    "queue_size": (1, 1 << 16), "pool_ring_size": (1, 1 << 16), "pool_cache_size": (0, 1 << 16),
}


@dataclass(frozen=True)
class Scenario:
    name: str
    description: str
    claim: str
    model: ModelConfig
    backend: str
    sizes: Sizes
    roles: tuple[RoleSpec, ...]
    run: RunSpec
    expect: Expect
    path: str = ""
    explore: ExploreSpec = ExploreSpec()
    # Not a scenario key: a reproducer hunt's narrowing (explore/focus.py), role -> the
    # operations its actors' programs draw from.  Never in a schedule's digest: a
    # focused program is a program of the unfocused scenario, and replays there.
    focus: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def with_overrides(self, **changes: Any) -> Scenario:
        """CLI overrides: workers, duration, ops, seeds, backend."""
        run = replace(self.run, **{k: v for k, v in changes.items()
                                   if k in {f.name for f in fields(RunSpec)} and v is not None})
        backend = changes.get("backend") or self.backend
        return replace(self, run=run, backend=backend)

    def to_dict(self) -> dict[str, Any]:
        from dataclasses import asdict

        d = asdict(self)
        if not self.focus:
            del d["focus"]  # (the manifest's scenario, as it was before hunts had a focus)
        return d


# Inclusive bounds of every number a scenario or an option gives: finite, and small
# enough that a typo is an error rather than a run that never ends or never fits.
WEEK = 7 * 24 * 3600.0
RUN_RANGES: dict[str, tuple[float, float]] = {
    "duration": (1e-3, WEEK),
    "ops": (0, 1 << 62),
    "workers": (1, 1024),
    "audit_interval": (1e-3, WEEK),
    "batch": (1, 1 << 20),
    "hang_timeout": (0.1, 3600.0),
    "seed": (0, (1 << 63) - 1),
}
SIZE_RANGE = (1, 1 << 31)
# Role parameters are counts (int) or shares (float).
PARAM_RANGES: dict[type, tuple[float, float]] = {int: (0, 1 << 20), float: (0.0, 1.0)}
MAX_SEEDS = 100_000

# A scenario's name becomes a directory name: the POSIX portable file-name alphabet,
# no leading dot or dash, short enough for any filesystem once the seed and time are added.
NAME_RE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,63}")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # all but \t \n \r


def check_range(value: float, lo: float, hi: float) -> str | None:
    """Why value is not a finite number in [lo, hi], or None."""
    try:
        finite = math.isfinite(value)
    except OverflowError:  # an int too large for a float
        finite = False
    if not finite:
        return f"must be a finite number, got {value}"
    if not lo <= value <= hi:
        return f"must be in [{_num(lo)}, {_num(hi)}], got {_num(value)}"
    return None


def _num(v: float) -> str:
    return str(v) if isinstance(v, int) else f"{v:g}"


def check_run_value(key: str, value: float) -> str | None:
    return check_range(value, *RUN_RANGES[key])


def check_name(name: str) -> str | None:
    if len(name) > 64:
        return f"{len(name)} characters, at most 64 (it names the run's directory)"
    if not NAME_RE.fullmatch(name):
        return (f"{name!r} is not a portable name: 1 to 64 of A-Z a-z 0-9 . _ -, "
                "not starting with . or -")
    return None


_MODEL_KEYS = {f.name for f in fields(ModelConfig)}
_SIZE_KEYS = {f.name for f in fields(Sizes)}
_RUN_KEYS = {f.name for f in fields(RunSpec)}


def _fail(where: str, key: str, reason: str) -> ScenarioError:
    return ScenarioError(f"{where}: {key}: {reason}")


_SCALARS: dict[str, type] = {"str": str, "int": int, "float": float, "bool": bool}


def field_kind(f: Field[Any]) -> type:
    """A scalar field's type: from its annotation's text, or the type itself (when the
    dataclass is compiled, as ModelConfig is, annotations are types)."""
    return _SCALARS[getattr(f.type, "__name__", str(f.type))]


def _check_type(where: str, key: str, value: Any, kind: type) -> Any:
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        raise _fail(where, key, f"expected {kind.__name__}, got {type(value).__name__} {value!r}")
    return value


def _unknown(where: str, table: str, data: Mapping[str, Any], known: set[str]) -> None:
    for key in data:
        if key not in known:
            raise _fail(where, f"{table}{key}",
                        f"unknown key (known: {', '.join(sorted(known))})")


def _kinds(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, key, "expected a list of anomaly kind names")
    for v in value:
        if v not in KINDS:
            raise _fail(where, key, f"unknown anomaly kind {v!r}")
    return tuple(value)


def parse_scenario(data: Mapping[str, Any], where: str, base: Path | None = None, *,
                   schema: bool = True) -> Scenario:
    """A validated `Scenario` from a parsed TOML document; `base` is its file's folder.

    The checks here give the one-line errors, table by table in the order a reader
    meets them; then the document must also satisfy the schema (`stress.schema`),
    which editors and the docs read.  `schema=False` only for the test that holds the
    two to the same answers.
    """
    _unknown(where, "", data, {"name", "description", "claim", "model", "roles", "run", "expect",
                               "explore"})
    name, description, claim = _parse_head(where, data)
    model_t = _check_type(where, "model", data.get("model", {}), dict)
    model, backend = _parse_model(where, model_t, base)
    sizes = _parse_sizes(where, model_t)
    roles_t = _check_type(where, "roles", data.get("roles", []), list)
    if not roles_t:
        raise _fail(where, "roles", "a scenario needs at least one [[roles]] entry")
    roles = tuple(_parse_role(where, k, r) for k, r in enumerate(roles_t))
    run = _parse_run(where, _check_type(where, "run", data.get("run", {}), dict))
    _check_profile(where, model, roles)
    _check_scheme_uses(where, model, roles)
    expect_t = _check_type(where, "expect", data.get("expect", {}), dict)
    clean, detect, forbid = _parse_expect(where, expect_t)
    explore = _parse_explore(where, data.get("explore", {}))
    if schema:
        from stress.schema import schema_errors  # it is built from this module's tables

        if errors := schema_errors(data):
            raise _fail(where, *errors[0].split(": ", 1))
    lost = expect_t.get("lost_recycles")
    lost = None if lost is None else _check_type(where, "expect.lost_recycles", lost, bool)
    return Scenario(name, description, claim, model, backend, sizes, roles, run,
                    Expect(clean, detect, forbid, lost), where, explore)


def _parse_head(where: str, data: Mapping[str, Any]) -> tuple[str, str, str]:
    """name, description and claim."""
    if "name" not in data:
        raise _fail(where, "name", "missing")
    name = _check_type(where, "name", data["name"], str)
    if why := check_name(name):
        raise _fail(where, "name", why)
    description = _check_type(where, "description", data.get("description", ""), str)
    claim = _check_type(where, "claim", data.get("claim", ""), str)
    for key, text, cap in (("description", description, 4096), ("claim", claim, 64)):
        if m := _CONTROL.search(text):
            raise _fail(where, key, f"control character {m.group()!r} at offset {m.start()}")
        if len(text) > cap:
            raise _fail(where, key, f"longer than {cap} characters")
    if any(c in claim for c in "\n\t\r"):
        raise _fail(where, "claim", "must be one line")
    return name, description, claim


def _parse_model(where: str, model_t: Mapping[str, Any],
                 base: Path | None) -> tuple[ModelConfig, str]:
    """[model]'s model keys, and the backend; its sizes are `_parse_sizes`'s."""
    for old, why in REPLACED.items():
        if old in model_t:
            raise _fail(where, f"model.{old}", why)
    _unknown(where, "model.", model_t, _MODEL_KEYS | _SIZE_KEYS | {"backend"})
    backend = _check_type(where, "model.backend", model_t.get("backend", "atomic"), str)
    if backend not in BACKENDS:
        raise _fail(where, "model.backend", f"must be one of {', '.join(BACKENDS)}")
    kinds = {f.name: field_kind(f) for f in fields(ModelConfig) if f.name != "delays"}
    kinds["delays"] = dict
    model_kw = {k: _check_type(where, f"model.{k}", model_t[k], kinds[k])
                for k in _MODEL_KEYS & model_t.keys()}
    model_kw.setdefault("scheme", DEFAULT_SCHEME)
    if isinstance(model_kw["scheme"], str) and is_file_spec(model_kw["scheme"]) and base:
        model_kw["scheme"] = resolve_path(model_kw["scheme"], base)
    try:
        model = ModelConfig(**model_kw)
    except ValueError as e:
        key, _, reason = str(e).partition(": ")
        raise _fail(where, f"model.{key}", reason) from None
    try:
        load_scheme(model.scheme)
    except SchemeError as e:
        raise _fail(where, "model.scheme", str(e)) from None
    return model, backend


def _parse_sizes(where: str, model_t: Mapping[str, Any]) -> Sizes:
    """[model]'s sizes, checked against the arena's own rules now rather than at run time."""
    size_kw = {k: _check_type(where, f"model.{k}", model_t[k], int)
               for k in _SIZE_KEYS & model_t.keys()}
    for k, v in size_kw.items():
        if why := check_range(v, *SIZE_RANGE):
            raise _fail(where, f"model.{k}", why)
    sizes = Sizes(**size_kw)
    try:  # powers of two, bounds
        sizes.arena_config(nworkers=1, npools=1, nqueues=1, trace=True)
    except ValueError as e:
        key, _, reason = str(e).partition(": ")
        raise _fail(where, f"model.{_SIZE_KEY.get(key, key)}", reason) from None
    return sizes


def _parse_run(where: str, run_t: Mapping[str, Any]) -> RunSpec:
    _unknown(where, "run.", run_t, _RUN_KEYS)
    run_kw: dict[str, Any] = {}
    for f in fields(RunSpec):
        if f.name == "seeds" and "seeds" in run_t:
            run_kw["seeds"] = _parse_seeds(where, run_t["seeds"])
        elif f.name in run_t:
            v = run_kw[f.name] = _check_type(where, f"run.{f.name}", run_t[f.name],
                                             field_kind(f))
            if f.name in RUN_RANGES and (why := check_run_value(f.name, v)):
                raise _fail(where, f"run.{f.name}", why)
    return RunSpec(**run_kw)


def _parse_seeds(where: str, seeds: Any) -> tuple[int, ...]:
    if (not isinstance(seeds, list) or not seeds or len(seeds) > MAX_SEEDS
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise _fail(where, "run.seeds", f"expected a list of 1 to {MAX_SEEDS:,} integers")
    for k, seed in enumerate(seeds):
        if why := check_run_value("seed", seed):
            raise _fail(where, f"run.seeds[{k}]", why)
    return tuple(seeds)


def _parse_expect(where: str, expect_t: Mapping[str, Any]
                  ) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """clean, detect and forbid (lost_recycles is read after the schema has its say)."""
    _unknown(where, "expect.", expect_t, {"clean", "detect", "forbid", "lost_recycles"})
    clean = _check_type(where, "expect.clean", expect_t.get("clean", False), bool)
    detect = _kinds(where, "expect.detect", expect_t.get("detect", []))
    forbid = _kinds(where, "expect.forbid", expect_t.get("forbid", []))
    if clean == bool(detect):
        raise _fail(where, "expect", "give either clean = true or a non-empty detect list")
    if clean and forbid:
        raise _fail(where, "expect.forbid", "a clean scenario forbids every kind already")
    return clean, detect, forbid


def _check_profile(where: str, model: ModelConfig, roles: Any) -> None:
    """Refuse what the chosen kernel does not have (stress/model/profile.py)."""
    if model.kernel == "6.8":
        for k, r in enumerate(roles):
            if r.role == "nic" and r.params.get("release_share", 0.0) > 0:
                raise _fail(where, f"roles[{k}].release_share",
                            "page_pool_release_page is not in kernel 6.8 (gone as an export "
                            "by v6.6); use kernel = \"5.12\"")


def _check_scheme_uses(where: str, model: ModelConfig, roles: Any) -> None:
    """Refuse an operation the chosen scheme has nothing for."""
    if dtor_field(load_scheme(model.scheme)) is not None:
        return
    for k, r in enumerate(roles):
        if r.mix.get("set_dtor", 0.0) > 0:
            raise _fail(where, f"roles[{k}].mix.set_dtor",
                        f"scheme {model.scheme!r} has no destructor (no dtor_field) to run it")


def _parse_explore(where: str, t: Any) -> ExploreSpec:
    t = _check_type(where, "explore", t, dict)
    _unknown(where, "explore.", t, {f.name for f in fields(ExploreSpec)})
    kw: dict[str, Any] = {}
    for f in fields(ExploreSpec):
        if f.name not in t:
            continue
        v = kw[f.name] = _check_type(where, f"explore.{f.name}", t[f.name], field_kind(f))
        if f.name in EXPLORE_RANGES and (why := check_range(v, *EXPLORE_RANGES[f.name])):
            raise _fail(where, f"explore.{f.name}", why)
    if kw.get("strategy", "portfolio") not in EXPLORE_STRATEGIES:
        raise _fail(where, "explore.strategy", f"must be one of {', '.join(EXPLORE_STRATEGIES)}, "
                    f"got {kw['strategy']!r}")
    spec = ExploreSpec(**kw)
    try:  # the arena's own rules (powers of two), as for [model]'s sizes
        spec.sizes(Sizes()).arena_config(nworkers=1, npools=1, nqueues=1, trace=True)
    except ValueError as e:
        key, _, reason = str(e).partition(": ")
        raise _fail(where, f"explore.{_SIZE_KEY.get(key, key)}", reason) from None
    return spec


def _parse_role(where: str, k: int, r: Any) -> RoleSpec:
    at = f"roles[{k}]"
    r = _check_type(where, at, r, dict)
    if "role" not in r:
        raise _fail(where, f"{at}.role", "missing")
    name = _check_type(where, f"{at}.role", r["role"], str)
    if name not in ROLES:
        raise _fail(where, f"{at}.role", f"unknown role {name!r} (known: {', '.join(ROLES)})")
    cls = ROLES[name]
    _unknown(where, f"{at}.", r, {"role", "count", "mix"} | set(cls.PARAMS))
    count = _check_type(where, f"{at}.count", r.get("count", 1), int)
    if not 1 <= count <= MAX_ROLE_COUNT:
        raise _fail(where, f"{at}.count", f"must be 1 to {MAX_ROLE_COUNT}, got {count} (each "
                    "actor is its own state in a worker: more only queue for the CPU)")
    mix = dict(cls.OPS)
    for op, w in _check_type(where, f"{at}.mix", r.get("mix", {}), dict).items():
        if op not in cls.OPS:
            raise _fail(where, f"{at}.mix.{op}",
                        f"unknown operation of {name} (known: {', '.join(cls.OPS)})")
        w = _check_type(where, f"{at}.mix.{op}", w, float)
        if why := check_range(w, 0.0, 1e9):
            raise _fail(where, f"{at}.mix.{op}", f"weight {why}")
        mix[op] = w
    if not any(w > 0 for w in mix.values()):
        raise _fail(where, f"{at}.mix", "every weight is zero")
    params = {}
    for p, (kind, _) in cls.PARAMS.items():
        if p in r:
            v = params[p] = _check_type(where, f"{at}.{p}", r[p], kind)
            if kind in PARAM_RANGES and (why := check_range(v, *PARAM_RANGES[kind])):
                raise _fail(where, f"{at}.{p}", why)
    return RoleSpec(name, count, mix, params)


MAX_SCENARIO_BYTES = 1 << 20  # a scenario file larger is not one
MAX_ROLE_COUNT = 1024  # actors of one role


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file."""
    path = Path(path)
    where = str(path)
    try:
        if not path.is_file() and path.exists():  # /dev/zero, a FIFO: never read whole
            raise ScenarioError(f"{where}: not a regular file")
        with path.open("rb") as f:
            raw = f.read(MAX_SCENARIO_BYTES + 1)
        if len(raw) > MAX_SCENARIO_BYTES:
            raise ScenarioError(f"{where}: larger than {MAX_SCENARIO_BYTES // 1024} KiB: not "
                                "a scenario")
    except FileNotFoundError:
        raise ScenarioError(f"{where}: no such file") from None
    except OSError as e:
        raise ScenarioError(f"{where}: cannot read: {e.strerror}") from None
    try:
        text = raw.decode("utf-8")  # TOML is UTF-8, whatever the locale says
    except UnicodeDecodeError as e:
        raise ScenarioError(f"{where}: not UTF-8 text: byte {raw[e.start]:#04x} at offset "
                            f"{e.start}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        raise ScenarioError(f"{where}: not valid TOML: {e}") from None
    except RecursionError:
        raise ScenarioError(f"{where}: not valid TOML: nested too deep") from None
    return parse_scenario(data, where, path.parent)
