"""The reproducer hunt's focus: the operations a stress anomaly's window points at."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from stress.explore.focus import emissions, focus, focused, window_ops
from stress.explore.runner import ExploreOptions, explore, replay_token
from stress.explore.search import make_search
from stress.explore.world import World, actor_groups, count_programs
from stress.runrecord import read_summary
from stress.runs.plan import make_plan
from stress.runs.rundir import RunDir
from stress.scenario import Expect, load_scenario
from stress.summary import ExploreSummary, Manifest, StressSummary, write_summary
from stress.surfaces import both_engines

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
C10 = SCENARIOS / "c10-lookup-skips-recheck.toml"
C06 = SCENARIOS / "c06-memcg-unmap.toml"

EMITTED = {
    "reader": {"lookup": frozenset({"slot_read", "get_page_unless_zero", "put_page"}),
               "release": frozenset({"put_page"})},
    "truncater": {"add": frozenset({"alloc_page", "add_to_page_cache", "put_page"}),
                  "truncate": frozenset({"slot_read", "delete_from_page_cache", "put_page"}),
                  "reclaim": frozenset({"slot_read", "page_ref_freeze", "put_page"})},
}


def test_the_fewest_operations_that_wrote_the_window_are_chosen() -> None:
    """The lookup writes both of the reader's trace ops, the truncate both of the
    truncater's: each alone explains its role's records."""
    window = {"reader": {"slot_read", "put_page"},
              "truncater": {"delete_from_page_cache", "put_page"}}
    assert focus(window, EMITTED) == {"reader": ("lookup",), "truncater": ("truncate",)}


def test_a_window_that_tells_nothing_apart_leaves_the_role_whole() -> None:
    """A put_page alone ties every operation: no focus; a tie of some keeps them all; a
    cover of every operation, or a role that wrote none of it, is no focus either."""
    assert focus({"reader": {"put_page"}}, EMITTED) == {}
    assert focus({"truncater": {"slot_read"}}, EMITTED) == {"truncater": ("truncate",
                                                                          "reclaim")}
    assert focus({"truncater": {"alloc_page", "slot_read"}}, EMITTED) == {}
    assert focus({"truncater": {"add_to_page_cache", "delete_from_page_cache"}}, EMITTED) \
        == {"truncater": ("add", "truncate")}
    assert focus({"zerocopy": {"zap_page"}}, EMITTED) == {}
    assert focus({"reader": {"zap_page"}}, EMITTED) == {}


def test_a_workers_records_count_for_every_role_it_runs() -> None:
    """Which actor of a worker wrote a record is not traced: each of its roles gets it."""
    manifest = Manifest(actors=[{"role": "reader", "worker": 0},
                                {"role": "truncater", "worker": 0},
                                {"role": "truncater", "worker": 1}])
    history = [{"worker": 0, "op": "slot_read"}, {"worker": 1, "op": "page_ref_freeze"}]
    assert window_ops(history, manifest.roles_on()) == {
        "reader": {"slot_read"}, "truncater": {"slot_read", "page_ref_freeze"}}


def test_what_each_operation_traces_is_observed_on_the_model() -> None:
    """The reader's lookup reads a slot and its release does not; the truncater's
    truncate deletes from the cache and its add inserts."""
    seen = emissions(load_scenario(C10))
    assert "slot_read" in seen["reader"]["lookup"]
    assert "slot_read" not in seen["reader"]["release"]
    assert "delete_from_page_cache" in seen["truncater"]["truncate"]
    assert "add_to_page_cache" in seen["truncater"]["add"]
    assert "delete_from_page_cache" not in seen["truncater"]["add"]


def _operations_run(path: Path, rounds: int, monkeypatch: pytest.MonkeyPatch,
                    **explore_keys: Any) -> int:
    """How many operations `World.emissions` ran on a scenario before it returned."""
    import stress.explore.world as world_mod

    calls = [0]
    real = world_mod.guarded

    def counted(report: Any, fn: Any, *args: Any) -> Any:
        calls[0] += 1
        return real(report, fn, *args)

    monkeypatch.setattr(world_mod, "guarded", counted)
    scn = load_scenario(path)
    scn = replace(scn, explore=replace(scn.explore, **explore_keys))
    world = World(scn, actor_groups(scn, scn.explore.actors)[0])
    try:
        world.emissions(1, rounds)
    finally:
        world.close()
    return calls[0]


def test_observing_a_broken_model_ends_at_its_first_anomaly(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """C5's put-before-clear misroutes a page in the warm-up's order: the observation
    stops there; its clean control runs every round (a broken model may not end an
    operation, so it is never run past its first anomaly)."""
    buggy = _operations_run(SCENARIOS / "c05-swapcache-put-before-clear.toml", 200, monkeypatch)
    clean = _operations_run(SCENARIOS / "c05-swapcache.toml", 200, monkeypatch)
    scn = load_scenario(SCENARIOS / "c05-swapcache.toml")
    group = actor_groups(scn, scn.explore.actors)[0]
    assert clean == 200 * len(group)
    with_bystanders = _operations_run(SCENARIOS / "c05-swapcache.toml", 200, monkeypatch,
                                      bystanders=True)
    assert with_bystanders == 200 * len(make_plan(scn, 0).actors) > clean
    assert 0 < buggy < clean


def test_a_focused_search_draws_and_enumerates_only_the_focus() -> None:
    """Sampled and systematic programs of a focused scenario use the chosen operations,
    named by their indices in the whole scenario; the systematic space shrinks."""
    scn = load_scenario(C10)
    narrow = focused(scn, {"reader": ("lookup",)})
    group = actor_groups(scn, scn.explore.actors)[0]
    whole_w, narrow_w = World(scn, group), World(narrow, group)
    try:
        lookup = whole_w.op_names[0].index("lookup")
        assert [s.role for s in narrow_w.plan.actors][0] == "reader"
        for seed in range(1, 30):
            assert set(narrow_w.draw_program(seed, 3)[0]) == {lookup}
        x = replace(narrow.explore, strategy="dfs")
        search = make_search([narrow_w], x, 1)
        programs = [search.next() for _ in range(3)]
        assert all(p is not None and set(p[2][0]) == {lookup} for p in programs)
        assert count_programs(narrow_w.kinds, x.ops) < count_programs(whole_w.kinds, x.ops)
        assert narrow_w.widths == whole_w.widths
    finally:
        whole_w.close()
        narrow_w.close()


def test_a_focused_finding_replays_on_the_scenario_as_written() -> None:
    """The token of a focused hunt replays on the unfocused scenario: the same kind."""
    scn = load_scenario(C10)
    narrow = focused(scn, {"reader": ("lookup",)})  # what a stress run's window gives
    _, finding = explore(narrow, ExploreOptions(strategy="pct", seed=1, schedules=50_000))
    assert finding is not None and finding.kind == "stale-tryget"
    assert narrow.to_dict()["focus"] and "focus" not in scn.to_dict()
    replayed, token, _, again = replay_token(finding.token)
    assert not replayed.focus and again is not None
    assert (again.kind, again.page, again.step) == (finding.kind, finding.page, finding.step)


def _failed_run(tmp_path: Path, history: list[dict[str, Any]]) -> StressSummary:
    """A stress run of c06 that failed on memcg-escape, as its run directory holds it."""
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "manifest.json").write_text(json.dumps(
        {"actors": [{"role": "nic", "worker": 0}, {"role": "zerocopy", "worker": 1}]}))
    (run_dir / "worker-1.jsonl").write_text(json.dumps(
        {"event": "anomaly", "kind": "memcg-escape", "ts_ns": 5, "history": history}) + "\n")
    s = StressSummary(scenario="c06-memcg-unmap", seed=1, verdict="fail", expected="clean",
                      anomalies={"memcg-escape": 1}, first_detection_s={"memcg-escape": 0.1},
                      run_dir=str(run_dir))
    write_summary(RunDir(run_dir), s)
    return s


def test_the_hunt_starts_from_the_window_logged_with_the_anomaly(tmp_path: Path) -> None:
    """The window's zap_page points at the zerocopy unmap; the hunt finds the kind there."""
    scn = replace(load_scenario(C06), expect=Expect(clean=True))
    s = _failed_run(tmp_path, [{"worker": 1, "op": "zap_page"},
                               {"worker": 1, "op": "put_page"}])
    phase = both_engines.Phase(tmp_path / "out", None, 1.0)
    phase.reproduce([s], {scn.name: scn})
    r = s.reproducer
    assert r is not None and r.focus == {"zerocopy": ["unmap"]} and r.whole is False
    assert r.found == "memcg-escape"
    assert read_summary(tmp_path / "run" / "summary.json") == s  # as written, read back


