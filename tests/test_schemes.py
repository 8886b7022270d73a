"""Schemes as plug-ins: the registry, the protocol check, files and entry points."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from e2e import pagerace, summaries

from stress.model.scheme import HOOKS, missing_hooks
from stress.scenario import ScenarioError, load_scenario
from stress.schemes import BUILTIN, SchemeError, available, load_scheme

DATA = Path(__file__).parent / "data"
EXAMPLES = Path(__file__).parent.parent / "examples"
SCHEME_FILE = '''
from stress.model import put_page

class Plain:
    name = "plain"
    summary = "a test scheme: every page to the allocator"
    pool_free_refcount = 1
    driver_recycles = True

    def page_pool_set_pp_info(self, m, p, pool): pass
    def page_pool_clear_pp_info(self, m, p): pass
    def put_page_route(self, m, p): return False
    def skb_frag_unref(self, m, p): put_page(m, p)
    def release_page_route(self, m, p): return False

class NoRoute(Plain):
    put_page_route = None

class Seven(Plain):
    pool_free_refcount = 7

class Multiline(Plain):
    name = "two\\nlines"

class Essay(Plain):
    summary = "x" * 301

class Yes(Plain):
    def put_page_route(self, m, p): return "yes"

class Raises(Plain):
    def release_page_route(self, m, p): raise KeyError(p)
'''


@pytest.mark.parametrize("name", list(BUILTIN))
def test_every_builtin_scheme_satisfies_the_protocol(name: str) -> None:
    """The four designs of the thread load by name and define every hook."""
    scheme = load_scheme(name)
    assert scheme.name == name and not missing_hooks(scheme)
    assert scheme.summary and scheme.pool_free_refcount in (0, 1)


def test_missing_hook_is_named() -> None:
    """An object lacking a hook is refused with that hook's name."""
    class Half:
        name = "half"
        summary = "x"
        pool_free_refcount = 0
        driver_recycles = "no"

    missing = missing_hooks(Half())
    assert missing[0] == "driver_recycles (not a bool)"
    assert set(HOOKS) - {"name", "summary", "pool_free_refcount", "driver_recycles"} \
        == set(missing[1:])


def test_unknown_scheme_lists_the_known_ones() -> None:
    """A misspelt name is one line with every name that would have worked."""
    with pytest.raises(SchemeError, match=r"unknown scheme 'pg_netwrok' \(known: driver_ref, "
                                          r"pg_network, pg_network_put_page_only, dtor_ref1, "
                                          r"dtor_ref1_lru, pp_magic"):
        load_scheme("pg_netwrok")


def _scenario(tmp_path: Path, scheme: str) -> Path:
    text = (DATA / "clean_pg_network.toml").read_text()
    path = tmp_path / "s.toml"
    path.write_text(text.replace('scheme = "pg_network"', f'scheme = "{scheme}"'))
    return path


def test_file_scheme_resolves_relative_to_the_scenario(tmp_path: Path) -> None:
    """`scheme = "my.py:Class"` is read next to the scenario and stored as an absolute path."""
    (tmp_path / "my.py").write_text(SCHEME_FILE)
    scn = load_scenario(_scenario(tmp_path, "my.py:Plain"))
    assert scn.model.scheme == f"{tmp_path / 'my.py'}:Plain"
    assert load_scheme(scn.model.scheme).name == "plain"


