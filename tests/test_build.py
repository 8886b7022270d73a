"""The two builds: which one runs, the switch between them, and a stale compiled module."""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import stress
from stress._build import SourceFirst, select
from stress.sourcedoc import getdoc

ROOT = Path(__file__).parent.parent
EXT = importlib.machinery.EXTENSION_SUFFIXES[0]
COMPILED = stress.BUILD.name == "compiled"


def fake_install(tmp_path: Path, build: str = "compiled") -> Path:
    """A package dir as setup.py leaves it: a source, a compiled module beside it, a manifest."""
    pkg = tmp_path / "stress"
    (pkg / "model").mkdir(parents=True)
    src = pkg / "model" / "page_ref.py"
    src.write_text("def get_page(): pass\n")
    src.with_name("page_ref" + EXT).write_bytes(b"")
    modules = {"stress.model.page_ref": hashlib.sha256(src.read_bytes()).hexdigest()}
    (pkg / "_build.json").write_text(json.dumps({"build": build, "modules": modules}))
    return pkg


def test_build_is_the_one_expected() -> None:
    """CI says which build it installed (PAGERACE_EXPECT_BUILD): a silent fallback fails here."""
    expected = os.environ.get("PAGERACE_EXPECT_BUILD")
    if expected is None:
        pytest.skip("PAGERACE_EXPECT_BUILD is not set")
    assert stress.BUILD.name == expected, stress.BUILD.reason


def test_a_matching_compiled_install_runs_compiled(tmp_path: Path) -> None:
    """Manifest, compiled modules and unchanged sources: the compiled build."""
    assert select({}, fake_install(tmp_path)).name == "compiled"


def test_pure_switch_and_pure_install(tmp_path: Path) -> None:
    """PAGERACE_PURE=1 or a pure install: every listed module comes from its source."""
    pkg = fake_install(tmp_path)
    b = select({"PAGERACE_PURE": "1"}, pkg)
    assert (b.name, b.reason, b.warn) == ("pure", "PAGERACE_PURE=1", False)
    assert b.modules == {"stress.model.page_ref": pkg / "model" / "page_ref.py"}
    assert select({}, fake_install(tmp_path / "p", build="pure")).name == "pure"


def test_a_pure_build_nobody_asked_for_is_said_at_run_time(tmp_path: Path) -> None:
    """pip hides the install's warning: a fallback build warns again when it runs."""
    pkg = fake_install(tmp_path, build="pure")
    manifest = json.loads((pkg / "_build.json").read_text())
    manifest.update(reason="mypyc is not installed", fallback=True)
    (pkg / "_build.json").write_text(json.dumps(manifest))
    b = select({}, pkg)
    assert (b.name, b.reason, b.warn) == ("pure", "mypyc is not installed", True)


