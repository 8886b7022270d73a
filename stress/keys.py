"""A scenario key, declared once, where its field is.

A table of a scenario file is a dataclass (`ModelConfig`, `Sizes`, `RunSpec`,
`ExploreSpec`); each of its fields is a key, declared with `key(...)`: its type is
the annotation, its default the field's, and the field's metadata holds the rest,
its bounds or choices and the words that explain it.  The loader checks a value
against that (`stress.scenario`), the JSON Schema and docs/scenarios.md are built
from it (`stress.schema`), and a command-line option that overrides a key takes its
help from it (`help_of`): nothing says what a key is anywhere else.
"""

from __future__ import annotations

from dataclasses import MISSING, Field, dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class Key:
    help: str  # what the key means, for the schema, the docs and the CLI
    lo: float | None = None  # inclusive bounds of a number
    hi: float | None = None
    choices: tuple[Any, ...] = ()  # the values it may take, when a list says it best
    power_of_two: bool = False  # an integer that must be a power of two (1 to hi)


def key(default: Any, *, help: str, lo: float | None = None, hi: float | None = None,
        choices: tuple[Any, ...] = (), power_of_two: bool = False,
        factory: Any = MISSING) -> Any:
    """A dataclass field that is a scenario key with a default (see the module's docstring;
    `factory` instead of `default` for a mutable one)."""
    m = meta(help=help, lo=lo, hi=hi, choices=choices, power_of_two=power_of_two)
    if factory is not MISSING:
        return field(default_factory=factory, metadata=m)
    return field(default=default, metadata=m)


def meta(*, help: str, lo: float | None = None, hi: float | None = None,
         choices: tuple[Any, ...] = (), power_of_two: bool = False) -> dict[str, Key]:
    """The metadata of a required key: `name: str = field(metadata=meta(help=...))` (a
    type checker sees a field without a default only in `field` itself)."""
    return {"key": Key(help, lo, hi, tuple(choices), power_of_two)}


def key_of(f: Field[Any]) -> Key:
    """The declaration of a field that is a key (KeyError: a field that is not one)."""
    k = f.metadata.get("key")
    if not isinstance(k, Key):
        raise KeyError(f"{f.name}: declared without key(...)")
    return k


def keys(cls: type) -> dict[str, tuple[Field[Any], Key]]:
    """A table's keys in declaration order: name -> (field, declaration).  Fields that are
    not keys (a `Scenario`'s tables) are not in it."""
    return {f.name: (f, key_of(f)) for f in fields(cls) if "key" in f.metadata}


def help_of(cls: type, name: str) -> str:
    """The help of one key (for a command-line option that overrides it)."""
    return keys(cls)[name][1].help


def default_of(f: Field[Any]) -> Any:
    if f.default_factory is not MISSING:
        return f.default_factory()
    return None if f.default is MISSING else f.default
