"""Shared fixtures: a fresh arena per test and a model machine over it (stress.testing)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stress.memory import Arena
from stress.model import mem_init
from stress.testing import SMALL, Harness


@pytest.fixture
def arena() -> Iterator[Arena]:
    a = Arena.create(SMALL)
    mem_init(a)
    yield a
    a.close()


@pytest.fixture
def harness(arena: Arena) -> Callable[..., Harness]:
    def make(**options: Any) -> Harness:
        return Harness(arena, **options)

    return make


@pytest.fixture(autouse=True)
def no_leftover_commands() -> Iterator[None]:
    """A test that failed before waiting for a command it started leaves nothing running
    (a hung explorer left behind loads the machine for every test after it)."""
    yield
    from e2e import kill_leftovers

    kill_leftovers()


def pytest_report_header() -> str:
    import stress

    return f"pagerace from {stress.__file__}"
