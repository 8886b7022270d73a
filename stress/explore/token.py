"""Replay tokens: a failing schedule as one short string, like shuttle's replay strings.

    <scenario path>#<payload>

The payload is URL-safe base64 of unsigned LEB128 varints: format version, the
seed, the group of actors (world.actor_groups), the actor count, each actor's
program (its length, then the index of each operation), the number of switches,
then each switch as (steps since the previous switch, actor), the roles' draws in
the race (0: drawn from the seed; else 1 + the actor count, then each actor's
count and values: explore/draws.py), and last a 32-bit
digest of the scenario's model, roles and [explore] table, so that a token is
refused, not misread, once the scenario it came from has changed (its strategy and
bounds aside: any strategy's choices replay the same).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import asdict, dataclass

from stress.explore.world import Program
from stress.scenario import Scenario

VERSION = 3  # 3: the draws; 2: the program itself; 1: operation counts
READS = (2, 3)  # (a version 2 token is one whose draws came from the seed)


class TokenError(Exception):
    """A token that cannot be read: the message says why, in one line."""


@dataclass(frozen=True)
class Token:
    scenario: str  # the scenario file, as given to `pagerace explore`
    seed: int
    program: Program
    switches: tuple[tuple[int, int], ...]
    digest: int
    group: int = 0
    draws: tuple[tuple[int, ...], ...] | None = None  # None: drawn from the seed

    def encode(self) -> str:
        out = bytearray()
        for v in (VERSION, self.seed, self.group, len(self.program),
                  *(n for ops in self.program for n in (len(ops), *ops)), len(self.switches)):
            _varint(out, v)
        last = 0
        for step, actor in self.switches:
            _varint(out, step - last)
            _varint(out, actor)
            last = step
        if self.draws is None:
            _varint(out, 0)
        else:
            _varint(out, 1 + len(self.draws))
            for values in self.draws:
                for v in (len(values), *values):
                    _varint(out, v)
        _varint(out, self.digest)
        return f"{self.scenario}#{base64.urlsafe_b64encode(bytes(out)).decode().rstrip('=')}"


# What a strategy changes is not part of a schedule: the same choices replay under any.
_NOT_IN_A_SCHEDULE = {"strategy", "schedules", "depth", "preemptions", "max_steps", "warmups",
                      "draws"}  # (a token carries the draws it took)
_ADDED: dict[str, object] = {"systematic_actors": 2, "bystanders": False}


def scenario_digest(scn: Scenario) -> int:
    """What a schedule depends on: the model, the roles and the explorer's sizes."""
    x = {k: v for k, v in asdict(scn.explore).items() if k not in _NOT_IN_A_SCHEDULE}
    # Keys added since tokens were first written count only when set: at their default
    # a token written before them still replays.
    for k, default in _ADDED.items():
        if x[k] == default:
            del x[k]
    data = json.dumps([asdict(scn.model), [asdict(r) for r in scn.roles], x, scn.backend],
                      sort_keys=True, default=str)
    return int.from_bytes(hashlib.blake2s(data.encode(), digest_size=4).digest(), "little")


def _shown(text: str) -> str:
    """A token as an error line quotes it: whole when short, its ends when long."""
    return repr(text) if len(text) <= 80 else repr(text[:40] + " ... " + text[-20:])


def decode(text: str) -> Token:
    path, sep, payload = text.rpartition("#")
    shown = _shown(text)
    if not sep or not path:
        raise TokenError(f"token {shown}: expected <scenario path>#<payload>")
    if len(payload) % 4 == 1:  # no base64 text ends there: characters are missing
        raise TokenError(f"token {shown}: the payload is cut short")
    try:
        raw = base64.b64decode(payload + "=" * (-len(payload) % 4), altchars=b"-_",
                               validate=True)
    except (binascii.Error, ValueError):
        raise TokenError(f"token {shown}: the payload is not base64") from None
    pos = 0

    def take() -> int:
        nonlocal pos
        v = shift = 0
        while True:
            if pos >= len(raw):
                raise TokenError(f"token {shown}: the payload is cut short")
            b = raw[pos]
            pos += 1
            v |= (b & 0x7F) << shift
            shift += 7
            if shift > 70:
                raise TokenError(f"token {shown}: a number in the payload is too long")
            if not b & 0x80:
                return v

    if (version := take()) not in READS:
        raise TokenError(f"token {shown}: format version {version}, this pagerace reads "
                         f"{' and '.join(map(str, READS))}")
    seed = take()
    group = take()
    program = tuple(tuple(take() for _ in range(take())) for _ in range(take()))
    switches, step = [], 0
    for _ in range(take()):
        step += take()
        switches.append((step, take()))
    draws = None
    if version >= 3 and (actors := take()):
        draws = tuple(tuple(take() for _ in range(take())) for _ in range(actors - 1))
    digest = take()
    if pos != len(raw):
        raise TokenError(f"token {shown}: {len(raw) - pos} bytes after the end")
    return Token(path, seed, program, tuple(switches), digest, group, draws)


def _varint(out: bytearray, v: int) -> None:
    if v < 0:
        raise ValueError(f"a token holds non-negative numbers, got {v}")
    while True:
        b = v & 0x7F
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return
