"""pagerace: a multiprocess stress harness for page refcount lifecycles."""

__version__ = "0.1.0"
