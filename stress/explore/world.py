"""One scenario's model in one process, run once per schedule from the same start.

The arena is private to the explorer and small ([explore] sizes); it is booted
once and copied back before every schedule.  Each actor gets a machine whose
`mem` and `sys` are the scheduled memories.  What runs is three things: the
program (which operations each actor runs under the scheduler: drawn from a seed,
or enumerated by dfs), the seed (the warm-up, and each role's own draws: page,
slot, mapping; under dfs and dpor the race's draws are branches instead,
explore/draws.py), and the schedule (how they interleave).  Before the scheduler starts,
every actor runs `warmup` operations in turn, drawn from the seed, which fills
caches, pools and queues without spending the scheduler's steps on it.  A world of
a group of the scenario's actors holds the others too ([explore] bystanders): they
take part in the warm-up, stand by during the race, and drain at the teardown.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from stress.anomalies import Anomaly, HarnessSignal
from stress.checks import audit
from stress.checks.lifecycle import finish
from stress.checks.teardown import guarded
from stress.explore.draws import Branching, Pick
from stress.explore.memory import Footprint, RecordedMemory, ScheduledMemory
from stress.explore.scheduler import (
    EXPIRY_EVERY,
    OutOfTime,
    Schedule,
    Scheduler,
    SleepBlocked,
    StepBound,
)
from stress.explore.strategies import SYSTEMATIC, Strategy
from stress.memory import Arena
from stress.memory.backends import Memory, RacyMemory
from stress.memory.bound import bind
from stress.memory.layout import W_LEDGER_LEN
from stress.model import Machine, mem_init, page_pool_init
from stress.roles import ROLES, Actor, ActorSpec
from stress.roles.base import build_schedule
from stress.runs.plan import make_plan
from stress.scenario import RoleSpec, Scenario
from stress.schemes import load_scheme


class Found(HarnessSignal):
    """The schedule's first anomaly: it ends the schedule where it happened."""

    def __init__(self, anomaly: Anomaly, step: int) -> None:
        super().__init__(str(anomaly))
        self.anomaly = anomaly
        self.step = step


@dataclass
class Outcome:
    """One schedule's result: what it did, and the anomaly that ended it, if any."""

    schedule: Schedule
    anomaly: Anomaly | None = None
    step: int = -1  # where the anomaly came: -1 in the warm-up, steps at the teardown
    phase: str = ""  # warmup, race, teardown
    abandoned: bool = False  # past the step bound
    blocked: bool = False  # every actor asleep (dpor): a repeat, ended early
    cut: bool = False  # the budget or a stop ended it first: not a schedule run
    trace: list[tuple[int, ...]] = field(default_factory=list)


# A program: for each actor, the index of each operation it runs in the race (into the
# actor's operations of positive weight, in the order its mix lists them).
Program = tuple[tuple[int, ...], ...]


def all_programs(kinds: Sequence[int], ops: int) -> Iterator[Program]:
    """Every program of `ops` operations per actor, actor k choosing among kinds[k].

    In itertools.product's order (the last actor's last operation turns fastest), but
    lazily: product would first build every program of each actor, kinds[k] ** ops of
    them, which at ops = 1000 never ends and fills the memory.
    """
    radix = [k for k in kinds for _ in range(ops)]
    if 0 in radix:
        return
    digits = [0] * len(radix)
    while True:
        yield tuple(tuple(digits[a * ops:(a + 1) * ops]) for a in range(len(kinds)))
        i = len(digits) - 1
        while i >= 0:
            digits[i] += 1
            if digits[i] < radix[i]:
                break
            digits[i] = 0
            i -= 1
        if i < 0:
            return


# A count of programs saturates here: a space this large is never searched to its end, and
# an exact count of 8 actors of 1,000 operations has thousands of digits (more than Python
# prints, or JSON carries, by default).
PROGRAMS_CAP = (1 << 63) - 1


def count_programs(kinds: Sequence[int], ops: int) -> int:
    """How many programs `all_programs` yields, or PROGRAMS_CAP when at least that many."""
    if 0 in kinds and ops:
        return 0
    if sum(ops * math.log2(k) for k in kinds if k > 1) >= 63:
        return PROGRAMS_CAP
    return min(int(math.prod(k ** ops for k in kinds)), PROGRAMS_CAP)


