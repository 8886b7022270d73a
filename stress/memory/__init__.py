"""The bottom layer: the shared arena, its layout and the atomic memory backends."""

from stress.memory.arena import Arena, ArenaError, ArenaHandle
from stress.memory.backends import BACKENDS, Memory, make_memory
from stress.memory.layout import ArenaConfig, Layout

__all__ = [
    "BACKENDS",
    "Arena",
    "ArenaConfig",
    "ArenaError",
    "ArenaHandle",
    "Layout",
    "Memory",
    "make_memory",
]
