"""The compiled parts: the atomic C extension, and the hot path built with mypyc.

The model, the roles, the built-in schemes and the worker's loop are compiled
from the same Python source users read (docs/design.md, "Builds").  Compiling
them is an optimisation, never a requirement: without mypyc, or when it fails,
or with PAGERACE_PURE=1 at install time, the package installs as pure Python
with one warning line.  `stress/_build.json` records which build was made and
a hash of every compiled module's source, so an edited source is never
shadowed by a stale compiled module (stress/_build.py checks at import).
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent
ATOMIC = Extension(
    "stress._atomic",
    sources=["stress/_atomic.c"],
    extra_compile_args=["-O2", "-std=c11", "-Wall", "-Wno-unused-parameter"],
)
# What mypyc compiles.  Left interpreted: package __init__s and registries, and the
# actors' specs, which cross a process boundary by pickle and are read once.
HOT = ["stress/model", "stress/roles", "stress/schemes"]
INTERPRETED = {"__init__.py", "spec.py"}
EXTRA = ["stress/memory/bound.py", "stress/memory/layout.py", "stress/processes/loop.py"]
MANIFEST = "stress/_build.json"


def hot_sources() -> list[str]:
    files = [str(p.relative_to(ROOT)) for d in HOT for p in sorted((ROOT / d).glob("*.py"))
             if p.name not in INTERPRETED]
    return files + EXTRA


def module_name(path: str) -> str:
    return path.removesuffix(".py").replace("/", ".")


def source_hash(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def warn(message: str) -> None:
    # One line, on stderr, that pip shows with -v and setuptools shows always.
    print(f"pagerace: warning: {message}; installing pure Python", file=sys.stderr)


class BuildExt(build_ext):
    """build_ext that adds the mypyc extensions, and falls back to pure Python."""

    def finalize_options(self) -> None:
        self.sources = hot_sources()
        self.mypyc_names: list[str] = []
        self.failed = ""  # the mypyc extension that did not build, and why
        # Before the base class: it prepares every extension it is given (stubs, paths).
        self.pure_reason = self.compile_hot(self.sources)
        super().finalize_options()

    def run(self) -> None:
        super().run()
        reason = self.pure_reason
        if reason is None and self.failed:
            reason = f"compiling with mypyc failed ({self.failed})"
            self.remove_hot()
        if reason is not None:
            warn(reason)
        self.write_manifest(self.sources, compiled=reason is None, reason=reason)

    def compile_hot(self, sources: list[str]) -> str | None:
        """Add the mypyc extensions; the reason when the build will be pure."""
        if os.environ.get("PAGERACE_PURE") == "1":
            return "PAGERACE_PURE=1 at install"
        try:
            from mypyc.build import mypycify
        except ImportError:
            return "mypyc is not installed"
        try:
            exts = mypycify(sources, group_name="stress._native", opt_level="3",
                            debug_level="0", target_dir=os.path.join("build", "mypyc"))
        except SystemExit:  # mypyc exits on a type error, having printed it
            return "mypyc found errors in the hot path (printed above)"
        except Exception as e:
            return f"mypyc could not compile the hot path ({type(e).__name__}: {e})"
        self.mypyc_names = [e.name for e in exts]
        self.distribution.ext_modules = [ATOMIC, *exts]
        return None

    def build_extension(self, ext: Extension) -> None:
        if ext.name == ATOMIC.name:
            super().build_extension(ext)
        elif not self.failed:  # once one fails the build is pure: the rest need not build
            try:
                super().build_extension(ext)
            except Exception as e:  # no compiler for the generated C, or it failed
                self.failed = f"{ext.name}: {e}"

    def remove_hot(self) -> None:
        for name in self.mypyc_names:
            Path(self.get_ext_fullpath(name)).unlink(missing_ok=True)

    def write_manifest(self, sources: list[str], *, compiled: bool, reason: str | None) -> None:
        manifest = {
            "build": "compiled" if compiled else "pure",
            "reason": reason or "",
            # A pure build nobody asked for is said again at run time: pip hides this output.
            "fallback": not compiled and os.environ.get("PAGERACE_PURE") != "1",
            "modules": {module_name(s): source_hash(ROOT / s) for s in sources},
        }
        out = ROOT / MANIFEST if self.inplace else Path(self.build_lib) / MANIFEST
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")


setup(ext_modules=[ATOMIC], cmdclass={"build_ext": BuildExt})
