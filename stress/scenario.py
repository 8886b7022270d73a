"""Scenario files: one TOML file per scenario (docs/design.md, "Scenarios").

Loading validates every key and value; an error names the file, the key and
the reason in one line, which the CLI prints before exiting with code 2.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Mapping
from dataclasses import Field, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from stress.anomalies import KINDS
from stress.keys import Key, key, keys, meta
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


# Inclusive bounds of every number a scenario or an option gives: finite, and small
# enough that a typo is an error rather than a run that never ends or never fits.
WEEK = 7 * 24 * 3600.0
MAX_SEEDS = 100_000


@dataclass(frozen=True)
class RunSpec:
    """`[run]`: how long, how many workers, how often to audit, which seeds."""

    duration: float = key(2.0, lo=1e-3, hi=WEEK,
                          help="seconds of racing (ignored when ops is set)")
    ops: int = key(0, lo=0, hi=1 << 62,
                   help="operations per worker instead of a duration; 0: run for the duration")
    workers: int = key(2, lo=1, hi=1024,
                       help="worker processes; the actors are spread over them")
    audit_interval: float = key(0.5, lo=1e-3, hi=WEEK,
                                help="seconds between stop-the-world audits")
    seeds: tuple[int, ...] = key((1,), lo=0, hi=(1 << 63) - 1,  # (the bounds of each seed)
                                 help="run seeds: one run per seed, each reproducible from it")
    batch: int = key(256, lo=1, hi=1 << 20,
                     help="operations a worker runs between looks at the run state")
    trace: bool = key(True, help="record every operation in the workers' trace rings (the "
                                 "reports' history)")
    checks: bool = key(True, help="debug checks, oracles, audits and scans (off only to "
                                  "measure their cost)")
    hang_timeout: float = key(1.0, lo=0.1, hi=3600.0,
                              help="seconds without a heartbeat before a worker is reported "
                                   "hung")


@dataclass(frozen=True)
class Sizes:
    """`[model]`'s sizes: the arena's."""

    pages: int = key(4096, lo=1, hi=(1 << 31) - 1, help="pages in the arena")
    cache_slots: int = key(256, lo=1, hi=1 << 31, help="page-cache slots (file indexes)")
    pte_slots: int = key(256, lo=1, hi=1 << 31,
                         help="user page-table entries, split among the zerocopy applications")
    cgroups: int = key(4, lo=1, hi=1 << 31, help="memory cgroups")
    queue_size: int = key(256, lo=1, hi=1 << 31, power_of_two=True,
                          help="a socket receive queue's capacity (a power of two)")
    pool_ring_size: int = key(256, lo=1, hi=1 << 31, power_of_two=True,
                              help="a page pool's ptr_ring capacity (a power of two)")
    pool_cache_size: int = key(64, lo=1, hi=1 << 31,
                               help="a page pool's alloc cache capacity (its owner's, lockless)")
    ledger_size: int = key(4096, lo=1, hi=1 << 31,
                           help="references one worker can publish for an audit")
    trace_entries: int = key(4096, lo=1, hi=1 << 31, power_of_two=True,
                             help="a worker's trace ring of its last operations (a power of "
                                  "two)")


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
    """`[expect]`: the verdict: clean = true, or a non-empty detect list."""

    clean: bool = key(False, help="nothing may be seen: any anomaly fails the run")
    detect: tuple[str, ...] = key((), choices=KINDS,
                                  help="at least one of these kinds must be seen")
    forbid: tuple[str, ...] = key((), choices=KINDS,
                                  help="none of these kinds may be seen (with detect)")
    lost_recycles: bool | None = key(
        None, help="stress runs: whether page_pool_put_page must (true) or must not (false) "
                   "find pages shared during the race, releasing them instead of recycling "
                   "(what the kernel experiences under C8); unset: not judged")

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

    strategy: str = key("portfolio", choices=EXPLORE_STRATEGIES,
                        help="how the explorer picks the next actor: portfolio (the default: "
                             "dpor first, pct and random beside it, each a share of the "
                             "schedules and the time), random (a uniform walk), pct (random "
                             "priorities with depth - 1 change points), dfs (every program, "
                             "every schedule within the preemption bound), dpor (every "
                             "program, every schedule within the preemption bound, once up to "
                             "the order of independent steps)")
    schedules: int = key(20_000, lo=1, hi=1 << 40,
                         help="at most this many schedules (the budget may end the "
                              "exploration first)")
    depth: int = key(3, lo=1, hi=16,
                     help="pct: the bug depth d it aims at (d - 1 priority change points)")
    preemptions: int = key(2, lo=0, hi=16,
                           help="dfs, dpor: at most this many switches away from an actor "
                                "that could go on")
    actors: int = key(4, lo=1, hi=64,
                      help="at most this many actors: the scenario's roles in order, one each "
                           "first, then the further instances of each")
    systematic_actors: int = key(
        2, lo=1, hi=64,
        help="dfs, dpor: at most this many actors race at once in the systematic search; with "
             "more roles than that, groups of them such that every pair of roles meets in one "
             "(2: every pair, which keeps a bound of 2 preemptions exhaustible; random and pct "
             "use `actors`)")
    bystanders: bool = key(
        False,
        help="every actor of the scenario a group leaves out warms up with it (filling caches, "
             "pools, queues and mappings as it would) and lets go of what it holds after the "
             "race, without racing (richer starting states, and more schedules: dtor-at-alloc "
             "no longer exhausts bound 2 in 700 s); false: a group's actors alone")
    warmups: int = key(
        4, lo=1, hi=1 << 20,
        help="dfs, dpor: every program is searched from this many warm-ups, those of seeds "
             "seed, seed + 1, ... (the warm-up comes from the seed, and so do the roles' own "
             "draws in the race unless draws = every)")
    draws: str = key(
        "seeded", choices=("seeded", "every"),
        help="dfs, dpor: the roles' own draws in the race (which page, cache slot, PTE slot or "
             "mapping; whether to map): seeded (drawn from each warm-up's seed) or every (each "
             "value a branch of the search, so that its end covers every draw; often 100 "
             "times the schedules)")
    ops: int = key(2, lo=0, hi=10_000, help="operations per actor under the scheduler")
    warmup: int = key(2, lo=0, hi=10_000,
                      help="operations per actor before the scheduler starts, one actor at a "
                           "time")
    max_steps: int = key(20_000, lo=10, hi=1 << 30,
                         help="scheduling points after which a schedule is abandoned (never a "
                              "finding)")
    audit: bool = key(True, help="the full audit after every operation that leaves every "
                                 "actor between operations")
    pages: int = key(12, lo=1, hi=1 << 16, help="pages in the explorer's arena")
    cache_slots: int = key(4, lo=1, hi=1 << 16, help="page-cache slots in the explorer's arena")
    pte_slots: int = key(4, lo=1, hi=1 << 16, help="PTE slots in the explorer's arena")
    queue_size: int = key(4, lo=1, hi=1 << 16, power_of_two=True,
                          help="a socket queue's capacity (a power of two)")
    pool_ring_size: int = key(4, lo=1, hi=1 << 16, power_of_two=True,
                              help="a pool's ring capacity (a power of two)")
    pool_cache_size: int = key(2, lo=0, hi=1 << 16, help="a pool's alloc cache capacity")

    def sizes(self, base: Sizes) -> Sizes:
        """The explorer's arena sizes over a scenario's (what the explorer does not size, kept)."""
        return replace(base, pages=self.pages, cache_slots=self.cache_slots,
                       pte_slots=self.pte_slots, queue_size=self.queue_size,
                       pool_ring_size=self.pool_ring_size, pool_cache_size=self.pool_cache_size)


DEFAULT_BACKEND = "atomic"


@dataclass(frozen=True)
class Scenario:
    name: str = field(metadata=meta(
        help="the scenario's name; it names its run directories, so: 1 to 64 of A-Z a-z 0-9 "
             ". _ -, not starting with . or -"))
    description: str = field(metadata=meta(
        help="what the scenario shows, in the words of the thread"))
    claim: str = field(metadata=meta(
        help="the claim of docs/model.md section 5 it reproduces (C1 to C13), if any"))
    model: ModelConfig
    backend: str = field(metadata=meta(
        choices=BACKENDS, help="the memory backend: atomic (C __atomic builtins), locked "
                               "(striped locks), racy (plain read-modify-write: the bug model "
                               "of claim C9)"))
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


# Role parameters are counts (int) or shares (float).
PARAM_RANGES: dict[type, tuple[float, float]] = {int: (0, 1 << 20), float: (0.0, 1.0)}

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


def check_name(name: str) -> str | None:
    if len(name) > 64:
        return f"{len(name)} characters, at most 64 (it names the run's directory)"
    if not NAME_RE.fullmatch(name):
        return (f"{name!r} is not a portable name: 1 to 64 of A-Z a-z 0-9 . _ -, "
                "not starting with . or -")
    return None




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
    for name in data:
        if name not in known:
            raise _fail(where, f"{table}{name}",
                        f"unknown key (known: {', '.join(sorted(known))})")


def _kinds(where: str, key: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _fail(where, key, "expected a list of anomaly kind names")
    for v in value:
        if v not in KINDS:
            raise _fail(where, key, f"unknown anomaly kind {v!r}")
    return tuple(value)


def parse_scenario(data: Mapping[str, Any], where: str, base: Path | None = None) -> Scenario:
    """A validated `Scenario` from a parsed TOML document; `base` is its file's folder.

    The one validation path: the checks here give the one-line errors, table by table
    in the order a reader meets them, each key checked against its declaration
    (stress/keys.py).  The JSON Schema editors and the docs read is built from the
    same declarations (`stress.schema`); a property test holds the two to the same
    answers (tests/test_schema.py).
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
    for what, text, cap in (("description", description, 4096), ("claim", claim, 64)):
        if m := _CONTROL.search(text):
            raise _fail(where, what, f"control character {m.group()!r} at offset {m.start()}")
        if len(text) > cap:
            raise _fail(where, what, f"longer than {cap} characters")
    if any(c in claim for c in "\n\t\r"):
        raise _fail(where, "claim", "must be one line")
    return name, description, claim


