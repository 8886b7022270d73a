"""A run's summary and manifest, typed: one class per engine, built, written and read in
one place.

`summary.json` is one JSON object (docs/design.md, "the run-directory contract").  A
stress run's (`StressSummary`) and an exploration's (`ExploreSummary`) share the
verdict's fields (`Verdicts`) and differ in the rest; readers dispatch on the class,
never on a "mode" string.  Each class says the order the file has its fields in
(`FIRST`), so `to_dict` writes what the untyped writers wrote, byte for byte.  A summary
read back keeps every field it was read with, known or not (`raw`): written again, it
loses nothing and keeps its order; a field set on it that the file lacked goes last.

The engines build these (processes/record.py, explore/record.py); `write_summary` is
the one writer and `runrecord.read_summary`, which checks the file first, the one reader.
A field the file lacks (one an older pagerace did not write) stays out when written
again, unless a reader set it.  `Manifest` is what the readers use of manifest.json
(`runrecord.read_manifest` returns it): the scenario as run, the seeds, the actors.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar, Protocol, TypeVar

T = TypeVar("T", bound="Record")
# Fields written only when set (a stress run explored after it raced, a merged part).
_SOMETIMES = frozenset({"explored", "reproducer", "parts"})


class _Writable(Protocol):
    def write_json(self, name: str, data: dict[str, Any]) -> None: ...


@dataclass(kw_only=True)
class Record:
    """What every typed part of the summary does: from a checked dict, back to one."""

    NESTED: ClassVar[dict[str, type[Record]]] = {}
    LISTS: ClassVar[dict[str, type[Record]]] = {}  # fields that are lists of records
    MAPS: ClassVar[dict[str, type[Record]]] = {}  # fields that map names to records
    FIRST: ClassVar[tuple[str, ...]] = ()  # fields the file has first (a base's come first
    # in a dataclass, not always in the file)
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls: type[T], d: dict[str, Any]) -> T:
        """The record of a dict whose fields `runrecord` has checked."""
        kw: dict[str, Any] = {}
        for f in fields(cls):
            if f.name == "raw" or f.name not in d:
                continue
            v = d[f.name]
            nested = cls.NESTED.get(f.name)
            if (each := cls.LISTS.get(f.name)) is not None:
                v = [each.from_dict(x) for x in v]
            elif (each := cls.MAPS.get(f.name)) is not None:
                v = {k: each.from_dict(x) for k, x in v.items()}
            elif nested is not None and v is not None:
                v = nested.from_dict(v)
            kw[f.name] = v
        return cls(**kw, raw=d)

    def to_dict(self) -> dict[str, Any]:
        out = dict(self.raw)
        first = [f for name in self.FIRST for f in fields(self) if f.name == name]
        for f in first + [f for f in fields(self) if f.name not in self.FIRST]:
            if f.name == "raw":
                continue
            v = getattr(self, f.name)
            if f.name not in out and (v is None and f.name in _SOMETIMES
                                      or self.raw and v == _default(f)):
                continue  # never set, or read from a file that did not have it
            out[f.name] = v.to_dict() if isinstance(v, Record) else \
                [x.to_dict() for x in v] if f.name in self.LISTS else \
                {k: x.to_dict() for k, x in v.items()} if f.name in self.MAPS else v
        return out


def _default(f: Any) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None if f.default is MISSING else f.default


@dataclass(kw_only=True)
class Explored(Record):
    """The explorer's outcome as a stress run keeps it (`pagerace run`'s second engine)."""

    verdict: str
    strategy: str
    schedules: int
    exhausted: bool
    seconds: float = 0.0
    found: str | None = None
    token: str | None = None
    preemptions_min: int | None = None
    label: str | None = None
    steps: int | None = None
    errors: list[str] = field(default_factory=list)
    run_dir: str = ""


@dataclass(kw_only=True)
class Reproducer(Explored):
    """A stress run's reproducer hunt: the kind it hunted, where its window pointed (in
    the file before the fields of `Explored`), and what the explorer made of it."""

    FIRST: ClassVar[tuple[str, ...]] = ("kind", "focus", "whole")
    kind: str
    focus: dict[str, list[str]] = field(default_factory=dict)  # role -> operations
    whole: bool = False  # the finding, or its lack, is the whole scenario's search

    @classmethod
    def of(cls, kind: str, focus: dict[str, list[str]], whole: bool,
           x: Explored) -> Reproducer:
        own = {f.name: getattr(x, f.name) for f in fields(Explored) if f.name != "raw"}
        return cls(kind=kind, focus=focus, whole=whole, **own)


@dataclass(kw_only=True)
class Found(Record):
    """An exploration's finding, shrunk and replayed (explore/runner.py `Finding`)."""

    kind: str
    page: int
    step: int
    actor: int = -1
    op: str = ""
    reason: str = ""
    phase: str
    token: str = ""
    steps_before: int
    steps_after: int
    switches_before: int
    switches_after: int
    ops_before: list[int] = field(default_factory=list)
    ops_after: list[int] = field(default_factory=list)
    program: list[list[str]] = field(default_factory=list)  # each actor's operations
    preemptions_after: int = -1
    shrink_replays: int = 0
    preemptions_min: int = -1  # the fewest that reach the kind (explore/minimal.py)
    preemptions_min_proven: bool = False
    label: str = ""  # sequential or interleaving
    minimal_token: str = ""
    shrink_passes: dict[str, list[int]] = field(default_factory=dict)  # name -> tried, kept


