"""Which build runs: the hot path compiled with mypyc, or the same modules as Python.

`setup.py` writes `_build.json` beside this file: the build it made and a hash
of every module it compiled.  At import, before any of those modules loads,
`select()` decides, once per process:

- ``pure`` when the install is pure, when ``PAGERACE_PURE=1``, or when a compiled
  module's source has changed since it was built (an editable install after an
  edit: one warning line says so, and how to rebuild);
- ``compiled`` otherwise.

Pure means every listed module is loaded from its ``.py`` even where a compiled
one sits beside it; all or none, since compiled code rejects a Python instance
where it expects one of its native classes.
"""

from __future__ import annotations

import hashlib
import importlib.abc
import importlib.machinery
import importlib.util
import json
import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from importlib.machinery import ModuleSpec
from pathlib import Path
from types import ModuleType

PACKAGE = Path(__file__).resolve().parent
MANIFEST = PACKAGE / "_build.json"
WARNED = "PAGERACE_BUILD_WARNED"  # children of a warned process stay quiet


@dataclass(frozen=True)
class Build:
    """The build this process runs, and why."""

    name: str  # "compiled" or "pure"
    reason: str = ""  # why pure, when it is
    modules: dict[str, Path] = field(default_factory=dict)  # compiled module -> its source
    warn: bool = False  # not what was asked for (a stale compiled module, a failed build)

    def describe(self) -> dict[str, str]:
        """For a manifest or a benchmark: the build and, when pure, why."""
        return {"build": self.name} | ({"build_reason": self.reason} if self.reason else {})


class SourceFirst(importlib.abc.MetaPathFinder):
    """Finds the listed modules' `.py` files, ahead of the compiled modules beside them."""

    def __init__(self, modules: dict[str, Path]) -> None:
        self.modules = modules

    def find_spec(self, name: str, path: Sequence[str] | None = None,
                  target: ModuleType | None = None) -> ModuleSpec | None:
        source = self.modules.get(name)
        return importlib.util.spec_from_file_location(name, source) if source else None


def _source(module: str, package: Path = PACKAGE) -> Path:
    return package.parent.joinpath(*module.split(".")).with_suffix(".py")


def source_of(module: str) -> Path | None:
    """The `.py` file of one of this package's modules, compiled or not."""
    if module.split(".")[0] != PACKAGE.name:
        return None
    source = _source(module)
    return source if source.is_file() else None


def _compiled_beside(source: Path) -> bool:
    return any(source.with_suffix(s).exists() for s in importlib.machinery.EXTENSION_SUFFIXES)


def _strays(package: Path) -> dict[str, Path]:
    """Compiled modules with a source beside them, found without a manifest to list them."""
    found = {}
    for suffix in importlib.machinery.EXTENSION_SUFFIXES:
        for ext in package.rglob(f"*{suffix}"):
            source = ext.with_name(ext.name.removesuffix(suffix) + ".py")
            if source.exists():
                module = ".".join(source.relative_to(package.parent).with_suffix("").parts)
                found[module] = source
    return found


def select(environ: Mapping[str, str] = os.environ, package: Path = PACKAGE) -> Build:
    """Decide this process's build from the manifest, the environment and the sources."""
    try:
        manifest = json.loads((package / MANIFEST.name).read_text())
        hashes: dict[str, str] = manifest["modules"]
    except (OSError, ValueError, KeyError, TypeError):
        strays = _strays(package)
        if strays:
            return Build("pure", f"{MANIFEST.name} is missing beside compiled modules "
                                 "(rebuild: pip install -e .)", strays, warn=True)
        return Build("pure", "no compiled modules in this install")
    modules = {name: _source(name, package) for name in hashes}
    if manifest.get("build") != "compiled":
        reason = manifest.get("reason") or "installed pure"
        return Build("pure", reason, modules, warn=bool(manifest.get("fallback")))
    if environ.get("PAGERACE_PURE") == "1":
        return Build("pure", "PAGERACE_PURE=1", modules)
    missing = [n for n, src in modules.items() if not _compiled_beside(src)]
    if missing:
        return Build("pure", f"compiled module missing: {missing[0]}", modules)
    for name, src in modules.items():
        try:
            changed = hashlib.sha256(src.read_bytes()).hexdigest() != hashes[name]
        except OSError:
            changed = True
        if changed:
            changed_file = src.relative_to(package.parent)
            return Build("pure", f"{changed_file} changed since it was compiled "
                                 "(rebuild: pip install -e .)", modules, warn=True)
    return Build("compiled", "", {})


def install(build: Build) -> None:
    """Put the finder in place for a pure build; warn once about one nobody asked for."""
    if build.name != "pure" or not build.modules:
        return
    sys.meta_path.insert(0, SourceFirst(build.modules))
    if build.warn and not os.environ.get(WARNED):
        print(f"pagerace: warning: running pure Python: {build.reason}", file=sys.stderr)
        os.environ[WARNED] = "1"


BUILD = select()
install(BUILD)
