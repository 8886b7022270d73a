"""Contested race windows: counted from trace records, and what a clean verdict makes of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from e2e import pagerace

from stress.checks.contests import WindowCounter, never_contested
from stress.checks.verdict import verdict
from stress.memory.trace import TRACE_DTYPE
from stress.model.machine import Op
from stress.scenario import Expect
from stress.summary import StressSummary
from stress.surfaces.results import EXIT_FAIL, EXIT_INCONCLUSIVE, EXIT_OK, exit_code


def ring(worker: int, *records: tuple[int, int, int]) -> np.ndarray:
    """A worker's ring from (ts, op, page) records, oldest first."""
    out = np.zeros(len(records), TRACE_DTYPE)
    for i, (ts, op, page) in enumerate(records):
        out[i]["ts"], out[i]["tag"], out[i]["page"] = ts, worker << 16 | op, page
    return out


LOOKUP = ring(0, (10, Op.slot_read, 5), (20, Op.get_page_unless_zero, 5))


def counted(*rings: np.ndarray) -> dict[str, dict[str, int]]:
    c = WindowCounter(len(rings))
    c.sample(list(rings))
    return c.summary()


def test_another_worker_inside_the_window_contests_it() -> None:
    """Worker 1 puts the page between worker 0's slot load and its tryget: contested."""
    other = ring(1, (15, Op.put_page, 5))
    assert counted(LOOKUP, other) == {"slot_read": {"windows": 1, "contested": 1}}


@pytest.mark.parametrize("other", [
    ring(1, (15, Op.put_page, 6)),  # another page
    ring(1, (5, Op.put_page, 5), (25, Op.put_page, 5)),  # before and after, not inside
    ring(1, (20, Op.put_page, 5)),  # at the act itself: not strictly inside
])
def test_what_does_not_touch_the_window_leaves_it_uncontested(other: np.ndarray) -> None:
    """Another page, or the same page outside the window: seen, not contested."""
    assert counted(LOOKUP, other) == {"slot_read": {"windows": 1, "contested": 0}}


def test_the_reading_worker_does_not_contest_itself() -> None:
    """A worker's own operations inside its window (another of its actors) are no race."""
    mine = ring(0, (10, Op.slot_read, 5), (12, Op.put_page, 5), (20, Op.get_page_unless_zero, 5))
    assert counted(mine, ring(1)) == {"slot_read": {"windows": 1, "contested": 0}}


def test_a_window_closes_at_its_act_not_at_the_next_record() -> None:
    """Swap-cache removal: the window runs past PG_swapcache's clear to the dropped reference."""
    remover = ring(0, (10, Op.swapcache_delete, 3), (11, Op.swapcache_clear, 3),
                   (40, Op.put_page, 3))
    stray = ring(1, (30, Op.get_page_unless_zero, 3))
    assert counted(remover, stray) == {"swapcache_delete": {"windows": 1, "contested": 1}}


def test_an_open_window_is_not_counted_until_it_closes() -> None:
    """A read whose act is not in the ring yet counts at a later sample, once."""
    c = WindowCounter(2)
    c.sample([LOOKUP[:1], ring(1, (15, Op.put_page, 5))])
    assert c.summary() == {}
    c.sample([LOOKUP, ring(1, (15, Op.put_page, 5))])
    c.sample([LOOKUP, ring(1, (15, Op.put_page, 5))])  # the same ring again: nothing new
    assert c.summary() == {"slot_read": {"windows": 1, "contested": 1}}


def test_a_clean_run_nobody_raced_is_inconclusive() -> None:
    """Clean, nothing seen: pass when a window was contested, inconclusive when none was."""
    clean = Expect(clean=True)
    contested = {"slot_read": {"windows": 9, "contested": 1}}
    quiet = {"slot_read": {"windows": 9, "contested": 0}}
    assert verdict(clean, {}, False, windows=contested) == "pass"
    assert verdict(clean, {}, False, windows=quiet) == "inconclusive"
    assert verdict(clean, {}, False, windows={}) == "inconclusive"  # no window even opened
    assert verdict(clean, {}, False, windows=None) == "pass"  # nothing could contest them
    assert verdict(clean, {"use-after-free": 1}, False, windows=quiet) == "fail"
    assert never_contested(quiet) and not never_contested(contested)


def test_inconclusive_has_its_own_exit_code_below_a_failure() -> None:
    """4 when a clean run was never raced; a failure or an error still says so first."""
    def runs(*verdicts: str) -> list[StressSummary]:
        return [StressSummary(scenario="s", seed=1, verdict=v, expected="clean")
                for v in verdicts]

    assert exit_code(runs("pass", "inconclusive")) == EXIT_INCONCLUSIVE == 4
    assert exit_code(runs("fail", "inconclusive")) == EXIT_FAIL
    assert exit_code(runs("pass")) == EXIT_OK


SOLO = """name = "solo"
[model]
scheme = "pg_network"
pages = 256
cache_slots = 16
[[roles]]
role = "reader"
[[roles]]
role = "truncater"
[run]
duration = 0.5
workers = 1
[expect]
clean = true
"""


@pytest.mark.timeout(120)
def test_a_clean_scenario_with_one_worker_is_inconclusive(tmp_path: Path) -> None:
    """One worker races nobody: its lookups' windows are never contested, exit 4, said why."""
    (tmp_path / "solo.toml").write_text(SOLO)
    proc = pagerace("run", "solo.toml", "--out", "runs", cwd=tmp_path)
    assert proc.returncode == EXIT_INCONCLUSIVE, proc.stderr
    assert "pagerace: 0 passed, 0 failed, 1 inconclusive" in proc.stdout
    assert "slot_read 0/" in proc.stdout


@pytest.mark.timeout(120)
def test_a_clean_scenario_without_contenders_passes_on_its_audits(tmp_path: Path) -> None:
    """No speculative role, so nothing could contest a window: the verdict is the audits'."""
    (tmp_path / "own.toml").write_text(SOLO.replace('role = "reader"', 'role = "truncater"'))
    proc = pagerace("run", "own.toml", "--out", "runs", cwd=tmp_path)
    assert proc.returncode == EXIT_OK, proc.stdout + proc.stderr
    assert "pagerace: 1 passed, 0 failed" in proc.stdout