def _parse_table(where: str, prefix: str, t: Mapping[str, Any], cls: type,
                 special: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The keys of `cls` that table `t` gives, each checked against its declaration
    (stress/keys.py): its type, choices and bounds.  `special`: the keys whose values are
    not scalars, each with its own parser (where, key, value) -> value."""
    out: dict[str, Any] = {}
    for name, (f, k) in keys(cls).items():
        if name not in t:
            continue
        at = f"{prefix}{name}"
        if special and name in special:
            out[name] = special[name](where, at, t[name], k)
            continue
        v = out[name] = _check_type(where, at, t[name], field_kind(f))
        if k.choices and v not in k.choices:
            raise _fail(where, at, f"must be one of {', '.join(map(str, k.choices))}, "
                        f"got {v!r}")
        if k.lo is not None and k.hi is not None and (why := check_range(v, k.lo, k.hi)):
            raise _fail(where, at, why)
    return out


def _parse_model(where: str, model_t: Mapping[str, Any],
                 base: Path | None) -> tuple[ModelConfig, str]:
    """[model]'s model keys, and the backend; its sizes are `_parse_sizes`'s."""
    for old, why in REPLACED.items():
        if old in model_t:
            raise _fail(where, f"model.{old}", why)
    _unknown(where, "model.", model_t, set(keys(ModelConfig)) | set(keys(Sizes)) | {"backend"})
    backend = _check_type(where, "model.backend", model_t.get("backend", DEFAULT_BACKEND), str)
    if backend not in BACKENDS:
        raise _fail(where, "model.backend", f"must be one of {', '.join(BACKENDS)}")
    model_kw = _parse_table(where, "model.", model_t, ModelConfig,
                            {"delays": lambda where, at, v, k: _check_type(where, at, v, dict)})
    model_kw.setdefault("scheme", DEFAULT_SCHEME)
    if isinstance(model_kw["scheme"], str) and is_file_spec(model_kw["scheme"]) and base:
        model_kw["scheme"] = resolve_path(model_kw["scheme"], base)
    try:  # (what a key's declaration cannot say: the delay points, a scheme's name)
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
    sizes = Sizes(**_parse_table(where, "model.", model_t, Sizes))
    try:  # powers of two, bounds
        sizes.arena_config(nworkers=1, npools=1, nqueues=1, trace=True)
    except ValueError as e:
        key, _, reason = str(e).partition(": ")
        raise _fail(where, f"model.{_SIZE_KEY.get(key, key)}", reason) from None
    return sizes


def _parse_run(where: str, run_t: Mapping[str, Any]) -> RunSpec:
    _unknown(where, "run.", run_t, set(keys(RunSpec)))
    return RunSpec(**_parse_table(where, "run.", run_t, RunSpec, {"seeds": _parse_seeds}))


def _parse_seeds(where: str, at: str, seeds: Any, k: Key) -> tuple[int, ...]:
    if (not isinstance(seeds, list) or not seeds or len(seeds) > MAX_SEEDS
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in seeds)):
        raise _fail(where, at, f"expected a list of 1 to {MAX_SEEDS:,} integers")
    for i, seed in enumerate(seeds):
        if why := check_seed(seed):
            raise _fail(where, f"{at}[{i}]", why)
    return tuple(seeds)


def check_seed(seed: int) -> str | None:
    """Why `seed` cannot be a run's seed, or None."""
    k = keys(RunSpec)["seeds"][1]
    assert k.lo is not None and k.hi is not None
    return check_range(seed, k.lo, k.hi)


def _parse_expect(where: str, expect_t: Mapping[str, Any]
                  ) -> tuple[bool, tuple[str, ...], tuple[str, ...]]:
    """clean, detect and forbid (lost_recycles is read last)."""
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
    _unknown(where, "explore.", t, set(keys(ExploreSpec)))
    kw = _parse_table(where, "explore.", t, ExploreSpec)
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
    mix = _parse_mix(where, at, name, _check_type(where, f"{at}.mix", r.get("mix", {}), dict))
    params = {}
    for p, (kind, _) in cls.PARAMS.items():
        if p in r:
            v = params[p] = _check_type(where, f"{at}.{p}", r[p], kind)
            if kind in PARAM_RANGES and (why := check_range(v, *PARAM_RANGES[kind])):
                raise _fail(where, f"{at}.{p}", why)
    return RoleSpec(name, count, mix, params)


def _parse_mix(where: str, at: str, role: str, given: Mapping[str, Any]) -> dict[str, float]:
    """A role's operation weights: its defaults, with those the table gives."""
    ops = ROLES[role].OPS
    mix = dict(ops)
    for op, w in given.items():
        if op not in ops:
            raise _fail(where, f"{at}.mix.{op}",
                        f"unknown operation of {role} (known: {', '.join(ops)})")
        w = _check_type(where, f"{at}.mix.{op}", w, float)
        if why := check_range(w, 0.0, 1e9):
            raise _fail(where, f"{at}.mix.{op}", f"weight {why}")
        mix[op] = w
    if not any(w > 0 for w in mix.values()):
        raise _fail(where, f"{at}.mix", "every weight is zero")
    return mix


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
