"""Schemes: the designs of the 2021 thread, one module each, and the ones users bring.

A scenario's `model.scheme` names a scheme three ways:

- a built-in name (`driver_ref`, `pg_network`, `pg_network_put_page_only`, `dtor_ref1`,
  `dtor_ref1_lru`, `pp_magic`);
- the name of an entry point in the group `pagerace.schemes`, so that a separate
  package can ship schemes (`[project.entry-points."pagerace.schemes"]`);
- `path/to/file.py:ClassName`, a file relative to the scenario.

Whatever it names must satisfy `stress.model.scheme.Scheme`; a class is
instantiated with no arguments.  Errors are `SchemeError`, one line.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

from stress.anomalies import HarnessSignal
from stress.model.ptr_ring import RingStuck
from stress.model.scheme import RETURNS, Scheme, missing_hooks

ENTRY_POINT_GROUP = "pagerace.schemes"
DEFAULT_SCHEME = "pg_network"  # what a scenario that names no scheme gets
BUILTIN = {
    "driver_ref": "stress.schemes.driver_ref:DriverRef",
    "pg_network": "stress.schemes.pg_network:PgNetwork",
    "pg_network_put_page_only": "stress.schemes.pg_network:PgNetworkPutPageOnly",
    "dtor_ref1": "stress.schemes.dtor_ref1:DtorRef1",
    "dtor_ref1_lru": "stress.schemes.dtor_ref1:DtorRef1Lru",
    "pp_magic": "stress.schemes.pp_magic:PpMagic",
}


class SchemeError(Exception):
    """A scheme that cannot be loaded or does not satisfy the protocol: one line."""


@dataclass(frozen=True)
class Found:
    name: str
    target: str  # "module:attr" or "file.py:attr"
    origin: str  # "built-in", "entry point (distribution)", "file"


def is_file_spec(spec: str) -> bool:
    return ".py:" in spec


def resolve_path(spec: str, relative_to: Path) -> str:
    """A file spec with its path made absolute against a scenario's folder."""
    path, _, attr = spec.rpartition(":")
    return f"{(relative_to / path).resolve()}:{attr}"


def available() -> list[Found]:
    """Every scheme that can be named: built-in first, then entry points by name."""
    found = [Found(name, target, "built-in") for name, target in BUILTIN.items()]
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name not in BUILTIN:
            dist = ep.dist.name if ep.dist else "?"
            found.append(Found(ep.name, ep.value, f"entry point ({dist})"))
    return found


_cache: dict[str, Scheme] = {}


# Seconds a plug-in's import may take in the probe before it is called hung.
IMPORT_TIMEOUT_S = float(os.environ.get("PAGERACE_PLUGIN_IMPORT_TIMEOUT", "20"))


def load_scheme(spec: str, *, probe: bool = True) -> Scheme:
    """The scheme `spec` names (built-in, entry point, or absolute `file.py:Class`).

    A plug-in (not a built-in) is first imported in a child process with a time limit
    (`probe`), so one that loops or exits while being imported is one line, not a hung
    or silent command; processes that load a scheme the parent has loaded skip it.
    Its hooks are then checked on every call (`checked_hooks`).
    """
    if spec in _cache:
        return _cache[spec]
    if is_file_spec(spec):
        if probe:
            _probe(spec)
        obj = _from_file(spec)
    else:
        by_name = {f.name: f for f in available()}
        if spec not in by_name:
            raise SchemeError(f"unknown scheme {spec!r} (known: {', '.join(by_name)}; "
                              "or name a file: path/to/file.py:ClassName)")
        if probe and spec not in BUILTIN:
            _probe(spec)
        obj = _from_target(spec, by_name[spec].target)
    scheme = _instantiate(spec, obj)
    if spec not in BUILTIN:
        checked_hooks(spec, scheme)
    _cache[spec] = scheme
    return scheme


_PROBE = """
import sys
from stress.schemes import SchemeError, load_scheme
try:
    load_scheme(sys.argv[1], probe=False)
except SchemeError as e:
    print(e, file=sys.stderr)
    sys.exit(3)
"""


