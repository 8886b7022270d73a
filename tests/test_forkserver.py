"""The forkserver the workers fork from: preloaded, and started where only the installed
package can be imported."""

from __future__ import annotations

import os
from pathlib import Path

import psutil

from stress.runs import forkserver, tempdir


def test_the_forkserver_runs_in_our_tempdir_and_we_stay_where_we_were() -> None:
    """Its `python -c` puts its directory first on sys.path: a checkout's root there would
    shadow the installed package, extension and all (as CI runs from one)."""
    from multiprocess import forkserver as mp_forkserver

    mp_forkserver._forkserver._stop()  # (another test in this process may have started one)
    here = os.getcwd()
    forkserver.context("forkserver")
    assert os.getcwd() == here
    pid = mp_forkserver._forkserver._forkserver_pid
    assert pid is not None
    assert Path(psutil.Process(pid).cwd()) == Path(tempdir.claim()).resolve()


def test_other_start_methods_are_left_alone() -> None:
    """spawn and fork have no server to start."""
    assert forkserver.context("spawn").get_start_method() == "spawn"
