"""The arena: attach by name, refuse foreign layouts, leave nothing behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from stress.memory import Arena, ArenaConfig, ArenaError
from stress.memory import arena as arena_module
from stress.memory.arena import arena_path, reap_stale
from stress.memory.layout import LAYOUT_VERSION, PAGE_WORDS, Layout

CONFIG = ArenaConfig(npages=32, nworkers=2, trace_entries=16, ledger_size=8)


def test_attach_sees_the_creators_writes() -> None:
    """A second mapping by name shares the same slots and recomputes the same layout."""
    with Arena.create(CONFIG) as a, Arena.attach(a.handle()) as b:
        assert b.layout == a.layout
        a.atomic.store(a.layout.page(3), 42)
        assert b.atomic.load(b.layout.page(3)) == 42
        assert int(b.pages["refcount"][3]) == 42


def test_regions_do_not_overlap() -> None:
    """Every region starts after the previous one ends and the arena holds them all."""
    L = Layout.of(CONFIG)
    assert L.pstate >= L.pages + CONFIG.npages * PAGE_WORDS
    assert L.trace_ring(CONFIG.nworkers - 1) + 1 + CONFIG.trace_entries * 8 <= L.nslots


def test_attach_missing_segment_is_a_clear_error() -> None:
    """Attaching a name with no file says so."""
    with pytest.raises(ArenaError, match="no such segment"):
        Arena.attach("pagerace.1.nothere")


def test_attach_refuses_a_different_layout_version() -> None:
    """A header from another layout version is refused, naming both versions."""
    with Arena.create(CONFIG) as a:
        a.words[1] = LAYOUT_VERSION + 1
        with pytest.raises(ArenaError, match=f"layout version {LAYOUT_VERSION + 1}"):
            Arena.attach(a.handle())


def test_attach_refuses_bad_magic_and_moved_offsets() -> None:
    """A foreign file and a header whose offsets disagree with this build are refused."""
    with Arena.create(CONFIG) as a:
        a.words[32] += 8  # the first region offset
        with pytest.raises(ArenaError, match="offsets differ"):
            Arena.attach(a.handle())
        a.words[0] = 0
        with pytest.raises(ArenaError, match="bad magic"):
            Arena.attach(a.handle())


def test_attach_refuses_a_truncated_file() -> None:
    """A file shorter than its header claims is refused."""
    with Arena.create(CONFIG) as a:
        os.truncate(arena_path(a.name), a.layout.nbytes - 8)
        with pytest.raises(ArenaError, match="bytes"):
            Arena.attach(a.handle())


def test_clean_close_removes_the_file() -> None:
    """The creator unlinks its file on close; an attached process does not."""
    a = Arena.create(CONFIG)
    b = Arena.attach(a.handle())
    b.close()
    assert arena_path(a.name).exists()
    a.close()
    a.close()  # idempotent
    assert not arena_path(a.name).exists()


def test_killed_creator_is_reaped_by_the_next_run(tmp_path, monkeypatch) -> None:
    """A creator killed with SIGKILL leaves its file; the next create() removes it."""
    # A private arena directory: in the shared one, a test running alongside
    # (pytest -n) may reap the killed creator's file before this test looks.
    shm = tmp_path / "shm"
    shm.mkdir()
    monkeypatch.setattr(arena_module, "SHM_DIR", shm)
    code = textwrap.dedent("""
        import signal
        from stress.memory import Arena, ArenaConfig
        a = Arena.create(ArenaConfig(npages=8))
        print(a.name, flush=True)
        signal.pause()  # alive, holding the arena, until the test kills it
    """)
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True,
                             cwd=tmp_path, env={**os.environ, "PAGERACE_SHM_DIR": str(shm)})
    assert child.stdout is not None
    name = child.stdout.readline().strip()
    assert arena_path(name).exists()
    child.send_signal(signal.SIGKILL)
    child.wait()
    assert arena_path(name).exists()
    with Arena.create(CONFIG):
        assert not arena_path(name).exists()
    assert not [f for f in os.listdir(shm) if f.startswith(f"pagerace.{child.pid}.")]


def test_reap_leaves_live_runs_alone() -> None:
    """Reaping only touches files whose creator is dead."""
    with Arena.create(CONFIG) as a:
        assert a.name not in reap_stale()
        assert arena_path(a.name).exists()


@pytest.mark.parametrize("bad", [{"npages": 0}, {"pool_ring_size": 3}, {"nworkers": -1}])
def test_bad_sizes_are_refused(bad: dict[str, int]) -> None:
    """Impossible sizes are a ValueError naming the field."""
    with pytest.raises(ValueError, match=next(iter(bad))):
        ArenaConfig(**bad)


def test_an_arena_left_open_is_unlinked_when_its_process_exits(tmp_path) -> None:
    """Made and never closed (an interrupt before anyone could): gone at the process's exit."""
    code = textwrap.dedent("""
        from stress.memory import Arena, ArenaConfig
        a = Arena.create(ArenaConfig(npages=8, nworkers=1, npools=1))
        print(a.name, flush=True)
    """)
    # cwd: not the checkout, whose uncompiled sources would shadow the installed package.
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=60, cwd=tmp_path)
    name = out.stdout.strip()
    assert name.startswith("pagerace.") and not arena_path(name).exists()


def test_a_private_arena_has_no_name_to_leave_behind() -> None:
    """The explorer's arena is unlinked as soon as it is mapped: usable, and nothing in
    /dev/shm for a SIGKILL to leave."""
    from stress.memory.arena import SHM_DIR

    arena = Arena.create(CONFIG, private=True)
    try:
        arena.words[100] = 7
        assert arena.atomic.load(100) == 7
        # (other tests' arenas come and go meanwhile: look for this one's name only)
        assert not [f for f in os.listdir(SHM_DIR) if arena.name in f]
        with pytest.raises(ArenaError, match="no such segment"):
            Arena.attach(arena.name)
    finally:
        arena.close()