@pytest.mark.skipif(importlib.util.find_spec("setuptools") is None, reason="needs setuptools")
def test_without_mypyc_the_install_is_pure_with_one_warning(tmp_path: Path) -> None:
    """setup.py where mypyc cannot be imported: the atomic extension, a pure manifest, one line."""
    shutil.copy(ROOT / "setup.py", tmp_path)
    shutil.copytree(ROOT / "stress", tmp_path / "stress",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "_build.json"))
    code = ("import runpy, sys; sys.modules['mypyc'] = None; "
            "sys.argv = ['setup.py', '-q', 'build_ext', '--inplace']; "
            "runpy.run_path('setup.py', run_name='__main__')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         cwd=tmp_path, env={**os.environ, "PAGERACE_PURE": "0"}, timeout=600)
    assert out.returncode == 0, out.stderr
    warnings = [line for line in out.stderr.splitlines() if line.startswith("pagerace:")]
    assert warnings == ["pagerace: warning: mypyc is not installed; installing pure Python"]
    manifest = json.loads((tmp_path / "stress" / "_build.json").read_text())
    assert manifest["build"] == "pure" and manifest["fallback"] is True
    built = sorted(p.name.split(".")[0] for p in (tmp_path / "stress").rglob("*.so"))
    assert built == ["_atomic"]


def test_an_edited_source_is_never_shadowed(tmp_path: Path) -> None:
    """A source edited after its module was compiled: pure, stale, and the file named."""
    pkg = fake_install(tmp_path)
    (pkg / "model" / "page_ref.py").write_text("def get_page(): return 1\n")
    b = select({}, pkg)
    assert b.name == "pure" and b.warn and "stress/model/page_ref.py changed" in b.reason


def test_compiled_modules_without_a_manifest_are_not_used(tmp_path: Path) -> None:
    """A compiled module left beside its source with no manifest: its source runs."""
    pkg = fake_install(tmp_path)
    (pkg / "_build.json").unlink()
    b = select({}, pkg)
    assert b.name == "pure" and b.warn and list(b.modules) == ["stress.model.page_ref"]


def test_a_missing_compiled_module_means_pure(tmp_path: Path) -> None:
    """The manifest says compiled but a module was not built: pure (all or none)."""
    pkg = fake_install(tmp_path)
    (pkg / "model" / ("page_ref" + EXT)).unlink()
    assert select({}, pkg).name == "pure"


def test_source_first_finds_the_source(tmp_path: Path) -> None:
    """The finder hands out the listed module's .py, and nothing else."""
    src = fake_install(tmp_path) / "model" / "page_ref.py"
    finder = SourceFirst({"stress.model.page_ref": src})
    spec = finder.find_spec("stress.model.page_ref")
    assert spec is not None and spec.origin == str(src)
    assert finder.find_spec("stress.model.swap") is None


def module_files(env: dict[str, str], package_root: Path | None = None) -> tuple[str, str]:
    """"BUILD.name origin-of-machine" and stderr, from a fresh interpreter."""
    code = ("import stress, stress.model.machine as m; "
            "print(stress.BUILD.name, m.__spec__.origin)")
    env = {**os.environ, **env}
    env.pop("PAGERACE_BUILD_WARNED", None)
    if package_root is not None:
        env["PYTHONPATH"] = str(package_root)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env=env, cwd=package_root or Path("/"), check=True)
    return out.stdout.strip(), out.stderr.strip()


@pytest.mark.skipif(not COMPILED, reason="a compiled install")
def test_the_switch_at_run_time() -> None:
    """Compiled by default, the same modules' sources with PAGERACE_PURE=1."""
    compiled, _ = module_files({"PAGERACE_PURE": "0"})
    assert compiled.startswith("compiled ") and compiled.endswith(".so")
    pure, _ = module_files({"PAGERACE_PURE": "1"})
    assert pure.startswith("pure ") and pure.endswith("machine.py")


@pytest.mark.skipif(not COMPILED, reason="a compiled install")
def test_an_edited_copy_runs_its_edit_and_says_so(tmp_path: Path) -> None:
    """A copy of the compiled install with one source edited: pure, one warning line."""
    shutil.copytree(Path(stress.__file__).parent, tmp_path / "stress",
                    ignore=shutil.ignore_patterns("__pycache__"))
    machine = tmp_path / "stress" / "model" / "machine.py"
    machine.write_text(machine.read_text() + "\nEDITED = True\n")
    out, err = module_files({"PAGERACE_PURE": "0"}, tmp_path)
    assert out.startswith("pure ") and out.endswith(str(machine))
    assert err == ("pagerace: warning: running pure Python: stress/model/machine.py changed "
                   "since it was compiled (rebuild: pip install -e .)")


def test_docstrings_of_compiled_roles_come_from_the_source() -> None:
    """`pagerace roles` reads a role's and an op's first line, compiled or not."""
    from stress.roles.nic import Nic
    assert getdoc(Nic).startswith("A NIC")
    assert getdoc(Nic.rx)


def test_the_modules_loaded_are_the_build_named() -> None:
    """BUILD says compiled exactly when the hot path's modules are the compiled ones."""
    from stress.memory import bound
    from stress.model import machine
    assert bound.COMPILED == (stress.BUILD.name == "compiled")
    assert machine.__spec__ is not None and machine.__spec__.origin is not None
    assert machine.__spec__.origin.endswith(".py") == (stress.BUILD.name == "pure")
