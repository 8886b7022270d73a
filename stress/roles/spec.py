"""Where an actor sits, as the supervisor plans it and hands it to a worker.

Its own module, left interpreted when the roles are compiled: the spec crosses
to the worker by pickle, which a plain dataclass does and a native class does not.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ActorSpec:
    """Where one actor sits: its worker and its share of the arena's structures."""

    role: str
    index: int  # among actors of the same role
    worker: int
    mix: Mapping[str, float]
    params: Mapping[str, Any] = field(default_factory=dict)
    pool: int = -1
    queue: int = -1
    pte_lo: int = 0
    pte_hi: int = 0
    memcg: int = 0
