"""hmr-ast is invisible to a test suite: with hmr-ast installed, a suite has the same outcome
under plain ``pytest``, ``pytest --hmr``, ``hmr-ast pytest`` and ``hmr-ast run -m pytest``.

The suite here is strict: warnings are errors (so pytest's "Module already imported so cannot
be rewritten" would stop it), a plugin of its own relies on pytest rewriting its asserts, and
a test runs pytest in-process with ``pytester``.

This checkout is installed editable for the tests, and pytest finds no Python files in an
editable install's record; a wheel's record lists ``hmr_ast/__init__.py``, and that is what
makes pytest mark ``hmr_ast`` for rewriting. ``WHEEL_RECORD`` gives the child processes the
same view of hmr-ast a wheel install gives: a distribution, first on ``sys.path``, with the
wheel's record and the ``pytest11`` entry point.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from harness import TIMEOUT, HotProcess, clean_env, make_project

SRC = Path(__file__).resolve().parent.parent / "src"

SUITE = {
    "pyproject.toml": (
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\naddopts = "-p no:cacheprovider"\n'
    ),
    "conftest.py": 'pytest_plugins = ["pytester", "strict_plugin"]\n',
    "strict_plugin.py": ("def check_equal(left, right):\n    assert left == right\n"),
    "test_strict.py": (
        "import pytest\n"
        "import strict_plugin\n\n\n"
        "def test_the_plugins_asserts_are_rewritten():\n"
        "    with pytest.raises(AssertionError, match=r'assert 1 == 2'):\n"
        "        strict_plugin.check_equal(1, 2)\n\n\n"
        "def test_pytester_runs_pytest_inside(pytester):\n"
        "    pytester.makepyfile('def test_inner():\\n    assert True\\n')\n"
        "    pytester.runpytest_inprocess('-p', 'no:cacheprovider').assert_outcomes(passed=1)\n"
    ),
}

SUMMARY = r"^=+ 2 passed in"


@pytest.fixture()
def suite(tmp_path: Path) -> Path:
    return make_project(tmp_path / "suite", SUITE)


@pytest.fixture(scope="module")
def wheel_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a process that sees hmr-ast as a wheel install shows it."""
    import hmr_ast

    site = tmp_path_factory.mktemp("wheel-site")
    info = site / f"hmr_ast-{hmr_ast.__version__}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: hmr-ast\nVersion: {hmr_ast.__version__}\n"
    )
    modules = sorted(path.relative_to(SRC).as_posix() for path in (SRC / "hmr_ast").rglob("*.py"))
    (info / "RECORD").write_text("".join(f"{name},,\n" for name in modules))
    (info / "entry_points.txt").write_text(
        "[pytest11]\nhmr_ast.pytest_plugin = hmr_ast.integrations.pytest.plugin\n"
    )
    path = os.pathsep.join([str(SRC), str(site), os.environ.get("PYTHONPATH", "")])
    return clean_env(PYTHONPATH=path.rstrip(os.pathsep))


def _no_warning_left(lines: list[str]) -> None:
    text = "\n".join(lines)
    assert "Warning" not in text, text


def test_plain_pytest_passes_a_suite_where_warnings_are_errors(
    suite: Path, wheel_env: dict[str, str]
) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-v"],
        cwd=suite,
        env=wheel_env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT * 3,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(SUMMARY, result.stdout, re.MULTILINE), result.stdout
    _no_warning_left([result.stdout, result.stderr])


@pytest.mark.parametrize(
    "command",
    [
        ["-m", "pytest", "--hmr", "-v"],
        ["-m", "hmr_ast", "pytest", "-v"],
        ["-m", "hmr_ast", "run", "-m", "pytest", "-v"],
    ],
    ids=["pytest --hmr", "hmr-ast pytest", "hmr-ast run -m pytest"],
)
def test_a_suite_where_warnings_are_errors_passes_under_hmr_ast(
    suite: Path, wheel_env: dict[str, str], command: list[str]
) -> None:
    """Each of them stays up after the run (to watch), so the test reads its output."""
    with HotProcess([sys.executable, *command], suite, env=wheel_env) as hot:
        hot.out.wait_for(SUMMARY)
        if "run" not in command:
            hot.err.wait_for(r"watching")
        _no_warning_left(hot.out.seen + hot.err.seen)
