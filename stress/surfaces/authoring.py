"""Writing scenarios: `pagerace roles` (what each role does) and `pagerace new` (a start)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from stress.roles import ROLES
from stress.scenario import ScenarioError, check_name
from stress.schemes import DEFAULT_SCHEME
from stress.sourcedoc import getdoc


def _first_line(obj: Any) -> str:
    doc = getdoc(obj)
    return doc.splitlines()[0] if doc else ""


def roles_table() -> Any:
    """Every role: what it stands for, its operations (default weights) and parameters."""
    from rich.markup import escape
    from rich.table import Table

    table = Table(title=escape("pagerace roles (in a scenario: [[roles]] role = NAME, "
                               "mix = { op = weight }, and its parameters)"), show_lines=True)
    for col in ("role", "operations (default weight)", "parameters (type, default)"):
        table.add_column(col, overflow="fold")
    for name, cls in ROLES.items():
        ops = "\n".join(f"{op} ({w:g}): {_first_line(getattr(cls, op))}"
                        for op, w in cls.OPS.items())
        params = "\n".join(f"{p} ({kind.__name__}, {str(default).lower()}): "
                           f"{cls.PARAM_HELP.get(p, '')}"
                           for p, (kind, default) in cls.PARAMS.items()) or "-"
        table.add_row(f"{name}\n{_first_line(cls)}", ops, params)
    return table


TEMPLATE = '''# A pagerace scenario.  Reference: docs/design.md ("Scenarios") and the README;
# `pagerace roles` lists every role's operations and parameters, `pagerace schemes`
# the schemes.  As written it passes: the default scheme under every kind of tryget.
name = "{name}"
description = """
What this scenario shows, in a sentence or two.
"""
claim = ""  # a claim id of docs/model.md section 5, if it reproduces one

[model]
scheme = "{scheme}"  # pagerace schemes lists the others; or "my_scheme.py:MyScheme"
memcg = "none"  # none | unmap | lifetime
# Faults and options (all false by default): truncate_leaves_checked,
# swapcache_put_before_clear, lookup_skips_recheck, check_owner_priv_1_at_free.
pages = 1024
cache_slots = 64
pte_slots = 64
# A busy wait (microseconds) inside the named race windows, so that the other worker
# contests them: a clean run whose windows nobody contested is inconclusive (exit 4).
delays = {{ lookup_tryget = 20 }}

# One table per kind of actor; `count` of them, spread over the workers.
[[roles]]
role = "nic"  # allocates from its page pool, receives into a socket queue
[[roles]]
role = "zerocopy"  # maps received pages to user space, reads, vmsplices, unmaps
[[roles]]
role = "stray"  # tryget on any page at all: a stale RCU pointer
mix = {{ tryget = 1.0, release = 1.0 }}
[[roles]]
role = "reader"  # lockless page-cache lookups
[[roles]]
role = "truncater"  # a filesystem: adds, truncates and reclaims cached pages
[[roles]]
role = "gup"  # get_user_pages_fast on user mappings

[run]
duration = 2.0  # seconds of racing
workers = 2  # worker processes: at most about 2 per CPU race well
audit_interval = 0.25  # seconds between stop-the-world audits
seeds = [1]

[expect]
clean = true  # or: detect = ["misrouted-free"] with an optional forbid = [...]
'''


def new_scenario(name: str, source: Path | None, folder: Path) -> Path:
    """Write NAME.toml in `folder`, from the template or from another scenario."""
    if why := check_name(name):
        raise ScenarioError(f"NAME: {why}")
    path = folder / f"{name}.toml"
    if source is None:
        text = TEMPLATE.format(name=name, scheme=DEFAULT_SCHEME)
    else:
        from stress.scenario import load_scenario

        original = load_scenario(source)  # refuse a broken start, with its own error
        text = source.read_text(encoding="utf-8")
        head = f'name = "{original.name}"'
        if head not in text:
            raise ScenarioError(f"{source}: name: write it as {head} on its own line to copy")
        text = (f"# Made with `pagerace new {name} --from {source}`.\n"
                + text.replace(head, f'name = "{name}"', 1))
    try:
        f = path.open("x", encoding="utf-8")
    except FileExistsError:
        raise ScenarioError(f"{path}: already exists; choose another name") from None
    except OSError as e:
        raise ScenarioError(f"{path}: cannot write: {e.strerror}") from None
    try:
        with f:
            f.write(text)
    except OSError as e:  # (a full disk: no empty file left behind to block the name)
        path.unlink(missing_ok=True)
        raise ScenarioError(f"{path}: cannot write: {e.strerror}") from None
    return path
