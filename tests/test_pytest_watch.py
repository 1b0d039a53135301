"""``hmr-ast pytest``: a warm pytest that reruns only the tests an edit affects.

Each test starts a real ``hmr-ast pytest -v`` on a project in tmp_path, edits files on disk
and waits for the report lines it expects.
"""

from __future__ import annotations

import sys
from pathlib import Path

from harness import HotProcess, make_project, write

SUMMARY = r"^=+ .*\d+ (passed|failed|error).* in [\d.]+s"

PROJECT = {
    "helpers.py": "def compute():\n    return 1\n\n\ndef other():\n    return 2\n",
    "core.py": "def base():\n    return 10\n",
    "api.py": "import core\n\n\ndef total():\n    return core.base() + 1\n",
    "conftest.py": (
        "import pytest\n\n\n"
        "@pytest.fixture(scope='session')\n"
        "def db():\n"
        "    print('BUILD DB', flush=True)\n"
        "    return {'rows': 3}\n"
    ),
    "test_things.py": (
        "import api\nimport helpers\n\n\n"
        "def test_compute(db):\n    assert helpers.compute() == 1\n\n\n"
        "def test_other():\n    assert helpers.other() == 2\n\n\n"
        "def test_through_a_call():\n    assert api.total() == 11\n\n\n"
        "def test_rows(db):\n    assert db['rows'] == 3\n"
    ),
}


def hot_pytest(root: Path, *args: str) -> HotProcess:
    return HotProcess(
        [sys.executable, "-m", "hmr_ast", "pytest", "-v", "-s", "-p", "no:cacheprovider", *args],
        root,
    )


def test_an_edit_reruns_only_the_tests_that_read_what_changed(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        first_run = len(hot.out.seen)
        write(tmp_path / "helpers.py", PROJECT["helpers.py"].replace("return 1", "return 5"))
        hot.out.wait_for(r"test_things.py::test_compute FAILED")
        hot.out.wait_for(r"^E\s+assert 5 == 1")  # pytest's own assertion introspection
        hot.out.wait_for(r"^=+ 1 failed in")
        hot.out.wait_for(r"^hmr-ast: 3 unaffected tests not rerun")
        # through a call chain: the test calls api.total(), which calls core.base()
        write(tmp_path / "core.py", "def base():\n    return 20\n")
        line = hot.out.wait_for(r"test_things.py::test_\w+ (PASSED|FAILED)").string
        assert "test_through_a_call FAILED" in line
        hot.out.wait_for(r"^=+ 1 failed in")
        hot.out.wait_for(r"^hmr-ast: 3 unaffected tests not rerun")
        assert not any("BUILD DB" in line for line in hot.out.seen[first_run:])  # db lived on


def test_an_edit_to_a_from_imported_function_reruns_the_tests_that_call_it(
    tmp_path: Path,
) -> None:
    make_project(
        tmp_path,
        {
            "lib.py": "def f():\n    return 1\n\n\ndef g():\n    return 2\n",
            "test_lib.py": (
                "from lib import f, g as renamed\n\n\n"
                "def test_f():\n    assert f() == 1\n\n\n"
                "def test_g():\n    assert renamed() == 2\n"
            ),
        },
    )
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 2 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "lib.py", "def f():\n    return 5\n\n\ndef g():\n    return 2\n")
        hot.out.wait_for(r"test_lib.py::test_f FAILED")
        hot.out.wait_for(r"^=+ 1 failed in")
        hot.out.wait_for(r"^hmr-ast: 1 unaffected tests not rerun")
        write(tmp_path / "lib.py", "def f():\n    return 5\n\n\ndef g():\n    return 3\n")
        hot.out.wait_for(r"test_lib.py::test_g FAILED")  # imported under another name
        hot.out.wait_for(r"^=+ 1 failed in")


def test_a_failing_assert_shows_pytests_diff(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {"test_lists.py": "def test_lists():\n    assert [1, 2, 3] == [1, 2, 3]\n"},
    )
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 1 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "test_lists.py", "def test_lists():\n    assert [1, 2, 3] == [1, 2, 4]\n")
        hot.out.wait_for(r"^E\s+At index 2 diff: 3 != 4")
        hot.out.wait_for(r"^=+ 1 failed in")


