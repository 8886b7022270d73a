"""pagerace: a multiprocess stress harness for page refcount lifecycles."""

# First: the choice between the compiled hot path and its Python source (stress/_build.py)
# must be made before any of those modules is imported.
from stress._build import BUILD

__version__ = "0.1.0"
__all__ = ["BUILD", "__version__"]