@pytest.mark.parametrize(("spec", "needle"), [
    ("my.py:NoRoute", "does not satisfy the Scheme protocol: missing put_page_route "
                      "(not callable)"),
    ("my.py:Nothing", "has no 'Nothing'"),
    ("gone.py:Plain", "no such file"),
    ("broken.py:Plain", "cannot import"),
    ("my.py:Seven", "pool_free_refcount (7, not 0 or 1)"),
    ("my.py:Multiline", "name (not one printable line of 1 to 64 characters)"),
    ("my.py:Essay", "summary (not one printable line of 1 to 300 characters)"),
    ("exits.py:Plain", "exits.py called sys.exit(7) while being imported"),
    ("loops.py:Plain", "importing it did not finish in 3 s"),
])
def test_bad_file_scheme_is_one_line_naming_the_key(tmp_path: Path, spec: str, needle: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheme file that is missing, broken, incomplete, out of range, or that exits or
    loops while imported (tried in a child first, with a time limit): one line each."""
    import stress.schemes

    monkeypatch.setattr(stress.schemes, "IMPORT_TIMEOUT_S", 3.0)
    (tmp_path / "my.py").write_text(SCHEME_FILE)
    (tmp_path / "broken.py").write_text("import nowhere_to_be_found\n")
    (tmp_path / "exits.py").write_text("import sys\nsys.exit(7)\n")
    (tmp_path / "loops.py").write_text("while True:\n    pass\n")
    path = _scenario(tmp_path, spec)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    msg = str(e.value)
    assert msg.startswith(f"{path}: model.scheme: ") and needle in msg and "\n" not in msg, msg


@pytest.mark.parametrize(("cls", "hook", "says"), [
    ("Yes", "put_page_route", "returned 'yes', not bool"),
    ("Raises", "release_page_route", "raised KeyError: 3"),
])
def test_a_hook_that_breaks_its_contract_names_itself(tmp_path: Path, cls: str, hook: str,
                                                      says: str) -> None:
    """A plug-in's hook returning the wrong type or raising: the error names the scheme, the
    hook and the value, not the model."""
    from stress.schemes import HookError

    (tmp_path / "my.py").write_text(SCHEME_FILE)
    spec = f"{tmp_path / 'my.py'}:{cls}"
    scheme = load_scheme(spec)
    with pytest.raises(HookError) as e:
        getattr(scheme, hook)(None, 3)
    assert str(e.value) == f"scheme {spec!r}: {hook} {says}"
    assert scheme.page_pool_clear_pp_info(None, 3) is None  # a good hook goes through


def test_entry_point_scheme_is_found_and_loaded(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A distribution declaring `pagerace.schemes` entry points adds schemes by name."""
    (tmp_path / "thirdparty_schemes.py").write_text(SCHEME_FILE)
    dist = tmp_path / "thirdparty_schemes-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: thirdparty-schemes\n"
                                   "Version: 1.0\n")
    (dist / "entry_points.txt").write_text("[pagerace.schemes]\n"
                                           "plain_ep = thirdparty_schemes:Plain\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    found = {f.name: f for f in available()}
    assert found["plain_ep"].origin == "entry point (thirdparty-schemes)"
    assert load_scheme("plain_ep").summary.startswith("a test scheme")


def test_the_model_never_asks_a_schemes_name() -> None:
    """Outside the scheme modules and the registry, no code compares scheme names."""
    root = Path(__file__).parent.parent / "stress"
    names = [f'"{n}"' for n in BUILTIN]
    offenders = []
    for path in root.rglob("*.py"):
        if path.parent.name == "schemes":
            continue
        text = path.read_text()
        offenders += [f"{path}: {n}" for n in names if n in text]
        if "scheme ==" in text:
            offenders.append(f"{path}: scheme ==")
    assert offenders == []


@pytest.mark.xdist_group("e2e")
def test_example_scheme_verdicts(tmp_path: Path) -> None:
    """The worked example in examples/: its clean scenario passes, its buggy one is detected."""
    res = pagerace("run", str(EXAMPLES / "dtor-at-alloc.toml"),
                   str(EXAMPLES / "dtor-at-alloc-oneshot.toml"), "--duration", "1",
                   "--out", "runs", cwd=tmp_path)
    assert res.returncode == 0, res.stdout + res.stderr
    by_name = {s["scenario"]: s for s in summaries(tmp_path / "runs")}
    clean = by_name["example-dtor-at-alloc"]
    buggy = by_name["example-dtor-at-alloc-oneshot"]
    assert clean["verdict"] == "pass" and clean["anomalies"] == {}
    assert clean["scheme"] == "dtor_at_alloc"
    assert buggy["verdict"] == "pass" and "misrouted-free" in buggy["anomalies"]


def test_schemes_command_lists_builtin_schemes(tmp_path: Path) -> None:
    """`pagerace schemes` names each scheme with its summary and where it comes from."""
    out = subprocess.run([sys.executable, "-m", "stress", "schemes"], capture_output=True,
                         text=True, cwd=tmp_path, check=True).stdout
    for name in BUILTIN:
        assert name in out
    assert "built-in: stress.schemes.pg_network:PgNetwork" in out


def test_the_model_s_own_signals_pass_through_a_plug_in_s_hooks() -> None:
    """A finding, a VM_BUG_ON or a step bound raised by the model inside a plug-in's hook
    is the model's, not the plug-in's fault: the explorer finds the example's bug."""
    from stress.explore.runner import ExploreOptions, explore
    from stress.scenario import load_scenario

    scn = load_scenario(Path(__file__).parent.parent / "examples" / "dtor-at-alloc-oneshot.toml")
    _, finding = explore(scn, ExploreOptions(strategy="pct", seed=1, schedules=3_000))
    assert finding is not None and finding.kind in scn.expect.detect
