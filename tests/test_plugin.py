"""The pytest plugin: scenario files become items, one per seed, verdicts become outcomes."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

pytestmark = pytest.mark.xdist_group("e2e")

SCENARIO = """
name = "{name}"
[model]
scheme = "pg_network"
pages = 256
[[roles]]
role = "nic"
[[roles]]
role = "zerocopy"
[run]
duration = 0.3
workers = 2
seeds = [{seeds}]
[expect]
{expect}
"""


def write(pytester: pytest.Pytester, name: str, seeds: str, expect: str) -> None:
    d = pytester.path / "scenarios"
    d.mkdir(exist_ok=True)
    (d / f"{name}.toml").write_text(SCENARIO.format(name=name, seeds=seeds, expect=expect))


def test_one_item_per_seed_and_a_passing_verdict(pytester: pytest.Pytester) -> None:
    """Two seeds are two items; a clean scenario that stays clean passes."""
    write(pytester, "clean", "1, 2", "clean = true")
    result = pytester.runpytest("scenarios", "-v", "-p", "no:cacheprovider",
                                "--pagerace-out", "runs", "--junitxml", "junit.xml")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["*clean[[]seed=1[]]*PASSED*", "*clean[[]seed=2[]]*PASSED*"])
    assert "verdict" in (pytester.path / "junit.xml").read_text()


def test_a_failed_verdict_fails_with_the_anomaly_summary(pytester: pytest.Pytester) -> None:
    """A buggy expectation that is never met fails, saying what was expected and seen."""
    write(pytester, "buggy", "1", 'detect = ["bad-page"]')
    result = pytester.runpytest("scenarios", "-p", "no:cacheprovider", "--pagerace-out", "runs")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*verdict fail: expected detect bad-page, saw nothing*",
                                 "*pagerace report *",
                                 "*a deterministic, minimal reproducer: pagerace explore *"])


def test_explorer_items_beside_the_stress_ones(pytester: pytest.Pytester) -> None:
    """--pagerace-explore adds an [explore] item per scenario; a failed one names its replay."""
    write(pytester, "clean", "1", "clean = true\n[explore]\nschedules = 50")
    write(pytester, "buggy", "1", 'detect = ["bad-page"]\n[explore]\nschedules = 50')
    result = pytester.runpytest("scenarios", "-v", "-p", "no:cacheprovider", "--pagerace-out",
                                "runs", "--pagerace-explore", "-k", "explore")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*buggy[[]explore[]]*FAILED*", "*clean[[]explore[]]*PASSED*",
                                 "*verdict fail: expected detect bad-page, saw nothing*"])


def test_a_malformed_scenario_is_a_collection_error(pytester: pytest.Pytester) -> None:
    """A bad scenario file is one collection error naming the key."""
    write(pytester, "bad", "1", "clean = 1")
    result = pytester.runpytest("scenarios", "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*expect.clean: expected bool*"])


def test_other_toml_files_are_not_collected(pytester: pytest.Pytester) -> None:
    """Only files in a directory named scenarios are scenarios."""
    (pytester.path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    result = pytester.runpytest("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_multi_process_scenarios_share_one_xdist_group(pytester: pytest.Pytester) -> None:
    """Under --dist loadgroup every two-worker scenario runs on the same xdist worker."""
    write(pytester, "one", "1, 2", "clean = true")
    result = pytester.runpytest("scenarios", "-n", "2", "--dist", "loadgroup", "-v",
                                "-p", "no:cacheprovider", "--pagerace-out", "runs")
    result.assert_outcomes(passed=2)
    lines = [ln for ln in result.stdout.lines if "PASSED" in ln]
    assert all("@pagerace-heavy" in ln for ln in lines)
    assert len({ln.split("]")[0] for ln in lines}) == 1  # one [gwN] for both