def programs_text(n: int) -> str:
    """A count of programs as the summary prints it."""
    return f"at least {PROGRAMS_CAP:,}" if n >= PROGRAMS_CAP else f"{n:,}"


def pick_actors(scn: Scenario, limit: int) -> list[int]:
    """Indexes of the plan's actors to explore: each role once in order, then the rest."""
    plan = make_plan(scn, 0)
    first: list[int] = []
    rest: list[int] = []
    seen: set[str] = set()
    for k, spec in enumerate(plan.actors):
        (rest if spec.role in seen else first).append(k)
        seen.add(spec.role)
    return sorted((first + rest)[:limit])


def actor_groups(scn: Scenario, limit: int) -> list[list[int]]:
    """The groups of the plan's actors to explore, each of at most `limit` actors.

    One group when every role fits (each role once in order, then the rest).  Otherwise
    every pair of roles meets in some group (a greedy pair cover over each role's first
    actor), so that no role is left out and any two that can share a page race.  A role
    the scenario runs more than once also races itself: when no group holds two of its
    actors, a group of its first two follows (after the others, so that the groups
    before keep their numbers).
    """
    plan = make_plan(scn, 0)
    firsts: dict[str, int] = {}
    for k, spec in enumerate(plan.actors):
        firsts.setdefault(spec.role, k)
    roles = list(firsts)
    if len(roles) <= limit or limit < 2:
        return _with_self_pairs([pick_actors(scn, limit)], plan.actors, limit)
    uncovered = {(a, b) for i, a in enumerate(roles) for b in roles[i + 1:]}
    groups: list[list[int]] = []
    while uncovered:
        first: tuple[str, str] = min(uncovered, key=lambda ab: (roles.index(ab[0]),
                                                               roles.index(ab[1])))
        group = list(first)
        while len(group) < limit:
            group.append(max((r for r in roles if r not in group), key=lambda r: (
                sum(tuple(sorted((g, r), key=roles.index)) in uncovered for g in group),
                -roles.index(r))))
        uncovered -= {(a, b) for a in group for b in group if roles.index(a) < roles.index(b)}
        groups.append(sorted(firsts[r] for r in group))
    return _with_self_pairs(groups, plan.actors, limit)


def _with_self_pairs(groups: list[list[int]], actors: Sequence[ActorSpec],
                     limit: int) -> list[list[int]]:
    """The groups, and a group of two actors of each role no group races against itself."""
    if limit < 2:
        return groups
    same: dict[str, list[int]] = {}
    for k, spec in enumerate(actors):
        same.setdefault(spec.role, []).append(k)
    for role, ks in same.items():
        if len(ks) > 1 and not any(sum(actors[k].role == role for k in g) > 1 for g in groups):
            groups.append(ks[:2])
    return groups


def explored_groups(scn: Scenario) -> list[list[int]]:
    """Every group of actors the explorer runs, numbered once for tokens and findings:
    the sampling strategies' groups (of `actors`), then the systematic search's (of
    `systematic_actors`) that are not among them."""
    x = scn.explore
    groups = actor_groups(scn, x.actors)
    return groups + [g for g in actor_groups(scn, x.systematic_actors) if g not in groups]


def strategy_groups(scn: Scenario, strategy: str) -> list[int]:
    """The indexes, in explored_groups, of the groups a strategy runs."""
    x = scn.explore
    every = explored_groups(scn)
    size = x.systematic_actors if strategy in SYSTEMATIC else x.actors
    return [every.index(g) for g in actor_groups(scn, size)]


def group_roles(scn: Scenario, groups: list[list[int]]) -> tuple[list[list[str]], list[str]]:
    """Each group's roles, and the declared roles no group plays."""
    full = make_plan(scn, 0).actors
    named = [[full[k].role for k in g] for g in groups]
    played = {r for g in named for r in g}
    return named, [r.role for r in scn.roles if r.role not in played]


