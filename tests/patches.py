"""Small patches to the package, applied to a scratch copy: the mutants and the explorer's bugs.

A patch is a TOML file: `file` (a path in the package, `stress/...`), `bug` (what it
plants), and `old` / `new`, where `old` must occur in the file exactly once.  The copy
is of the installed package, built extension included, never of the source tree.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any


class PatchError(Exception):
    """A patch that does not apply: the message names the patch and why."""


@dataclass(frozen=True)
class Patch:
    name: str
    file: str
    bug: str
    old: str
    new: str
    extra: dict[str, Any]

    @classmethod
    def load(cls, path: Path) -> Patch:
        try:
            d = tomllib.loads(path.read_text())
            return cls(path.stem, d.pop("file"), d.pop("bug"), d.pop("old"), d.pop("new"), d)
        except (tomllib.TOMLDecodeError, KeyError) as e:
            raise PatchError(f"{path}: malformed patch: {e}") from None

    def apply(self, root: Path) -> None:
        """Patch the package copy under `root` (which holds `stress/`)."""
        if not self.old:
            return  # the empty patch: the baseline
        target = root / self.file
        if not target.is_file():
            raise PatchError(f"{self.name}: file: {self.file} is not in the package")
        text = target.read_text()
        if (n := text.count(self.old)) != 1:
            raise PatchError(f"{self.name}: old: occurs {n} times in {self.file}, not once")
        target.write_text(text.replace(self.old, self.new))


def package_dir() -> Path:
    """The installed package (run from elsewhere, so the source tree cannot shadow it)."""
    out = subprocess.run([sys.executable, "-c", "import stress; print(stress.__file__)"],
                         capture_output=True, text=True, cwd=tempfile.gettempdir(), check=True)
    return Path(out.stdout.strip()).parent


def patched_copy(patch: Patch, into: Path, package: Path | None = None) -> Path:
    """A copy of the package under `into`, patched; returns `into` (the PYTHONPATH).

    The copy runs pure Python: its compiled modules were built from the unpatched
    source.  (Left compiled, the copy would still run pure, with a stale-build warning.)
    """
    shutil.copytree(package or package_dir(), into / "stress",
                    ignore=shutil.ignore_patterns("__pycache__"))
    patch.apply(into)
    manifest = into / "stress" / "_build.json"
    if manifest.exists():
        build = json.loads(manifest.read_text())
        build.update(build="pure", reason=f"a patched copy ({patch.name})")
        manifest.write_text(json.dumps(build))
    return into
