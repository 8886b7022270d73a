"""Where a systematic search got to, kept on disk so that a later run goes on from there.

A dfs or dpor search walks the programs of its share in one fixed order, bound
after bound (search.Systematic).  What it has proven is therefore a position: the
bound, how many programs were searched to the end at it, whether any schedule at
it was abandoned, and the highest bound finished.  A checkpoint is that position
with the counts so far, one JSON file per scenario and job in the checkpoint
directory, written at most every few seconds and when the job ends (interrupted,
out of budget or done).  A run given the same directory resumes from it: the
program that was being searched when the job stopped is searched again from its
start, so nothing is claimed that was not run.  A checkpoint of another
configuration (scenario digest, strategy, bound, seed, share) is refused.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

VERSION = 1
EVERY_S = 5.0  # at most this often, besides the end of the job


class CheckpointError(Exception):
    """A checkpoint that cannot be used: one line naming the file and why."""


@dataclass
class Position:
    """How far one job's systematic search got, and what it counted on the way."""

    digest: int  # token.scenario_digest: the model, roles and [explore] it was made for
    strategy: str
    max_bound: int
    seed: int
    job: int
    jobs: int
    max_steps: int  # a schedule longer is abandoned: another bound, another proof
    warmups: int = 1  # the seeds each program is searched from (before the key: 1)
    draws: str = "seeded"  # [explore] draws (before the key: seeded)
    bound: int = 0
    programs_done: int = 0  # programs searched to the end at `bound`
    clean: bool = True  # no schedule abandoned at `bound`
    proven_bound: int = -1
    searched: bool = False  # the whole share searched: nothing left to resume
    schedules: int = 0
    steps: int = 0
    abandoned: int = 0
    blocked: int = 0
    programs_total: int = 0
    seconds: float = 0.0

    def same_search(self, other: Position) -> bool:
        keys = ("digest", "strategy", "max_bound", "seed", "job", "jobs", "max_steps", "warmups",
                "draws")
        return all(getattr(self, k) == getattr(other, k) for k in keys)


def path_for(directory: Path, scenario: str, job: int, jobs: int) -> Path:
    return directory / f"{scenario}.{job + 1}-of-{jobs}.json"


def load(path: Path, want: Position) -> Position | None:
    """The position saved at `path` for this search, None when there is none yet."""
    try:
        text = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as e:
        raise CheckpointError(f"checkpoint {path}: cannot be read ({e.strerror})") from None
    try:
        raw = json.loads(text)
        if not isinstance(raw, dict) or raw.pop("version", None) != VERSION:
            raise ValueError(f"not a version {VERSION} checkpoint")
        pos = Position(**raw)
        for name, value in asdict(pos).items():
            kind = type(getattr(want, name))
            if type(value) is not kind and not (kind is float and type(value) is int):
                raise ValueError(f"{name} is {type(value).__name__}, not {kind.__name__}")
    except (ValueError, TypeError) as e:
        raise CheckpointError(f"checkpoint {path}: damaged ({e})") from None
    if not pos.same_search(want):
        raise CheckpointError(f"checkpoint {path}: made for another search (the scenario, "
                              "its [explore], the strategy, bound, seed, warm-ups or "
                              "--split/--jobs changed); remove it to start again")
    if not 0 <= pos.bound <= pos.max_bound or pos.programs_done < 0:
        raise CheckpointError(f"checkpoint {path}: damaged (bound {pos.bound}, "
                              f"{pos.programs_done} programs done)")
    return pos


def save(path: Path, pos: Position) -> None:
    """Write atomically: a crash mid-write leaves the previous checkpoint whole."""
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps({"version": VERSION, **asdict(pos)}, indent=1) + "\n")
        os.replace(tmp, path)
    except OSError as e:
        raise CheckpointError(f"checkpoint {path}: cannot be written ({e.strerror})") from None
