"""`python -m stress`: the `pagerace` command.

Run from a checkout's root after a plain `pip install .`, Python puts the source
tree first on sys.path and imports the package from it, where the C extension
was never built.  Then this re-runs itself without the current directory on
sys.path (`-P`), so the installed package is used, or says in one line what to do.
"""

import importlib.machinery
import importlib.util
import os
import sys


def _installed_elsewhere(tree: str) -> bool:
    """Whether a `stress` package other than the one in `tree` is importable."""
    path = [p for p in sys.path if os.path.abspath(p or ".") != tree]
    spec = importlib.machinery.PathFinder.find_spec("stress", path)
    return spec is not None


if importlib.util.find_spec("stress._atomic") is None:
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if not sys.flags.safe_path and _installed_elsewhere(here):
        os.execv(sys.executable, [sys.executable, "-P", "-m", "stress", *sys.argv[1:]])
    print(f"pagerace: the C extension stress._atomic is not built in {here}: install the "
          "package (pip install .), or build it in place (pip install -e .)", file=sys.stderr)
    sys.exit(2)

from stress.surfaces.entry import main  # noqa: E402  (after the check above)

sys.exit(main())