def test_new_and_removed_tests_appear_and_disappear(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        first_run = len(hot.out.seen)
        source = PROJECT["test_things.py"].replace("def test_other", "def test_renamed")
        write(tmp_path / "test_things.py", source + "\n\ndef test_new():\n    assert False\n")
        hot.out.wait_for(r"test_things.py::test_renamed PASSED")
        hot.out.wait_for(r"test_things.py::test_new FAILED")
        hot.out.wait_for(r"^=+ 1 failed, 1 passed in")
        hot.out.wait_for(r"^hmr-ast: 3 unaffected tests not rerun")
        assert not any("test_other" in line for line in hot.out.seen[first_run:])


def test_a_new_test_file_is_collected_and_run(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "notes.py", "X = 1\n")  # not a test file: collects nothing
        write(
            tmp_path / "test_more.py",
            "import helpers\n\n\ndef test_more(db):\n    assert helpers.other() == 3\n",
        )
        hot.out.wait_for(r"test_more.py::test_more FAILED")
        hot.out.wait_for(r"^=+ 1 failed in")
        hot.out.wait_for(r"^hmr-ast: 4 unaffected tests not rerun")
        write(tmp_path / "helpers.py", PROJECT["helpers.py"].replace("return 2", "return 3"))
        hot.out.wait_for(r"test_more.py::test_more PASSED")  # and it is watched like the rest
        hot.out.wait_for(r"^=+ 1 failed, 1 passed in")


def test_a_changed_fixture_is_rebuilt_and_its_tests_rerun(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "conftest.py", PROJECT["conftest.py"].replace("'rows': 3", "'rows': 4"))
        hot.out.wait_for("BUILD DB")
        hot.out.wait_for(r"test_things.py::test_rows FAILED")
        hot.out.wait_for(r"^=+ 1 failed, 1 passed in")
        hot.out.wait_for(r"^hmr-ast: 2 unaffected tests not rerun")


def test_a_syntax_error_is_reported_and_watching_goes_on(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "helpers.py", "def compute(:\n    return 1\n")
        hot.out.wait_for(r"ERROR collecting helpers.py")
        hot.out.wait_for(r"SyntaxError")
        hot.out.wait_for(r"^=+ 1 error in")
        write(tmp_path / "helpers.py", PROJECT["helpers.py"].replace("return 2", "return 3"))
        hot.out.wait_for(r"test_things.py::test_other FAILED")
        hot.out.wait_for(r"^=+ 1 failed in")


def test_a_test_file_restored_after_a_syntax_error_runs_its_tests_again(tmp_path: Path) -> None:
    """Its text is then the last good version, so nothing changed since its tests last ran;
    they run anyway: the screen showed the collection error, and must end with their results."""
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 4 passed")
        hot.err.wait_for(r"watching")
        write(tmp_path / "test_things.py", "def test_compute(:\n    pass\n")
        hot.out.wait_for(r"ERROR collecting test_things.py")
        hot.out.wait_for(r"^=+ 1 error in")
        write(tmp_path / "test_things.py", PROJECT["test_things.py"])
        hot.out.wait_for(r"test_things.py::test_compute PASSED")
        hot.out.wait_for(r"^=+ 4 passed in")


def test_a_test_file_that_fails_to_import_recovers(tmp_path: Path) -> None:
    files = dict(PROJECT)
    files["test_broken.py"] = "import helpers\n\nraise RuntimeError('not yet')\n"
    make_project(tmp_path, files)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"ERROR collecting test_broken.py")
        hot.out.wait_for(r"^=+ .*1 error")
        hot.err.wait_for(r"watching")
        write(tmp_path / "test_broken.py", "def test_fixed():\n    assert True\n")
        hot.out.wait_for(r"test_broken.py::test_fixed PASSED")
        hot.out.wait_for(r"^=+ .*passed in")


def test_keys_on_a_terminal_rerun_the_failed_tests_all_tests_and_quit(tmp_path: Path) -> None:
    """On a terminal (here a pseudo-terminal), ``f`` reruns the failed tests, ``a`` all of
    them, ``q`` ends the session with pytest's exit status."""
    import os
    import pty
    import subprocess

    from harness import TIMEOUT, Stream, clean_env

    files = dict(PROJECT)
    files["test_things.py"] += "\n\ndef test_broken():\n    assert helpers.compute() == 2\n"
    make_project(tmp_path, files)
    terminal, their_end = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "hmr_ast", "pytest", "-v", "-p", "no:cacheprovider"],
        cwd=tmp_path,
        env=clean_env(),
        stdin=their_end,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        bufsize=1,
    )
    os.close(their_end)
    try:
        out, err = Stream(process.stdout), Stream(process.stderr)
        out.wait_for(r"^=+ 1 failed, 4 passed")
        err.wait_for(r"watching for changes; keys: .*q = quit$")
        os.write(terminal, b"f")
        out.wait_for(r"test_things.py::test_broken FAILED")
        out.wait_for(r"^=+ 1 failed in")
        os.write(terminal, b"a")
        out.wait_for(r"^=+ 1 failed, 4 passed in")
        os.write(terminal, b"q")
        assert process.wait(timeout=TIMEOUT) == 1  # pytest's status: a test failed
    finally:
        if process.poll() is None:
            process.kill()
        os.close(terminal)


def _pytest_with_plugin_set(setting: str) -> list[str]:
    """``pytest --hmr`` in a fresh interpreter, after ``setting`` (Python, with the plugin
    module as ``plugin``) ran: how a test pretends the running pytest is too old or too new."""
    program = (
        "import sys, pytest\n"
        "import hmr_ast.integrations.pytest.plugin as plugin\n"
        f"{setting}\n"
        "sys.exit(pytest.main(['--hmr', '-s', '-p', 'no:cacheprovider']))\n"
    )
    return [sys.executable, "-c", program]


def test_a_pytest_older_than_the_oldest_supported_is_refused_with_what_to_install(
    tmp_path: Path,
) -> None:
    import subprocess

    import pytest

    from harness import TIMEOUT, clean_env

    make_project(tmp_path, {"test_one.py": "def test_one():\n    print('RAN')\n"})
    result = subprocess.run(
        _pytest_with_plugin_set("plugin.OLDEST = (99, 0)"),
        cwd=tmp_path,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )
    assert result.returncode == 4, result.stdout + result.stderr  # pytest's usage error
    expected = f"works with pytest 99.0 or newer; this is pytest {pytest.__version__}: "
    assert expected + "pip install 'pytest>=99.0'" in result.stderr
    assert "RAN" not in result.stdout


def test_a_pytest_newer_than_the_newest_tested_is_named_once_and_the_tests_run(
    tmp_path: Path,
) -> None:
    make_project(tmp_path, {"test_one.py": "def test_one():\n    print('RAN')\n"})
    command = _pytest_with_plugin_set("plugin.NEWEST_TESTED = (7, 0)")
    with HotProcess(command, tmp_path) as hot:
        hot.out.wait_for(r"^=+ 1 passed")
        assert any("RAN" in line for line in hot.out.seen)
        hot.err.wait_for(r"watching")
        told = [line for line in hot.err.seen if "newer than the newest release" in line]
        assert len(told) == 1, hot.err.seen
        assert "tested with (7.0); going on" in told[0]