def _probe(spec: str) -> None:
    """Import the plug-in in a child first: a loop or an exit there cannot take us with it."""
    # The child imports this very `stress` (not a checkout's sources in its working
    # directory: -P), then finds the plug-in's own imports where this process does.
    here = str(Path(__file__).resolve().parent.parent.parent)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([here, *(p for p in sys.path if p)]))
    try:
        res = subprocess.run([sys.executable, "-P", "-c", _PROBE, spec], env=env, text=True,
                             capture_output=True, timeout=IMPORT_TIMEOUT_S,
                             stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SchemeError(f"scheme {spec!r}: importing it did not finish in "
                          f"{IMPORT_TIMEOUT_S:g} s (a loop, or a wait, at import?)") from None
    if res.returncode == 3 and res.stderr.strip():
        raise SchemeError(res.stderr.strip().splitlines()[-1][:500])
    if res.returncode != 0:
        tail = (res.stderr.strip().splitlines() or ["no message"])[-1][:300]
        raise SchemeError(f"scheme {spec!r}: importing it ended the process with exit code "
                          f"{res.returncode} ({tail})")


class HookError(RuntimeError):
    """A plug-in's hook raised or returned what it must not: names the scheme and hook."""


def checked_hooks(spec: str, scheme: Scheme) -> None:
    """Wrap a plug-in's hooks so a wrong result or an exception names it, the hook and the
    value (the built-ins, compiled and tested, go unwrapped)."""
    for hook, returns in RETURNS.items():
        fn = getattr(scheme, hook)

        def call(*args: Any, _fn: Any = fn, _hook: str = hook,
                 _returns: type | None = returns) -> Any:
            try:
                r = _fn(*args)
            except (HarnessSignal, RingStuck):
                raise  # the model's, raised inside the hook: not the plug-in's fault
            except Exception as e:
                raise HookError(f"scheme {spec!r}: {_hook} raised {type(e).__name__}: "
                                f"{e}") from e
            if (r is not None) if _returns is None else (type(r) is not _returns):
                want = "None" if _returns is None else _returns.__name__
                raise HookError(f"scheme {spec!r}: {_hook} returned {r!r:.60}, not {want}")
            return r

        try:
            setattr(scheme, hook, call)
        except (AttributeError, TypeError):
            raise SchemeError(f"scheme {spec!r}: its hooks cannot be wrapped to be checked "
                              "(a class with __slots__?)") from None


def _from_target(spec: str, target: str) -> Any:
    module, _, attr = target.partition(":")
    try:
        mod = importlib.import_module(module)
    except SystemExit as e:
        raise SchemeError(f"scheme {spec!r}: {module} called sys.exit({e.code!r}) while "
                          "being imported") from None
    except Exception as e:  # a plug-in's import error is the plug-in's, in one line
        raise SchemeError(f"scheme {spec!r}: cannot import {module}: "
                          f"{type(e).__name__}: {e}") from None
    try:
        return getattr(mod, attr) if attr else mod
    except AttributeError:
        raise SchemeError(f"scheme {spec!r}: {module} has no {attr!r}") from None


def _from_file(spec: str) -> Any:
    path_text, _, attr = spec.rpartition(":")
    path = Path(path_text)
    if not path.is_file():
        raise SchemeError(f"scheme {spec!r}: no such file {path}")
    # One module per file, named after its path, so a worker loading it again gets
    # the same module and two files of one name do not collide.
    name = "pagerace_scheme_" + hashlib.sha1(str(path).encode()).hexdigest()[:12]
    mod = sys.modules.get(name)
    if mod is None:
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            raise SchemeError(f"scheme {spec!r}: {path} is not a Python module")
        mod = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = mod
        try:
            module_spec.loader.exec_module(mod)
        except SystemExit as e:
            del sys.modules[name]
            raise SchemeError(f"scheme {spec!r}: {path} called sys.exit({e.code!r}) while "
                              "being imported") from None
        except Exception as e:
            del sys.modules[name]
            raise SchemeError(f"scheme {spec!r}: cannot import {path}: "
                              f"{type(e).__name__}: {e}") from None
    if not hasattr(mod, attr):
        raise SchemeError(f"scheme {spec!r}: {path} has no {attr!r}")
    return getattr(mod, attr)


def _instantiate(spec: str, obj: Any) -> Scheme:
    if isinstance(obj, type):
        try:
            obj = obj()
        except Exception as e:
            raise SchemeError(f"scheme {spec!r}: {obj.__name__}() failed: "
                              f"{type(e).__name__}: {e}") from None
    if missing := missing_hooks(obj):
        raise SchemeError(f"scheme {spec!r}: does not satisfy the Scheme protocol: missing "
                          f"{', '.join(missing)}")
    scheme: Scheme = obj
    return scheme


__all__ = ["BUILTIN", "DEFAULT_SCHEME", "ENTRY_POINT_GROUP", "Found", "HookError", "SchemeError",
           "available", "checked_hooks", "is_file_spec", "load_scheme", "resolve_path"]