def test_a_misleading_window_gives_the_rest_of_the_box_to_the_whole_scenario(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A focused hunt that finds nothing hands what is left of its box to the whole
    scenario, whose finding is the reproducer."""
    scn = replace(load_scenario(C06), expect=Expect(clean=True))
    s = _failed_run(tmp_path, [{"worker": 1, "op": "zap_page"}])
    real = both_engines.Phase._explore
    searched: list[tuple[tuple[str, tuple[str, ...]], ...]] = []

    def nothing_in_the_focus(self: both_engines.Phase, scn: Any, box: float,
                             name: str) -> ExploreSummary | None:
        searched.append(scn.focus)
        if scn.focus:  # as a window pointing at the wrong operations would leave it
            return ExploreSummary(scenario=scn.name, seed=1, verdict="pass",
                                  expected="clean", strategy="portfolio", schedules=9,
                                  exhausted=True, seconds=box, run_dir=name)
        return real(self, scn, box, name)

    monkeypatch.setattr(both_engines.Phase, "_explore", nothing_in_the_focus)
    phase = both_engines.Phase(tmp_path / "out", None, 4.0)
    phase.reproduce([s], {scn.name: scn})
    r = s.reproducer
    assert searched == [(("zerocopy", ("unmap",)),), ()]
    assert r is not None and r.focus == {"zerocopy": ["unmap"]} and r.whole is True
    assert r.found == "memcg-escape"