class World:
    """The scenario's actors over a private arena, reset for every schedule."""

    def __init__(self, scn: Scenario, actors: Sequence[int] | None = None) -> None:
        x = scn.explore
        chosen = list(actors) if actors is not None else pick_actors(scn, x.actors)
        full = make_plan(scn, 0).actors
        # The racers first (their resources as without bystanders), then the bystanders:
        # every other actor of the scenario, which warms up with them and drains at the end.
        others = [k for k in range(len(full)) if k not in chosen] if x.bystanders else []
        roles = [full[k] for k in chosen + others]
        n, total = len(chosen), len(roles)
        sizes = replace(x.sizes(scn.sizes), pte_slots=max(x.pte_slots, total),
                        ledger_size=max(64, 4 * x.pages), trace_entries=0)
        # One worker per actor: pool ownership, page-lock holders and ledgers are per actor.
        small = replace(scn, sizes=sizes, run=replace(scn.run, workers=total))
        self.scn = replace(small, model=replace(scn.model, delays={}))  # no delays: ever
        self.plan = make_plan(_only(small, roles), 0)
        self.scheme = load_scheme(self.scn.model.scheme, probe=False)  # (probed on load)
        self.n = n  # the actors that race (a program's); actors n .. total - 1 stand by
        self.total = total
        self.arena = Arena.create(self.plan.config, private=True)  # (gone even on SIGKILL)
        try:
            self._boot(scn)
        except BaseException:
            self.arena.close()  # an interrupt while booting: no arena left behind
            raise

    def _boot(self, scn: Scenario) -> None:
        mem_init(self.arena)
        self.boot = self.arena.words.copy()
        self.points = ScheduledMemory(self.arena.atomic)  # the page records' accesses
        self.mem: Memory = RacyMemory(self.points) if scn.backend == "racy" else self.points
        self.sys = ScheduledMemory(self.arena.atomic)
        # Each actor's operations, as Actor.ops() lists them (a role may leave one out for
        # a scheme), and the table that draws them in proportion to their weights.
        ops = [list(a.ops()) for a in self._actors(lambda a: None, None, None)]
        self.arena.words[:] = self.boot
        self._draws = [build_schedule([(i, w) for i, (_, w) in enumerate(actor_ops)])
                       for actor_ops in ops]  # (every actor's: the warm-up's)
        ops = ops[:self.n]  # (the racers': their programs')
        self.op_names = [[op.__name__ for op, _ in actor_ops] for actor_ops in ops]
        # What a program draws from: every operation, or a hunt's focus (the warm-up
        # always draws from every operation, so a focused program replays unfocused).
        focus = dict(self.scn.focus)
        self.choices = [[i for i, name in enumerate(names)
                         if self.plan.actors[k].role not in focus
                         or name in focus[self.plan.actors[k].role]] or list(range(len(names)))
                        for k, names in enumerate(self.op_names)]
        self._program_draws = [build_schedule([(i, w) for i, (_, w) in enumerate(actor_ops)
                                               if i in chosen])
                               for actor_ops, chosen in zip(ops, self.choices, strict=True)]

    @property
    def kinds(self) -> list[int]:
        """How many operations each actor's programs choose among."""
        return [len(chosen) for chosen in self.choices]

    @property
    def widths(self) -> list[int]:
        """How many operations each actor has (a program's indices are below these)."""
        return [len(names) for names in self.op_names]

    def program(self, digits: Program) -> Program:
        """The program `all_programs(self.kinds, ...)` numbers by `digits`."""
        return tuple(tuple(chosen[d] for d in ds)
                     for chosen, ds in zip(self.choices, digits, strict=True))

    def draw_program(self, seed: int, ops: int) -> Program:
        """The program `seed` draws: `ops` operations per actor, in proportion to the mix."""
        rngs = [random.Random(_actor_seed(seed, k) ^ _PROGRAM_SALT) for k in range(self.n)]
        return tuple(tuple(table[rng.getrandbits(8)] for _ in range(ops))
                     for table, rng in zip(self._program_draws, rngs, strict=True))

    def describe(self, program: Program) -> list[list[str]]:
        """A program in operation names, actor by actor."""
        return [[names[i] for i in ops] for names, ops in zip(self.op_names, program,
                                                              strict=True)]

    def close(self) -> None:
        self.arena.close()

    def emissions(self, seed: int, rounds: int) -> list[dict[str, set[int]]]:
        """What each operation traces, run as the warm-up runs them (one actor at a time,
        from boot, `rounds` operations each): per actor, operation name -> the trace ops
        (machine.Op) it wrote.  Ends at the first anomaly: past it a broken model may
        not end an operation (explore/focus.py)."""
        self.arena.words[:] = self.boot
        seen: list[dict[str, set[int]]] = [{name: set() for name in names}
                                           for names in self.op_names]
        into: list[set[int]] = [set()]

        def report(a: Anomaly) -> None:
            raise Found(a, -1)

        def trace(op: int, p: int, before: int, after: int, result: int, aux: int) -> None:
            into[0].add(op)

        rngs = [random.Random(_actor_seed(seed, k)) for k in range(self.total)]
        actors = self._actors(report, None, None, rngs)
        for a in actors:
            a.m.trace, a.m.tracing = trace, True
        calls = [[op for op, _ in a.ops()] for a in actors]
        aside: set[int] = set()  # (what a bystander traces)
        try:
            for _ in range(rounds):
                for k in range(self.total):
                    i = self._draws[k][rngs[k].getrandbits(8)]
                    into[0] = seen[k][self.op_names[k][i]] if k < self.n else aside
                    guarded(report, calls[k][i])
        except Found:
            pass
        return seen

    def run(self, seed: int, program: Program, strategy: Strategy, max_steps: int, *,
            audit_ops: bool = True, trace: bool = False,
            expired: Callable[[], bool] | None = None) -> Outcome:
        """One schedule of `program`, from the boot state; `seed` draws the warm-up and the
        roles' own choices (page, slot, mapping), but in the race a strategy with `pick`
        answers those.  `expired`, asked now and then, ends it early (`Outcome.cut`)."""
        self.arena.words[:] = self.boot
        # A reducing strategy sees every step's footprint: the scheduled accesses, the
        # harness's shadow reads, the per-operation bookkeeping and the audit.
        fp = Footprint() if hasattr(strategy, "observe") else None
        self.points.fp = self.sys.fp = fp
        sched = Scheduler(strategy, max_steps, fp, expired)
        records: list[tuple[int, ...]] = []
        phase = ["warmup"]

        def report(a: Anomaly) -> None:
            raise Found(a, -1 if phase[0] == "warmup" else sched.step)

        rngs = [random.Random(_actor_seed(seed, k)) for k in range(self.total)]
        actors = self._actors(report, sched, records if trace else None, rngs, fp)
        calls = [[op for op, _ in a.ops()] for a in actors]
        tables = [[ops[i] for i in table] for ops, table in zip(calls, self._draws, strict=True)]
        in_op = [False] * self.n
        taken: list[list[int]] = [[] for _ in range(self.n)]
        answers = getattr(strategy, "answers_draws", False)
        outcome = Outcome(Schedule())
        try:
            # (asked about as often as the scheduler asks: a short warm-up never is)
            every = max(1, EXPIRY_EVERY // max(self.total, 1))
            for n in range(self.scn.explore.warmup):
                if n and not n % every and expired is not None and expired():
                    raise OutOfTime("in the warm-up")
                for k in range(self.total):
                    guarded(report, tables[k][rngs[k].getrandbits(8)])
            phase[0] = "race"
            if answers:
                branch: Pick = getattr(strategy, "pick")  # noqa: B009 (not in the protocol)
                for k, a in enumerate(actors[:self.n]):  # the race's draws: the strategy's
                    a.draws = Branching(rngs[k], k, branch, taken[k])
            programs = [self._program(k, actors, [calls[k][i] for i in program[k]], in_op,
                                      report, audit_ops, fp) for k in range(self.n)]
            outcome.schedule = sched.run(programs, [self.points, self.sys])
            phase[0] = "teardown"  # (the scheduler's step stays at the schedule's end)
            self._bystanders_let_go(actors, report)
            L = self.arena.layout
            for w in range(self.total):  # every actor has drained: nobody holds anything
                self.arena.words[L.worker(w) + W_LEDGER_LEN] = 0
            for found in finish(actors[0].m, report).audit.anomalies:
                report(found)
        except Found as f:
            outcome.anomaly, outcome.step, outcome.phase = f.anomaly, f.step, phase[0]
            outcome.schedule = sched.partial or outcome.schedule
        except StepBound:
            outcome.abandoned = True
            outcome.schedule = sched.partial or outcome.schedule
        except SleepBlocked:
            outcome.blocked = True
            outcome.schedule = sched.partial or outcome.schedule
        except OutOfTime:
            outcome.cut = True
            outcome.schedule = sched.partial or outcome.schedule
        finally:
            self.points.fp = self.sys.fp = None
        if answers:
            outcome.schedule.draws = tuple(tuple(t) for t in taken)
        outcome.trace = records
        return outcome

    def _bystanders_let_go(self, actors: list[Actor], report: Callable[[Anomaly], None]) -> None:
        """After the race, each bystander drops what it holds, one after another."""
        for k in range(self.n, self.total):
            guarded(report, actors[k].drain)

    def _actors(self, report: Callable[[Anomaly], None], sched: Scheduler | None,
                records: list[tuple[int, ...]] | None,
                rngs: Sequence[random.Random] | None = None,
                fp: Footprint | None = None) -> list[Actor]:
        """A machine and an actor per actor spec, the pools initialised."""
        machines = [self._machine(spec, report, sched, records) for spec in self.plan.actors]
        if fp is not None:  # the oracles' own reads are part of the step that makes them
            shadow = bind(RecordedMemory(self.arena.atomic, fp))
            for m in machines:
                m.shadow = shadow
        for pool, owner in enumerate(self.plan.pool_owners):
            page_pool_init(machines[0], pool, owner)
        rngs = rngs or [random.Random(0) for _ in machines]
        return [ROLES[spec.role](m, rng, spec)
                for spec, m, rng in zip(self.plan.actors, machines, rngs, strict=True)]

    def _machine(self, spec: ActorSpec, report: Callable[[Anomaly], None],
                 sched: Scheduler | None, records: list[tuple[int, ...]] | None) -> Machine:
        m = Machine(self.arena, self.scn.model, self.scheme, report, worker=spec.worker,
                    checks=self.scn.run.checks)
        m.attach(self.mem, self.sys)
        if records is not None and sched is not None:
            w, clock = spec.worker, sched

            def trace(op: int, p: int, before: int, after: int, result: int, aux: int) -> None:
                records.append((clock.step, w, op, p, before, after, result,
                                m.gen(p) if p >= 0 else -1, aux))

            m.trace, m.tracing = trace, True
        return m

    def _program(self, k: int, actors: list[Actor], ops: list[Callable[[], None]],
                 in_op: list[bool], report: Callable[[Anomaly], None],
                 audit_ops: bool, fp: Footprint | None) -> Callable[[], None]:
        point = self.sys  # an access-free scheduling point: the start of an operation
        if fp is None:
            def program() -> None:
                for op in ops:
                    point.point()
                    in_op[k] = True
                    guarded(report, op)
                    in_op[k] = False
                    if audit_ops and not any(in_op):
                        self._audit(actors, report)
                point.point()
                in_op[k] = True
                guarded(report, actors[k].drain)
                in_op[k] = False

            return program
        # The same, telling the footprint what it does outside the memories: in_op[k] is
        # word -1 - k (whether the audit runs reads every actor's); the audit reads every
        # word and writes the ledgers (word -1 - n, which only audits read).
        mine, everyone, ledgers = -1 - k, range(-self.n, 0), -1 - self.n

        def recorded() -> None:
            for op in ops:
                point.point()
                in_op[k] = True
                fp.writes.add(mine)
                guarded(report, op)
                in_op[k] = False
                fp.writes.add(mine)
                if audit_ops:
                    fp.reads.update(everyone)
                    if not any(in_op):
                        fp.reads_all = True
                        fp.writes.add(ledgers)
                        self._audit(actors, report)
            point.point()
            in_op[k] = True
            fp.writes.add(mine)
            guarded(report, actors[k].drain)
            in_op[k] = False
            fp.writes.add(mine)

        return recorded

    def _audit(self, actors: list[Actor], report: Callable[[Anomaly], None]) -> None:
        """Every actor is between operations: publish the ledgers, run the full audit."""
        L, words = self.arena.layout, self.arena.words
        for w, a in enumerate(actors):
            refs = np.fromiter(a.references(), np.int64)
            words[L.ledger(w):L.ledger(w) + len(refs)] = refs
            words[L.worker(w) + W_LEDGER_LEN] = len(refs)
        for anomaly in audit(self.arena, self.scheme).anomalies:
            report(anomaly)


_PROGRAM_SALT = 0x5052_4F47  # "PROG": the program's draws, apart from the roles' own


def _actor_seed(seed: int, k: int) -> int:
    return seed * 1_000_003 + k


def _only(scn: Scenario, specs: Sequence[ActorSpec]) -> Scenario:
    """The scenario with exactly these actors, one [[roles]] entry each."""
    roles = tuple(RoleSpec(s.role, 1, s.mix, s.params) for s in specs)
    return replace(scn, roles=roles)

