"""pytest options that choose or place tests, under ``--hmr``: ``--lf`` and ``--ff`` choose
the first run and the watch goes on from there; pytest-xdist's ``-n`` stops at once with one
line saying why (the warm modules and fixtures live in this one process)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness import TIMEOUT, HotProcess, clean_env, make_project, write

TESTS = "def test_a():\n    assert 1\n\n\ndef test_b():\n    assert {b}\n"


def _project_with_a_last_failure(root: Path) -> None:
    """test_b failed in the last plain run, so pytest's cache says so."""
    make_project(root, {"test_x.py": TESTS.format(b=0)})
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q"],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )
    assert "1 failed, 1 passed" in result.stdout, result.stdout + result.stderr


def test_last_failed_runs_the_failure_first_then_what_each_edit_affects(tmp_path: Path) -> None:
    _project_with_a_last_failure(tmp_path)
    command = [sys.executable, "-m", "hmr_ast", "pytest", "-v", "--lf"]
    with HotProcess(command, tmp_path) as hot:
        hot.out.wait_for(r"test_x.py::test_b FAILED")
        hot.out.wait_for(r"^=+ 1 failed in")
        hot.err.wait_for(r"watching")
        write(tmp_path / "test_x.py", TESTS.format(b=1))
        # --lf chose the first run only; the file's other test joins the watch now
        hot.out.wait_for(r"test_x.py::test_b PASSED")
        hot.out.wait_for(r"^=+ 2 passed in")
        write(tmp_path / "test_x.py", TESTS.format(b=1).replace("assert 1\n", "assert 2\n", 1))
        hot.out.wait_for(r"test_x.py::test_a PASSED")
        hot.out.wait_for(r"^=+ 1 passed in")
        hot.out.wait_for(r"^hmr-ast: 1 unaffected tests not rerun")


def test_failed_first_runs_the_failure_first_then_only_what_an_edit_affects(
    tmp_path: Path,
) -> None:
    _project_with_a_last_failure(tmp_path)
    command = [sys.executable, "-m", "hmr_ast", "pytest", "-v", "--ff"]
    with HotProcess(command, tmp_path) as hot:
        first = hot.out.wait_for(r"test_x.py::test_\w+ (PASSED|FAILED)").string
        assert "test_b FAILED" in first
        hot.out.wait_for(r"^=+ 1 failed, 1 passed in")
        hot.err.wait_for(r"watching")
        write(tmp_path / "test_x.py", TESTS.format(b=1))
        hot.out.wait_for(r"test_x.py::test_b PASSED")
        hot.out.wait_for(r"^=+ 1 passed in")
        hot.out.wait_for(r"^hmr-ast: 1 unaffected tests not rerun")


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "pytest", "--hmr", "-n", "2"],
        ["-m", "hmr_ast", "pytest", "-n", "auto"],
        ["-m", "pytest", "--hmr", "--dist", "load"],
    ],
    ids=["pytest --hmr -n 2", "hmr-ast pytest -n auto", "pytest --hmr --dist load"],
)
def test_xdist_workers_with_hmr_stop_at_once_with_one_line_saying_why(
    tmp_path: Path, command: list[str]
) -> None:
    make_project(tmp_path, {"test_x.py": "def test_a():\n    print('RAN')\n"})
    result = subprocess.run(
        [sys.executable, *command, "-s", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    lines = [  # besides "[hmr-ast] pytest X is newer than ..." on a release not tested yet
        line for line in result.stderr.splitlines() if line.strip() and "[hmr-ast]" not in line
    ]
    assert lines == [
        "ERROR: hmr-ast pytest keeps the tests warm in its own process, so it cannot hand "
        "them to pytest-xdist workers: drop -n/--dist (or add -n 0) when using --hmr"
    ]
    assert "RAN" not in result.stdout
