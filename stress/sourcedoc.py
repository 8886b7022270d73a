"""Docstrings that survive compilation: mypyc keeps no docstring of a native class or method.

`pagerace roles` and the scenario reference print the first line of a role's and
each operation's docstring; in the compiled build those are read from the module's
source, which is installed beside every compiled module.
"""

from __future__ import annotations

import ast
import inspect
from functools import cache
from typing import Any

from stress._build import source_of


def getdoc(obj: Any) -> str:
    """`inspect.getdoc`, falling back to the source of a compiled class or function."""
    doc = inspect.getdoc(obj)
    if doc:
        return doc
    owner = getattr(obj, "__objclass__", obj)
    module, qualname = getattr(owner, "__module__", None), getattr(obj, "__qualname__", None)
    if not (module and qualname):
        return ""
    return _docs(module).get(qualname, "")


@cache
def _docs(module: str) -> dict[str, str]:
    """Every class's and function's docstring in `module`'s source, by qualified name."""
    source = source_of(module)
    if source is None:
        return {}
    docs: dict[str, str] = {}

    def walk(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
                name = prefix + node.name
                docs[name] = ast.get_docstring(node) or ""  # cleaned as inspect.getdoc does
                if isinstance(node, ast.ClassDef):
                    walk(node.body, name + ".")

    walk(ast.parse(source.read_text()).body, "")
    return docs
