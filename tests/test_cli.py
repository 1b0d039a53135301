"""``hmr-ast run`` is ``python`` with hot reload: the program cannot tell the difference."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

import pytest

import hmr_ast
from harness import TIMEOUT, HotProcess, clean_env, fresh_run, make_project, write
from streams import finish, hmr_lines

SHOW_PROCESS = """\
import json, os, sys
print(json.dumps({
    'argv': sys.argv,
    'name': __name__,
    'path0': sys.path[0],
    'path': sys.path,
    'file': __file__,
    'spec': repr(__spec__),
    'spec_name': getattr(__spec__, 'name', None),
    'package': __package__,
    'doc': __doc__,
    'cached': globals().get('__cached__', 'absent'),
    'cwd': os.getcwd(),
}, sort_keys=True), flush=True)
"""


def hot_output_line(hot: HotProcess) -> str:
    return hot.out.wait_for(r"^\{").string


@pytest.mark.core
def test_script_sees_the_same_argv_name_path_file_and_spec_as_plain_python(tmp_path):
    make_project(tmp_path, {"app.py": SHOW_PROCESS})
    args = ("app.py", "input.txt", "-v", "--flag=1", "-m", "x")  # options after the script are its
    plain = fresh_run(tmp_path, *args)
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, *args) as hot:
        assert hot_output_line(hot) == plain.stdout.strip()


def test_script_in_a_subfolder_sees_the_same_paths_as_plain_python(tmp_path):
    make_project(tmp_path, {"tools/app.py": SHOW_PROCESS, "tools/helper.py": "X = 1\n"})
    plain = fresh_run(tmp_path, "tools/app.py", "arg")
    with HotProcess.run(tmp_path, "tools/app.py", "arg") as hot:
        assert hot_output_line(hot) == plain.stdout.strip()


def test_symlinked_script_imports_beside_its_target_as_plain_python(tmp_path):
    make_project(
        tmp_path,
        {
            "real/app.py": SHOW_PROCESS + "import helper\nprint('helper', helper.WHERE)\n",
            "real/helper.py": "WHERE = 'beside the real script'\n",
        },
    )
    os.symlink(tmp_path / "real" / "app.py", tmp_path / "link.py")
    plain = fresh_run(tmp_path, "link.py")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "link.py") as hot:
        assert hot_output_line(hot) == plain.stdout.splitlines()[0]
        hot.out.wait_for("^helper beside the real script$")


def test_main_module_globals_are_those_of_plain_python(tmp_path):
    program = "print(sorted(globals()), type(__builtins__).__name__, flush=True)\n"
    make_project(tmp_path, {"app.py": program})
    plain = fresh_run(tmp_path, "app.py")
    with HotProcess.run(tmp_path, "app.py") as hot:
        assert hot.out.wait_for(r"^\[").string == plain.stdout.strip()


def test_main_can_use_dunder_builtins_as_a_module(tmp_path):
    program = (
        "try:\n    print('len is', __builtins__.len('abc'), flush=True)\n"
        "finally:\n    print('end', flush=True)\n"
    )
    make_project(tmp_path, {"app.py": program})
    assert fresh_run(tmp_path, "app.py").stdout == "len is 3\nend\n"
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        finish(hot)
        assert hot.out.seen == ["len is 3", "end"], hot.err.seen


SHOW_MODULE = """\
import json, sys
from . import helper
print(json.dumps({
    'argv': sys.argv,
    'name': __name__,
    'spec_name': __spec__.name,
    'spec_parent': __spec__.parent,
    'origin': __spec__.origin,
    'package': __package__,
    'file': __file__,
    'cached': __cached__,
    'path0': sys.path[0],
}, sort_keys=True), flush=True)
print('helper', helper.VALUE, flush=True)
"""


@pytest.mark.core
def test_run_module_is_python_dash_m_and_reloads(tmp_path):
    make_project(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/helper.py": "VALUE = 1\n", "pkg/mod.py": SHOW_MODULE},
    )
    plain = fresh_run(tmp_path, "-m", "pkg.mod", "a1", "-q")
    assert plain.returncode == 0, plain.stderr
    plain_line = plain.stdout.splitlines()[0]
    with HotProcess.run(tmp_path, "-m", "pkg.mod", "a1", "-q") as hot:
        assert hot_output_line(hot) == plain_line
        hot.out.wait_for("^helper 1$")
        write(tmp_path / "pkg" / "helper.py", "VALUE = 2\n")
        hot.err.wait_for(
            r"^\[hmr-ast\] reloaded pkg/helper\.py: reran pkg\.helper in [\d.]+ ms, "
            r"rerunning __main__$"
        )
        hot.out.wait_for("^helper 2$")
        assert hot.out.seen.count(plain_line) == 2  # the rerun is a fresh ``python -m`` too


def test_run_package_runs_its_main_module_as_python_dash_m(tmp_path):
    make_project(
        tmp_path,
        {"pkg/__init__.py": "", "pkg/helper.py": "VALUE = 1\n", "pkg/__main__.py": SHOW_MODULE},
    )
    plain = fresh_run(tmp_path, "-m", "pkg", "x")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "-m", "pkg", "x") as hot:
        assert hot_output_line(hot) == plain.stdout.splitlines()[0]


@pytest.mark.core
def test_python_dash_m_hmr_ast_runs_a_script_without_the_run_word(tmp_path):
    make_project(tmp_path, {"app.py": "import a\nprint('value', a.VALUE)\n", "a.py": "VALUE = 1\n"})
    with HotProcess([sys.executable, "-m", "hmr_ast", "app.py"], tmp_path) as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$")
        hot.out.wait_for("^value 2$")


def test_console_script_on_path_runs_and_reloads(tmp_path):
    script = shutil.which("hmr-ast")
    assert script is not None, "the hmr-ast console script is not on PATH"
    make_project(tmp_path, {"app.py": "import a\nprint('value', a.VALUE)\n", "a.py": "VALUE = 1\n"})
    with HotProcess([script, "run", "app.py"], tmp_path) as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$")
        hot.out.wait_for("^value 2$")


@pytest.mark.core
def test_quiet_prints_nothing_of_its_own(tmp_path):
    make_project(tmp_path, {"app.py": "import a\nprint('value', a.VALUE)\n", "a.py": "VALUE = 1\n"})
    with HotProcess.run(tmp_path, "app.py", options=("-q",)) as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.out.wait_for("^value 2$")
        write(tmp_path / "a.py", "VALUE = (\n")  # even an error is the program's business only
        write(tmp_path / "app.py", "import a\nprint('fixed', a.VALUE)\n")
        hot.out.wait_for("^fixed 2$")  # both edits were handled: a kept, the entry reran
        assert finish(hot) == 130
        assert hmr_lines(hot.err.seen) == [], hot.err.seen


@pytest.mark.core
def test_verbose_explains_why_each_module_reruns(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import a, b\nprint('value', a.VALUE, b.OTHER)\n",
            "a.py": "VALUE = 1\n",
            "b.py": "OTHER = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^value 1 1$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\]   a: reran; changed names: VALUE$")
        hot.err.wait_for(r"^\[hmr-ast\]   __main__: reads a:VALUE, which changed$")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$")
        hot.out.wait_for("^value 2 1$")
        write(tmp_path / "b.py", "OTHER = 1\n\n# a comment only\n")
        hot.err.wait_for(r"^\[hmr-ast\]   b: reran; changed names: none$")
        write(tmp_path / "a.py", "VALUE = 2\n")  # saved as it was
        hot.err.wait_for(r"^\[hmr-ast\]   a: saved without changes, nothing to do$")


LOOPING = "import time\nprint('running', flush=True)\nwhile True:\n    time.sleep(0.01)\n"
FINISHING = "print('done', flush=True)\n"
IMPORTING_SLOWLY = "import slow\n"
SLOW = "import time\nprint('loading slow', flush=True)\ntime.sleep(30)\n"


@pytest.mark.core
@pytest.mark.parametrize(
    ("program", "marker"),
    [(LOOPING, "running"), (FINISHING, "done"), (IMPORTING_SLOWLY, "loading slow")],
    ids=["entry-running", "entry-finished", "during-start-up"],
)
def test_ctrl_c_exits_at_once_with_130_and_no_traceback(tmp_path, program, marker):
    make_project(tmp_path, {"app.py": program, "slow.py": SLOW})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(f"^{marker}$")
        assert finish(hot) == 130
        assert not [line for line in hot.err.seen if "Traceback" in line or "Interrupt" in line], (
            hot.err.seen
        )


def test_ctrl_c_during_a_rerun_exits_at_once_with_130_and_no_traceback(tmp_path):
    make_project(tmp_path, {"app.py": "import a\n" + LOOPING, "a.py": "VALUE = 1\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^running$")
        write(tmp_path / "a.py", "import time\nprint('a reruns', flush=True)\ntime.sleep(30)\n")
        hot.out.wait_for("^a reruns$")  # on the watcher thread, for 30 seconds
        assert finish(hot) == 130
        assert not [line for line in hot.err.seen if "Traceback" in line or "Interrupt" in line], (
            hot.err.seen
        )


def test_ctrl_c_ends_hmr_ast_even_when_the_program_handles_it(tmp_path):
    program = (
        # 'running' is printed inside the try: a signal before it would not be caught.
        "import time\n"
        "try:\n    print('running', flush=True)\n    while True:\n        time.sleep(0.01)\n"
        "except KeyboardInterrupt:\n    print('cleaned up', flush=True)\n"
    )
    make_project(tmp_path, {"app.py": program})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^running$")
        hot.process.send_signal(signal.SIGINT)
        hot.out.wait_for("^cleaned up$")
        try:
            code = hot.process.wait(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            pytest.fail("still running after Ctrl-C (a plain python run has exited)")
        assert code in (0, 130)


def hmr_ast_once(root, *args: str) -> subprocess.CompletedProcess:
    """``python -m hmr_ast ARGS`` in ``root``, to its end (for usage errors)."""
    return subprocess.run(
        [sys.executable, "-m", "hmr_ast", *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )


@pytest.mark.core
def test_missing_script_is_a_clear_error_with_exit_code_2(tmp_path):
    result = hmr_ast_once(tmp_path, "run", "nowhere.py")
    assert result.returncode == 2
    assert "nowhere.py" in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


@pytest.mark.parametrize("module", ["nowhere", "nowhere.mod"])
def test_missing_module_is_a_clear_error_like_python(tmp_path, module):
    plain = fresh_run(tmp_path, "-m", module)
    result = hmr_ast_once(tmp_path, "run", "-m", module)
    assert result.returncode == plain.returncode == 1
    assert "nowhere" in result.stderr
    assert "Traceback" not in result.stderr, result.stderr


def test_no_program_is_a_usage_error(tmp_path):
    result = hmr_ast_once(tmp_path, "run")
    assert result.returncode == 2
    assert "usage:" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["-v", "-q"], "not allowed with argument"),
        (["--include"], "give a script to run, or -m MODULE"),  # app.py is its GLOB
    ],
)
def test_option_mistakes_are_usage_errors_naming_the_mistake(tmp_path, options, message):
    """The usual options are read without argparse (its import costs start-up); anything
    else still gets argparse's message and exit status, and the program does not run."""
    write(tmp_path / "app.py", "print('the program ran')\n")
    result = hmr_ast_once(tmp_path, "run", *options, "app.py")
    assert result.returncode == 2
    assert message in result.stderr
    assert "usage:" in result.stderr and "Traceback" not in result.stderr
    assert "the program ran" not in result.stdout


def test_version_is_printed_without_running_anything(tmp_path):
    result = hmr_ast_once(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"hmr-ast {hmr_ast.__version__}"


def test_program_output_is_untouched(tmp_path):
    program = (
        "import sys\nsys.stdout.write('no newline')\nsys.stdout.write(' then more\\n')\n"
        "print('to stderr', file=sys.stderr)\nprint('é ünïcode ✓')\n"
    )
    make_project(tmp_path, {"app.py": program})
    plain = fresh_run(tmp_path, "app.py")
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("ünïcode")
        finish(hot)
    assert "\n".join(hot.out.seen) + "\n" == plain.stdout
    assert (
        [line for line in hot.err.seen if not line.startswith("[hmr-ast]")]
        == ["to stderr"]
        == plain.stderr.splitlines()
    )
