"""`pagerace explore` and `replay` on the real model: found, shrunk, replayed, reported."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.explore.record import covered
from stress.explore.runner import ExploreOptions, explore, replay_token
from stress.explore.token import Token, TokenError, decode
from stress.scenario import load_scenario
from stress.summary import ExploreSummary
from stress.surfaces.cli import main

SCENARIOS = Path(__file__).resolve().parent.parent / "scenarios"
C10 = SCENARIOS / "c10-lookup-skips-recheck.toml"
C10_CONTROL = SCENARIOS / "c10-lookup-rechecks.toml"


@pytest.fixture(scope="module")
def c10_finding():  # type: ignore[no-untyped-def]
    scn = load_scenario(C10)
    return scn, *explore(scn, ExploreOptions(strategy="pct", seed=1, schedules=50_000))


def test_c10_stale_tryget_is_found_without_its_delay(c10_finding) -> None:
    """The explorer ignores the 20 us delay and still finds the stale tryget."""
    scn, result, finding = c10_finding
    assert scn.model.delays and finding is not None
    assert finding.kind == "stale-tryget" and finding.steps_after <= finding.steps_before


def test_the_token_replays_the_same_anomaly_at_the_same_step(c10_finding) -> None:
    """Replayed twice: the same kind, page and step, and the very same trace."""
    _, _, finding = c10_finding
    runs = [replay_token(finding.token) for _ in range(2)]
    for _, _, _, f in runs:
        assert f is not None
        assert (f.kind, f.page, f.step) == (finding.kind, finding.page, finding.step)
    assert runs[0][3].outcome.trace == runs[1][3].outcome.trace
    assert runs[0][3].outcome.trace == finding.outcome.trace


def test_c10_needs_exactly_one_preemption(c10_finding) -> None:
    """Its program searched at bound 0 finds nothing: an interleaving, and one suffices."""
    _, _, finding = c10_finding
    assert (finding.label, finding.preemptions_min) == ("interleaving", 1)
    assert finding.preemptions_min_proven
    f = replay_token(finding.minimal_token)[3]
    assert f is not None and f.kind == finding.kind and f.outcome.schedule.preemptions == 1


def _one_op(path: Path):  # type: ignore[no-untyped-def]
    """The scenario with one operation per actor under the scheduler, its four actors racing
    at once: a space dfs exhausts."""
    scn = load_scenario(path)
    return replace(scn, explore=replace(scn.explore, ops=1, systematic_actors=4, warmups=1))


def test_the_control_is_exhausted_clean_without_preemptions() -> None:
    """C10's control under dfs with bound 0: every program, every order in which actors that
    finish hand over (a switch that costs no preemption), nothing found."""
    result, finding = explore(_one_op(C10_CONTROL), ExploreOptions(strategy="dfs",
                                                                   preemptions=0))
    assert finding is None and result.exhausted and result.proven_bound == 0
    assert result.programs_total == 36 and result.schedules > 36


def test_a_changed_scenario_refuses_its_old_tokens(c10_finding, tmp_path: Path) -> None:
    """The digest covers the model: a token for another configuration is refused."""
    _, _, finding = c10_finding
    tok = decode(finding.token)
    changed = tmp_path / "c10.toml"
    changed.write_text(C10.read_text().replace("pages = 256", "pages = 256\nmemcg = \"unmap\""))
    bad = replace(tok, scenario=str(changed)).encode()
    with pytest.raises(TokenError, match="another configuration"):
        replay_token(bad)


def test_a_relative_token_replays_from_elsewhere_with_scenario(
        c10_finding, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys) -> None:
    """A token made in the checkout names its file relatively: from another directory it
    says so in one line, and --scenario points it at the file."""
    _, _, finding = c10_finding
    relative = replace(decode(finding.token), scenario="scenarios/" + C10.name).encode()
    monkeypatch.chdir(tmp_path)
    assert main(["replay", relative, "--out", "r"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "no such file" in err and "--scenario" in err
    assert main(["replay", relative, "--scenario", str(C10), "--out", "r"]) == 0
    assert capsys.readouterr().out.startswith(f"{finding.kind} on page {finding.page}")


def test_scenario_for_a_token_must_be_the_same_configuration(c10_finding) -> None:
    """--scenario cannot replay a token against another scenario: the digest refuses it."""
    _, _, finding = c10_finding
    with pytest.raises(TokenError, match="another configuration"):
        replay_token(finding.token, C10_CONTROL)


@given(st.integers(0, 1 << 62),
       st.lists(st.lists(st.integers(0, 300), max_size=6), min_size=1, max_size=8),
       st.lists(st.tuples(st.integers(0, 500), st.integers(0, 7)), max_size=20),
       st.integers(0, (1 << 32) - 1), st.integers(0, 40),
       st.none() | st.lists(st.lists(st.integers(0, 20), max_size=6), max_size=8))
def test_tokens_round_trip(seed: int, program: list[list[int]], sw: list[tuple[int, int]],
                           digest: int, group: int, draws: list[list[int]] | None) -> None:
    """Whatever a schedule, its program, its group of actors and its draws are (or drawn
    from the seed), its token decodes to them."""
    switches = tuple(sorted(dict(sw).items()))
    tok = Token("scenarios/x.toml", seed, tuple(map(tuple, program)), switches, digest, group,
                None if draws is None else tuple(map(tuple, draws)))
    assert decode(tok.encode()) == tok


def test_a_version_2_token_still_reads_its_draws_from_the_seed() -> None:
    """Tokens written before draws were recorded (format 2) decode, with no draws."""
    import base64

    from stress.explore.token import _varint

    out = bytearray()
    # version, seed, group, 2 actors of 1 op each, 1 switch (step 3, actor 1), digest
    for v in (2, 7, 0, 2, 1, 0, 1, 1, 1, 3, 1, 12345):
        _varint(out, v)
    tok = decode("scenarios/x.toml#" + base64.urlsafe_b64encode(bytes(out)).decode())
    assert (tok.seed, tok.program, tok.switches, tok.digest) == (7, ((0,), (1,)), ((3, 1),),
                                                                   12345)
    assert tok.draws is None


@pytest.mark.parametrize("text", ["nothing", "a.toml#", "a.toml#!!!", "a.toml#AQ", "a.toml#Ag"])
def test_a_malformed_token_is_one_line_and_exit_2(text: str, capsys) -> None:
    """Bad tokens: one line naming the token and why, exit code 2."""
    assert main(["replay", text]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("pagerace replay: token") and "\n" not in err


def test_explore_command_writes_the_run_directory_and_replays(tmp_path: Path, capsys) -> None:
    """explore finds C10, writes summary (mode explore) and a log report can read; replay agrees."""
    # (pct: the default portfolio spends a third of its schedules on dpor first, minutes on a
    # loaded machine; what is tested here is the run directory and the replay)
    assert main(["explore", str(C10), "--strategy", "pct", "--out", str(tmp_path / "x"),
                 "--seed", "1"]) == 0
    out = capsys.readouterr().out
    [run] = list((tmp_path / "x").iterdir())
    summary = json.loads((run / "summary.json").read_text())
    assert summary["mode"] == "explore" and summary["verdict"] == "pass"
    assert summary["token"] and summary["token"] in out.replace("\n", "")
    assert {"manifest.json", "explore.jsonl", "traces.npz"} <= {p.name for p in run.iterdir()}
    assert main(["report", str(run)]) == 0
    text = capsys.readouterr().out
    assert "step" in text and f"found stale-tryget on page {summary['finding']['page']}" in text
    assert main(["replay", summary["token"], "--out", str(tmp_path / "r")]) == 0
    line = capsys.readouterr().out.splitlines()[0]
    f = summary["finding"]
    assert line.startswith(f"stale-tryget on page {f['page']} at step {f['step']}")


def test_a_clean_scenario_that_fails_under_exploration_exits_1(tmp_path: Path) -> None:
    """The control with its recheck switched off is no longer clean: verdict fail, exit 1."""
    broken = tmp_path / "c10-control-broken.toml"
    broken.write_text(C10_CONTROL.read_text().replace("lookup_skips_recheck = false",
                                                      "lookup_skips_recheck = true"))
    assert main(["explore", str(broken), "--strategy", "pct", "--out", str(tmp_path / "x")]) == 1


def test_an_unwritable_out_is_one_line(tmp_path: Path, capsys) -> None:
    """--out that is a file: one line naming it, exit 2, before anything is explored."""
    (tmp_path / "file").write_text("")
    assert main(["explore", str(C10_CONTROL), "--out", str(tmp_path / "file")]) == 2
    err = capsys.readouterr().err.strip()
    assert "file" in err and "\n" not in err


def test_dfs_jobs_split_the_programs_and_cover_them_once() -> None:
    """dfs with 2 or 9 jobs explores the same schedules as one job: each program once."""
    scn = _one_op(C10_CONTROL)
    one, _ = explore(scn, ExploreOptions(strategy="dfs", preemptions=0))
    two, _ = explore(scn, ExploreOptions(strategy="dfs", preemptions=0, jobs=2))
    many, _ = explore(scn, ExploreOptions(strategy="dfs", preemptions=0, jobs=9))
    assert one.exhausted and two.exhausted and many.exhausted
    assert one.schedules == two.schedules == many.schedules


def test_progress_lines_go_to_the_stderr_of_the_moment(monkeypatch) -> None:
    """A progress line goes to sys.stderr as it is when the progress starts, not at import
    (pytest replaces and closes it between tests: a stale one raised on a closed file)."""
    import io
    import sys

    from stress.explore.runner import Progress
    from stress.surfaces.explore_cmd import PlainProgress

    now = io.StringIO()
    monkeypatch.setattr(sys, "stderr", now)
    PlainProgress()(Progress("c10", 3, 40, 1.0))
    assert now.getvalue().startswith("[c10]")


# Honest verdicts: "exhausted" is a proof of exactly what it states.


@pytest.mark.parametrize("path", [C10, C10_CONTROL])
def test_a_search_cut_at_the_step_bound_proves_nothing(path: Path, tmp_path: Path) -> None:
    """max_steps = 10 abandons most schedules: not exhausted, nothing proven, an error."""
    from stress.surfaces.explore_cmd import explore_one

    scn = _one_op(path)
    scn = replace(scn, explore=replace(scn.explore, max_steps=10))
    s = explore_one(scn, ExploreOptions(strategy="dfs", preemptions=0), tmp_path)
    assert s.searched and not s.exhausted and 2 * s.abandoned > s.schedules > 0
    assert s.verdict == "error" and "step bound" in s.errors[0]
    assert s.covered is not None and s.covered.proven_bound == -1


@pytest.mark.parametrize("option, strategy", [("--preemptions", "pct"), ("--depth", "dfs")])
def test_an_option_the_strategy_does_not_take_is_refused(option: str, strategy: str,
                                                         tmp_path: Path, capsys) -> None:
    """--preemptions bounds dfs and --depth is pct's: given to another strategy, exit 2."""
    assert main(["explore", str(C10_CONTROL), "--strategy", strategy, option, "1",
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert option in err and "\n" not in err


def test_schedules_bound_the_scenario_whatever_the_jobs() -> None:
    """--schedules 7 with 2 jobs runs 7 schedules, not 14."""
    from stress.explore.runner import job_shares

    assert job_shares(7, 2) == [4, 3] and sum(job_shares(5, 3)) == 5
    r, _ = explore(load_scenario(C10_CONTROL), ExploreOptions(strategy="random", schedules=7,
                                                              jobs=2))
    assert r.schedules == 7


def test_every_pair_of_roles_meets_when_the_actors_do_not_fit(tmp_path: Path) -> None:
    """Seven roles, four actors: groups in which every pair of roles races; none left out."""
    from itertools import combinations

    from stress.surfaces.explore_cmd import explore_one

    scn = load_scenario(SCENARIOS / "c04-owner-priv-1-checked-clean.toml")
    s = explore_one(scn, ExploreOptions(strategy="random", schedules=12), tmp_path)
    assert s.covered is not None
    groups = s.covered.groups
    assert not s.covered.roles_left_out and all(len(g) == 4 for g in groups)
    roles = {r.role for r in scn.roles}
    assert all(any({a, b} <= set(g) for g in groups) for a, b in combinations(roles, 2))


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.toml")), ids=lambda p: p.stem)
def test_the_systematic_search_races_every_pair_and_every_role_with_itself(path: Path) -> None:
    """Groups of two: every pair of roles meets, every role run twice meets itself, and the
    sampling strategies' groups keep their numbers (tokens made before replay)."""
    from itertools import combinations

    from stress.explore.world import actor_groups, explored_groups, strategy_groups
    from stress.runs.plan import make_plan

    scn = load_scenario(path)
    roles = [a.role for a in make_plan(scn, 0).actors]
    every = explored_groups(scn)
    pairs = [[roles[k] for k in every[g]] for g in strategy_groups(scn, "dpor")]
    assert all(len(p) <= 2 for p in pairs)
    assert all(any({a, b} == set(p) for p in pairs) for a, b in combinations(set(roles), 2))
    twice = {r for r in roles if roles.count(r) > 1}
    assert all(any(p == [r, r] for p in pairs) for r in twice)
    sampled = actor_groups(scn, scn.explore.actors)
    assert every[:len(sampled)] == sampled == [every[g] for g in strategy_groups(scn, "pct")]


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_default_is_a_portfolio_that_says_who_found_it(jobs: int, tmp_path: Path) -> None:
    """No --strategy: dpor, pct and random share the search; the summary names the finder."""
    from stress.surfaces.explore_cmd import explore_one

    scn = load_scenario(SCENARIOS / "c02-dtor-ref1-tryget.toml")
    assert scn.explore.strategy == "portfolio"
    s = explore_one(scn, ExploreOptions(jobs=jobs, schedules=3_000), tmp_path)
    assert s.verdict == "pass" and s.found_by in ("dpor", "pct", "random")
    assert s.covered is not None and "dpor:" in s.covered.statement
    assert s.members[0]["strategy"] == "dpor"
    assert sum(m["schedules"] for m in s.members) == s.schedules <= 3_000


def test_a_split_search_merges_into_the_same_proof(tmp_path: Path) -> None:
    """Four parts (--split K/4) merged: the schedules and exhausted of one whole run."""
    from stress.surfaces.merge import find_summaries

    f = tmp_path / "c10-control-one-op.toml"
    f.write_text(C10_CONTROL.read_text() + "\n[explore]\nops = 1\n")
    dfs = ["--strategy", "dfs", "--preemptions", "0"]
    assert main(["explore", str(f), *dfs, "--out", str(tmp_path / "whole")]) == 0
    for k in range(1, 5):
        assert main(["explore", str(f), *dfs, "--split", f"{k}/4",
                     "--out", str(tmp_path / f"part{k}")]) == 0
    [whole] = find_summaries([tmp_path / "whole"])
    [joined] = find_summaries([tmp_path / f"part{k}" for k in range(1, 5)])
    assert isinstance(whole, ExploreSummary) and isinstance(joined, ExploreSummary)
    assert whole.exhausted and joined.exhausted and joined.verdict == "pass"
    assert joined.schedules == whole.schedules and joined.parts == [1, 2, 3, 4]
    [three] = find_summaries([tmp_path / f"part{k}" for k in range(1, 4)])
    assert isinstance(three, ExploreSummary)
    assert not three.exhausted and three.verdict == "error"


@pytest.mark.parametrize("payload, why", [("!!!!", "not base64"), ("AQIDB", "cut short"),
                                          ("A" * 130_001, "cut short")],
                         ids=["garbage", "truncated", "huge"])
def test_a_token_error_names_its_real_cause_briefly(payload: str, why: str) -> None:
    """Garbage is not base64, a truncated payload is cut short, and a long one is not echoed."""
    with pytest.raises(TokenError) as e:
        decode(f"scenarios/x.toml#{payload}")
    assert why in str(e.value) and len(str(e.value)) < 200


def test_a_forged_switch_is_refused_not_run() -> None:
    """A token whose digest matches but whose switch names a missing actor: one line."""
    from stress.explore.token import scenario_digest

    scn = load_scenario(C10_CONTROL)
    tok = Token(str(C10_CONTROL), 1, ((0,), (0,), (0,), (0,)), ((0, 9),), scenario_digest(scn))
    with pytest.raises(TokenError, match="names an actor"):
        replay_token(tok.encode())


def _sized(path: Path, **explore_keys: object):  # type: ignore[no-untyped-def]
    scn = load_scenario(path)
    return replace(scn, explore=replace(scn.explore, **explore_keys))


def test_dpor_exhausts_the_control_and_says_what_that_covers() -> None:
    """Every program, every schedule within the bound: exhausted, with the reduction and
    the audit's part in the proof stated."""
    scn = _sized(C10_CONTROL, ops=1)
    result, finding = explore(scn, ExploreOptions(strategy="dpor"))
    assert finding is None and result.exhausted and result.abandoned == 0
    # Pairs: a reader and a truncater, the two readers, the two truncaters; 4 warm-ups.
    assert result.schedules > result.programs_total == 19 * 4
    what = covered(scn, result, 1)
    assert (what.ops_per_actor, what.warmup_per_actor) == (1, 2)
    statement = what.statement
    assert statement.startswith("dpor: every program of 1 operation per actor in 3 groups of at "
                                "most 2 actors (every pair of roles meets in one, and every role "
                                "run twice meets itself) (19), each from the warm-up (2 "
                                "operations per actor) and role draws of seeds 1 to 4 (76 in "
                                "all), every schedule of each with "
                                "at most 2 preemptions (up to the order of independent steps")
    assert "every state between operations audited" in statement


@pytest.mark.parametrize("warmups, found", [(1, False), (4, True)])
def test_a_bug_only_another_warm_up_shows_is_found_from_several(warmups: int,
                                                                found: bool) -> None:
    """C10's skipped recheck needs the page state another seed's warm-up leaves: searched from
    seed 1 alone every program is exhausted clean; from 4 warm-ups it is found."""
    scn = _sized(C10, warmups=warmups, preemptions=1, strategy="dpor")
    result, finding = explore(scn, ExploreOptions())
    assert (finding is not None) == found and result.exhausted == (not found)
    if finding is not None:
        assert finding.kind == "stale-tryget" and decode(finding.token).seed > 1


def test_dpor_finds_the_racy_refcount_as_an_interleaving() -> None:
    """C9's lost update, found by the reduced search and labelled with its fewest preemptions."""
    scn = _sized(SCENARIOS / "c09-racy-refcount.toml", ops=2, actors=2, audit=False)
    result, finding = explore(scn, ExploreOptions(strategy="dpor"))
    assert finding is not None and finding.kind in scn.expect.detect
    assert result.found_by == "dpor" and finding.label == "interleaving"


def test_preemptions_are_refused_for_sampling(capsys: pytest.CaptureFixture[str]) -> None:
    """random samples without a bound: --preemptions with it is one line and exit 2."""
    assert main(["explore", "--strategy", "random", "--preemptions", "1", str(C10_CONTROL)]) == 2
    assert "--preemptions applies to dfs or dpor or portfolio only" in capsys.readouterr().err


def _one_op_file(tmp_path: Path) -> Path:
    """C10's control as a file with one operation per actor (the CLI reads files)."""
    text = C10_CONTROL.read_text()
    assert "[explore]" not in text
    f = tmp_path / "c10-one-op.toml"
    f.write_text(text + "\n[explore]\nops = 1\nsystematic_actors = 4\nwarmups = 1\n")
    return f


def test_a_search_stopped_and_resumed_from_its_checkpoint_is_the_whole_search(
        tmp_path: Path) -> None:
    """Cut after 100 schedules, then resumed from the checkpoint: the same schedules, the
    same exhausted and proven bound as one uninterrupted run; every schedule counted once."""
    f = _one_op_file(tmp_path)
    dfs = ["--strategy", "dfs", "--preemptions", "0"]
    assert main(["explore", str(f), *dfs, "--out", str(tmp_path / "whole")]) == 0
    cp = ["--checkpoint", str(tmp_path / "cp")]
    assert main(["explore", str(f), *dfs, *cp, "--schedules", "100",
                 "--out", str(tmp_path / "cut")]) == 0
    assert main(["explore", str(f), *dfs, *cp, "--out", str(tmp_path / "resumed")]) == 0

    def summary(name: str) -> dict:  # type: ignore[type-arg]
        return json.loads(next((tmp_path / name).glob("*/summary.json")).read_text())
    whole, cut, resumed = summary("whole"), summary("cut"), summary("resumed")
    assert not cut["exhausted"] and cut["schedules"] == 100
    assert resumed["exhausted"] and resumed["schedules"] == whole["schedules"] > 100
    assert resumed["covered"]["proven_bound"] == whole["covered"]["proven_bound"] == 0


@pytest.mark.parametrize("damage, reason", [
    ("{", "damaged"), ('{"version": 1, "digest": "x"}', "damaged"), ("[]", "damaged")])
def test_a_damaged_checkpoint_is_one_line(damage: str, reason: str, tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    """A checkpoint file that is not one: the file and why, exit 2, nothing explored."""
    f = _one_op_file(tmp_path)
    cp = tmp_path / "cp"
    cp.mkdir()
    (cp / "c10-lookup-rechecks.1-of-1.json").write_text(damage)
    assert main(["explore", str(f), "--strategy", "dfs", "--checkpoint", str(cp),
                 "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert reason in err and "c10-lookup-rechecks.1-of-1.json" in err and "\n" not in err


def test_a_checkpoint_of_another_search_is_refused(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """Saved at bound 0, resumed at bound 1: another search, refused in one line."""
    f = _one_op_file(tmp_path)
    cp = ["--checkpoint", str(tmp_path / "cp"), "--out", str(tmp_path)]
    assert main(["explore", str(f), "--strategy", "dfs", "--preemptions", "0",
                 "--schedules", "5", *cp]) == 0
    capsys.readouterr()
    assert main(["explore", str(f), "--strategy", "dfs", "--preemptions", "1", *cp]) == 2
    assert "another search" in capsys.readouterr().err


def test_checkpoints_are_for_systematic_searches(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """pct samples: there is no position to go on from, so --checkpoint is refused."""
    assert main(["explore", str(C10_CONTROL), "--strategy", "pct", "--checkpoint",
                 str(tmp_path / "cp"), "--out", str(tmp_path)]) == 2
    assert "--checkpoint applies to dfs or dpor only" in capsys.readouterr().err


def test_a_schedule_cut_by_a_stop_is_counted_apart_and_proves_nothing() -> None:
    """A stop (or the budget) inside the first schedule: no schedule counted, one cut, and the
    run is an error, not a pass."""
    from stress.explore.runner import explore_job, nothing_run

    scn = load_scenario(C10_CONTROL)
    scn = replace(scn, explore=replace(scn.explore, ops=200, strategy="dfs",
                                       systematic_actors=4))
    r = explore_job(scn, 1, None, stop=lambda: True)
    assert (r.schedules, r.cut, r.exhausted) == (0, 1, False)
    assert r.steps >= 1024  # (asked every 1,024 steps: the work it did still counts as work)
    assert nothing_run(r)


def test_a_step_bound_no_machine_can_hold_is_refused(tmp_path: Path, capsys) -> None:
    """max_steps = 2 ** 30: a dpor schedule's state could need terabytes; one line naming
    the file and key, exit 2, before anything runs.  The suite's own bound is admitted."""
    from stress.explore.admission import admit_explore

    huge = tmp_path / "huge.toml"
    huge.write_text(C10_CONTROL.read_text() + "\n[explore]\nmax_steps = 1073741824\n")
    assert main(["explore", str(huge), "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"pagerace: {huge}: explore.max_steps: ") and "\n" not in err
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())
    assert admit_explore(load_scenario(C10_CONTROL), 2) is None


def test_a_key_added_since_tokens_began_counts_in_the_digest_only_when_set() -> None:
    """systematic_actors and bystanders at their defaults leave the digest as before the keys
    (old tokens replay); set to anything else, the digest changes (tokens of the other
    grouping or warm-up are refused)."""
    import hashlib
    import json
    from dataclasses import asdict

    from stress.explore.token import _ADDED, _NOT_IN_A_SCHEDULE, scenario_digest

    assert set(_ADDED) == {"systematic_actors", "bystanders"}
    scn = load_scenario(C10)
    x = {k: v for k, v in asdict(scn.explore).items()
         if k not in _NOT_IN_A_SCHEDULE and k not in _ADDED}
    data = json.dumps([asdict(scn.model), [asdict(r) for r in scn.roles], x, scn.backend],
                      sort_keys=True, default=str)
    before_the_key = int.from_bytes(hashlib.blake2s(data.encode(), digest_size=4).digest(),
                                    "little")
    assert scenario_digest(scn) == before_the_key
    three = replace(scn, explore=replace(scn.explore, systematic_actors=3))
    assert scenario_digest(three) != before_the_key
    standing_by = replace(scn, explore=replace(scn.explore, bystanders=True))
    assert scenario_digest(standing_by) not in (before_the_key, scenario_digest(three))


def test_a_search_of_every_draw_finds_replays_and_records_its_draws() -> None:
    """With [explore] draws = every, dpor's finding carries the draws it took; its token
    replays the same anomaly at the same step, and a token whose draw is out of range is
    refused in one line."""
    scn = _sized(SCENARIOS / "c03-stale-checked.toml", draws="every", warmups=1)
    result, finding = explore(scn, ExploreOptions(strategy="dpor", seed=1, schedules=20_000))
    assert finding is not None and finding.kind == "misrouted-free"
    tok = decode(finding.token)
    assert tok.draws is not None and len(tok.draws) == len(tok.program)
    again = replay_token(finding.token)[3]
    assert again is not None and (again.kind, again.step) == (finding.kind, finding.step)
    drawn = [k for k, d in enumerate(tok.draws) if d]
    assert drawn, "the finding's program draws nothing: pick a scenario whose roles draw"
    k = drawn[0]
    bad = tuple(d if j != k else (99,) + d[1:] for j, d in enumerate(tok.draws))
    with pytest.raises(TokenError, match="does not fit"):
        replay_token(replace(tok, draws=bad).encode())


def test_bystanders_give_a_pair_the_states_the_whole_scenario_makes() -> None:
    """c02-dtor-ref1-tryget's misrouted free needs the warm-up of actors its pairs leave out:
    with bystanders (its [explore] table sets them), dpor finds it at bound 0 (a zerocopy
    recv alone, sequential); without, bound 0 is exhausted clean."""
    path = SCENARIOS / "c02-dtor-ref1-tryget.toml"
    opts = ExploreOptions(strategy="dpor", seed=1, schedules=20_000)
    _, finding = explore(_sized(path, preemptions=0), opts)
    assert finding is not None and finding.kind == "misrouted-free"
    assert finding.label == "sequential"
    alone, none = explore(_sized(path, preemptions=0, bystanders=False), opts)
    assert none is None and alone.exhausted


def test_a_search_of_every_draw_is_clean_on_the_control() -> None:
    """The clean control of draws = every: c10's rechecking lookup, every draw of one
    operation per actor at bound 1, exhausted with nothing found, and more schedules than
    the seeded search (the draws really branch)."""
    opts = ExploreOptions(strategy="dpor", seed=1, schedules=100_000)
    sizes = dict(ops=1, warmups=1, preemptions=1)
    every, none = explore(_sized(C10_CONTROL, draws="every", **sizes), opts)
    assert none is None and every.exhausted and every.proven_bound == 1
    seeded, _ = explore(_sized(C10_CONTROL, **sizes), opts)
    assert seeded.exhausted and every.schedules > seeded.schedules


def test_bystanders_have_a_clean_control_and_covered_names_them() -> None:
    """The clean control of bystanders = true: c10's rechecking lookup, every pair raced at
    bound 1 with the other actors standing by, exhausted with nothing found; `covered`
    says the other actors warmed up with each group."""
    scn = _sized(C10_CONTROL, bystanders=True, ops=1, warmups=1, preemptions=1)
    result, finding = explore(scn, ExploreOptions(strategy="dpor", seed=1, schedules=100_000))
    assert finding is None and result.exhausted and result.proven_bound == 1
    assert "the other actors warm up with each group" in covered(scn, result, 1).statement


@pytest.mark.parametrize("name", ["c01-pg-network-tryget", "c04-owner-priv-1-checked-clean"])
def test_what_bystanders_hold_is_accounted_for(name: str,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """Bystanders' references count in the audits: with their teardown drain, 30 warm-ups
    of the first pair end clean; with it left out, the final audit reports what they kept."""
    from stress.explore.strategies.dfs import Dfs
    from stress.explore.world import World, actor_groups

    scn = _sized(SCENARIOS / f"{name}.toml", bystanders=True)

    def kinds() -> set[str | None]:
        world = World(scn, actor_groups(scn, 2)[0])
        try:
            assert world.total > world.n
            nothing = tuple(() for _ in range(world.n))
            return {o.anomaly.kind.value if o.anomaly else None
                    for o in (world.run(s, nothing, Dfs(0), 20_000) for s in range(1, 31))}
        finally:
            world.close()

    assert kinds() == {None}
    monkeypatch.setattr(World, "_bystanders_let_go", lambda self, actors, report: None)
    assert kinds() - {None}


@pytest.mark.parametrize(("bystanders", "warmup", "found"),
                         [(True, 4, True), (True, 2, False), (False, 4, False)])
def test_c08_tryget_needs_the_consumer_warm_up_its_scenario_asks_for(
        bystanders: bool, warmup: int, found: bool) -> None:
    """c08-driver-ref-tryget's race (the NIC recycles a page the consumer has unmapped, a
    stray's tryget lands on it in the pool, the NIC gets it back at refcount 2) starts
    from a state only the consumer's warm-up makes: dpor at bound 2 finds it from seed 1
    with the scenario's [explore] (bystanders, 4 rounds), and not with either taken away."""
    from stress.explore.strategies.dpor import Dpor
    from stress.explore.world import World

    path = SCENARIOS / "c08-driver-ref-tryget.toml"
    x = load_scenario(path).explore
    assert (x.bystanders, x.warmup) == (True, 4)  # what the scenario asks for
    scn = _sized(path, bystanders=bystanders, warmup=warmup)
    world = World(scn, [0, 2])  # the NIC and the first stray
    try:
        assert [s.role for s in world.plan.actors[:2]] == ["nic", "stray"]
        names = world.op_names
        program = ((names[0].index("recycle"), names[0].index("rx")),
                   (names[1].index("tryget"),) * 2)
        dpor, kinds = Dpor(2), set()
        while dpor.begin(0):
            o = world.run(1, program, dpor, 20_000)
            dpor.end(o.schedule.steps)
            kinds.add(o.anomaly.kind.value if o.anomaly else None)
            if "pool-alloc-refcount" in kinds:
                break
    finally:
        world.close()
    assert ("pool-alloc-refcount" in kinds) == found