@dataclass(kw_only=True)
class Covered(Record):
    """Exactly what an exploration covered (explore/record.py `covered`)."""

    statement: str
    proven_bound: int | None = None
    programs: int = 0
    ops_per_actor: int = 0
    warmup_per_actor: int = 0  # operations each actor runs before the race (0: not recorded)
    warmup_and_role_draws: str = ""
    groups: list[list[str]] = field(default_factory=list)  # the roles of each group
    roles_left_out: list[str] = field(default_factory=list)
    abandoned: int = 0


@dataclass(kw_only=True)
class Pool(Record):
    """One page pool's recycling in a stress run (processes/counters.py `PoolRow`)."""

    pool: int
    recycled_cache: int
    recycled_ring: int
    released: int
    released_ring_full: int = 0  # released because the ring was full
    released_shared: int = 0  # page_pool_put_page saw a count other than 1
    released_shared_race: int | None = None  # ... of them, lost to a racing holder
    recycle_ratio: float | None = None
    inflight_at_destroy: int | None = None  # pages in flight when its shutdown stalled


@dataclass(kw_only=True)
class Window(Record):
    """One kind of race window in a stress run's trace rings (checks/contests.py)."""

    windows: int  # opened (a check-then-act read) in the rings' sample
    contested: int  # ... with another worker's record on the same page inside


@dataclass(kw_only=True)
class Bounds(Record):
    """What an exploration was bounded by (a strategy's own bound, None for the others)."""

    preemptions: int | None = None  # dfs
    depth: int | None = None  # pct
    schedules: int = 0
    actors: int = 0
    ops: int = 0
    warmup: int = 0
    pages: int = 0


@dataclass(kw_only=True)
class Verdicts(Record):
    """What every summary has: the run, its verdict, and the verdict table's columns."""

    scenario: str
    claim: str | None = None
    seed: int
    verdict: str
    expected: str
    anomalies: dict[str, int] = field(default_factory=dict)
    first_detection_s: dict[str, float] = field(default_factory=dict)
    ops: int = 0  # (an exploration's: its steps)
    ops_per_s: float = 0
    duration_s: float = 0.0
    audits: int = 0
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False
    health: dict[str, dict[str, Any]] = field(default_factory=dict)
    run_dir: str = ""


@dataclass(kw_only=True)
class StressSummary(Verdicts):
    """A stress run's summary (processes/record.py builds it)."""

    NESTED: ClassVar[dict[str, type[Record]]] = {"explored": Explored,
                                                 "reproducer": Reproducer}
    LISTS: ClassVar[dict[str, type[Record]]] = {"pools": Pool}
    MAPS: ClassVar[dict[str, type[Record]]] = {"windows": Window}
    FIRST = ("scenario", "claim", "seed", "scenario_file", "verdict", "expected", "anomalies",
             "first_detection_s", "ops", "ops_per_s", "workers", "duration_s", "audits",
             "audit_ms_max", "backend", "scheme", "delays_us", "windows", "contenders", "pools",
             "health", "errors", "interrupted", "run_dir", "pids", "reproducer", "explored")
    scenario_file: str | None = None
    workers: int = 0
    audit_ms_max: float | None = None
    backend: str = ""
    scheme: str = ""
    delays_us: dict[str, Any] = field(default_factory=dict)
    windows: dict[str, Window] = field(default_factory=dict)  # by the read that opens one
    contenders: list[str] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)
    pids: dict[str, Any] = field(default_factory=dict)
    reproducer: Reproducer | None = None  # pagerace run's explorer phase, after a failure
    explored: Explored | None = None  # ... and its exploration of the scenario


