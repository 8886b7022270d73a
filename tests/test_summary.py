"""The typed run summary: what the engines wrote comes back typed and goes out byte for byte."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stress.runrecord import read_summary
from stress.runs.rundir import RunDir
from stress.summary import (
    Explored,
    ExploreSummary,
    Found,
    Reproducer,
    StressSummary,
    summary_from_dict,
    write_summary,
)

SAMPLES = Path(__file__).parent / "data" / "summaries"  # written by the untyped writers


@pytest.mark.parametrize("sample", sorted(SAMPLES.glob("*.json")), ids=lambda p: p.stem)
def test_a_summary_read_and_written_again_is_the_same_bytes(sample: Path,
                                                           tmp_path: Path) -> None:
    """Every field, known or not, in its place: the file's contract does not move."""
    s = read_summary(sample)
    write_summary(RunDir(tmp_path), s)
    assert (tmp_path / "summary.json").read_bytes() == sample.read_bytes()


def test_readers_get_the_engine_s_class_and_its_nested_records() -> None:
    """An exploration's summary is an ExploreSummary with a typed finding; a stress run's
    keeps its explorer outcome and reproducer typed."""
    explored = read_summary(SAMPLES / "explore-finding.json")
    assert isinstance(explored, ExploreSummary) and isinstance(explored.finding, Found)
    assert explored.finding.kind == "memcg-escape" and explored.covered is not None
    stress = read_summary(SAMPLES / "stress-with-explorer.json")
    assert isinstance(stress, StressSummary)
    assert isinstance(stress.reproducer, Reproducer) and isinstance(stress.explored, Explored)
    assert stress.reproducer.focus == {"zerocopy": ["recv", "pin", "unmap", "pipe_release"]}


def test_a_field_set_after_the_run_goes_last_and_unknown_ones_stay() -> None:
    """The explorer's outcome joins a summary at its end; a field a newer pagerace wrote
    survives an older reader's rewrite where it was."""
    d = {"scenario": "s", "future_field": [1, 2], "seed": 3, "verdict": "pass",
         "expected": "clean"}
    s = summary_from_dict(d)
    assert isinstance(s, StressSummary)
    s.explored = Explored(verdict="pass", strategy="dfs", schedules=4, exhausted=True)
    out = s.to_dict()
    assert list(out)[:5] == ["scenario", "future_field", "seed", "verdict", "expected"]
    assert list(out)[-1] == "explored" and out["explored"]["schedules"] == 4
    assert "reproducer" not in out and "windows" not in out  # never set, never in the file


def test_a_fresh_summary_writes_every_field_in_the_contract_s_order(tmp_path: Path) -> None:
    """Built by an engine, it writes all its fields (nulls too), the optional ones only
    when set."""
    s = StressSummary(scenario="s", seed=1, verdict="fail", expected="clean",
                      run_dir=str(tmp_path))
    d = s.to_dict()
    assert list(d)[:4] == ["scenario", "claim", "seed", "scenario_file"]
    assert d["claim"] is None and "explored" not in d and "reproducer" not in d
    write_summary(RunDir(tmp_path), s)
    assert read_summary(tmp_path / "summary.json") == s


names = st.text("abcdefgh-", min_size=1, max_size=8)


@given(st.builds(StressSummary, scenario=names, seed=st.integers(0, 1 << 31),
                 verdict=st.sampled_from(["pass", "fail", "inconclusive", "error"]),
                 expected=names, anomalies=st.dictionaries(names, st.integers(0, 1 << 40)),
                 ops=st.integers(0, 1 << 50), interrupted=st.booleans(),
                 explored=st.none() | st.builds(
                     Explored, verdict=st.sampled_from(["pass", "fail"]), strategy=names,
                     schedules=st.integers(0, 1 << 30), exhausted=st.booleans(),
                     found=st.none() | names)))
def test_any_summary_round_trips_through_json(s: StressSummary) -> None:
    """to_dict, JSON, from_dict: the same summary."""
    assert summary_from_dict(json.loads(json.dumps(s.to_dict()))) == s


def test_a_manifest_is_read_typed_and_its_damage_is_one_line(tmp_path: Path) -> None:
    """What the readers use comes back typed; a field of the wrong shape names itself;
    what a run killed early left out reads as not recorded."""
    from stress.runrecord import RecordError, read_manifest

    good = tmp_path / "manifest.json"
    good.write_text(json.dumps({"scenario": {"name": "c10", "model": {"kernel": "5.12"}},
                                "seed": 2, "worker_seeds": [5, 6], "host": {"cpus": 2},
                                "actors": [{"role": "reader", "worker": 1}]}))
    m = read_manifest(good)
    assert m is not None and (m.name, m.seed, m.nworkers) == ("c10", 2, 2)
    assert m.model.kernel == "5.12" and m.model.scheme is None
    assert m.roles_on() == {1: {"reader"}}
    assert not m.explored and m.to_dict()["host"] == {"cpus": 2}
    bare = tmp_path / "bare.json"
    bare.write_text("{}")
    m = read_manifest(bare)
    assert m is not None and (m.name, m.seed, m.backend, m.nworkers) == (None, None, None, 0)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"actors": [{"role": "reader"}]}))
    with pytest.raises(RecordError, match=r"bad.json: actors is .*, not a list of actors"):
        read_manifest(bad)