@dataclass(kw_only=True)
class ExploreSummary(Verdicts):
    """An exploration's summary (explore/record.py builds it)."""

    NESTED: ClassVar[dict[str, type[Record]]] = {"finding": Found, "covered": Covered,
                                                 "bounds": Bounds}
    FIRST = ("scenario", "claim", "seed", "mode", "verdict", "expected", "anomalies",
             "first_detection_s", "strategy", "found_by", "members", "schedules", "steps",
             "exhausted", "searched", "abandoned", "blocked", "cut", "seconds", "steps_per_s",
             "token", "finding", "incidental", "jobs", "split", "covered", "bounds", "ops",
             "ops_per_s", "audits", "duration_s", "errors", "interrupted", "health", "run_dir",
             "parts")
    mode: str = "explore"  # (in the file, for readers of the JSON alone)
    strategy: str
    found_by: str | None = None
    members: list[dict[str, Any]] = field(default_factory=list)
    schedules: int = 0
    steps: int = 0
    exhausted: bool = False
    searched: bool = False
    abandoned: int = 0
    blocked: int = 0
    cut: int = 0
    seconds: float = 0.0
    steps_per_s: float = 0
    token: str | None = None
    finding: Found | None = None
    incidental: dict[str, int] = field(default_factory=dict)
    jobs: int = 1
    split: list[int | None] = field(default_factory=lambda: [1, 1])
    covered: Covered | None = None
    bounds: Bounds = field(default_factory=Bounds)
    parts: list[int] | None = None  # a merged split: the parts it joined


Summary = StressSummary | ExploreSummary


@dataclass(kw_only=True)
class ModelFacts(Record):
    """A manifest's `[model]` as run (a run from before a key existed lacks it: None)."""

    scheme: str | None = None
    memcg: str | None = None
    kernel: str | None = None
    page_checks: bool | None = None
    delays: dict[str, float] = field(default_factory=dict)


@dataclass(kw_only=True)
class Manifest(Record):
    """What readers use of a run's manifest.json (processes/record.py and explore/record.py
    write more: the build, the versions, the host, the arena).  A run killed early may
    leave any of it out: each field has its "not recorded" value."""

    mode: str = "stress"
    scenario: dict[str, Any] = field(default_factory=dict)  # the resolved scenario
    seed: int | None = None
    backend: str | None = None
    start_method: str | None = None
    worker_seeds: list[int] = field(default_factory=list)  # stress: one per worker
    workers: int | None = None  # explore: one actor per worker
    actors: list[dict[str, Any]] = field(default_factory=list)  # stress: role, worker, ...

    @property
    def explored(self) -> bool:
        return self.mode == "explore"

    @property
    def name(self) -> str | None:
        v = self.scenario.get("name")
        return v if isinstance(v, str) else None

    @property
    def claim(self) -> str | None:
        v = self.scenario.get("claim")
        return v if isinstance(v, str) else None

    @property
    def model(self) -> ModelFacts:
        v = self.scenario.get("model")
        return ModelFacts.from_dict(v if isinstance(v, dict) else {})

    @property
    def nworkers(self) -> int:
        return len(self.worker_seeds) or self.workers or 0

    def roles_on(self) -> dict[int, set[str]]:
        """worker -> the roles of the actors it runs."""
        out: dict[int, set[str]] = {}
        for a in self.actors:
            out.setdefault(int(a["worker"]), set()).add(str(a["role"]))
        return out


def summary_from_dict(d: dict[str, Any]) -> Summary:
    """The typed summary of a checked dict: an exploration's when it says so."""
    if d.get("mode") == "explore":
        return ExploreSummary.from_dict(d)
    return StressSummary.from_dict(d)


def write_summary(run_dir: _Writable, s: Summary) -> None:
    """The one writer of summary.json."""
    run_dir.write_json("summary.json", s.to_dict())


def write_manifest(run_dir: _Writable, manifest: dict[str, Any]) -> None:
    """The one writer of manifest.json: what its engine built (processes/record.py
    `manifest`, explore/record.py `write_run`), read back as a `Manifest`."""
    run_dir.write_json("manifest.json", manifest)
