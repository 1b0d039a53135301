"""``%load_ext hmr_ast`` through IPython's own shell API (``InteractiveShell.instance()``),
in a subprocess that runs the cells this test sends it while the test edits files on disk.

Each test starts one shell (about 0.4 s). The kernel tests (``test_ipython_kernel.py``) cover
what a notebook user sees; these cover what is easier to set up in a plain shell: modules
imported before the extension loaded, a module that cannot be taken over, loading it
again, and the project scope.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness import TIMEOUT, Stream, clean_env, write

pytest.importorskip("IPython")

#: Runs each cell it reads (a JSON line) in one InteractiveShell, answers with a JSON line.
DRIVER = r"""
import contextlib, importlib, io, json, sys
sys.path.insert(0, "")  # as IPython and ipykernel start: the working directory first
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
answers = sys.stdout
for line in sys.stdin:
    cell = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    # The test may have created a module a moment ago, within the tick of the folder's
    # modification time that Python's path cache compared: let the import system look again.
    importlib.invalidate_caches()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(cell, store_history=True)
    failure = result.error_in_exec or result.error_before_exec
    answers.write(json.dumps({
        "stdout": out.getvalue(),
        "stderr": err.getvalue(),
        "error": f"{type(failure).__name__}: {failure}" if failure else None,
    }) + "\n")
    answers.flush()
"""


class Shell:
    def __init__(self, cwd: Path, ipython_dir: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=clean_env(IPYTHONDIR=str(ipython_dir)),
        )

    def run(self, cell: str) -> dict:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(json.dumps(cell) + "\n")
        self.process.stdin.flush()
        line = _read_line(self.process, TIMEOUT * 3)
        return json.loads(line)

    def value(self, expression: str) -> object:
        answer = self.run(f"import json as _json; print(_json.dumps({expression}))")
        assert answer["error"] is None, answer
        return json.loads(answer["stdout"].strip().splitlines()[-1])

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(timeout=TIMEOUT)


def _read_line(process: subprocess.Popen, timeout: float) -> str:
    import threading

    box: list[str] = []
    reader = threading.Thread(target=lambda: box.append(process.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    if not box or not box[0]:
        process.kill()
        raise AssertionError(f"the shell did not answer: {process.stderr.read()}")
    return box[0]


@pytest.fixture
def shell(tmp_path: Path):
    project = tmp_path / "project"
    project.mkdir()
    shell = Shell(project, tmp_path / "ipython")
    shell.project = project  # type: ignore[attr-defined]
    yield shell
    shell.close()


LEAF = """\
LIMIT = 10
REGISTRY = []

def helper():
    return "old helper"

class Counter:
    def step(self):
        return 1
"""


def test_modules_imported_before_loading_are_taken_over(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "leaf.py", LEAF)
    write(project / "user.py", "from leaf import LIMIT\n\nDOUBLE = LIMIT * 2\n")
    before = shell.run(
        "import leaf, user\nfrom leaf import LIMIT, Counter, helper\nc = Counter()\n"
        "ids = (id(Counter), id(helper))"
    )
    assert before["error"] is None
    loaded = shell.run("%load_ext hmr_ast")
    assert loaded["error"] is None
    assert "took over 2 modules imported before hmr_ast loaded" in loaded["stderr"]
    assert "leaf, user" in loaded["stderr"]
    # Taking over kept the objects the session holds: functions and classes are the same.
    assert shell.value("ids == (id(leaf.Counter), id(leaf.helper))") is True
    write(project / "leaf.py", LEAF.replace("10", "20").replace("return 1", "return 2"))
    after = shell.run("print(LIMIT, user.DOUBLE, c.step(), helper())")
    assert after["stdout"] == "20 40 2 old helper\n"
    assert "reran leaf, user" in after["stderr"] and "rebound LIMIT" in after["stderr"]
    status = shell.run("%hmr_ast status")["stdout"]
    assert "leaf.py  (taken over)" in status


def test_a_module_whose_second_run_fails_is_left_as_it_was(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(
        project / "once.py",
        "import builtins\nif hasattr(builtins, 'once_ran'):\n"
        "    raise RuntimeError('once.py must run once')\nbuiltins.once_ran = True\nV = 1\n",
    )
    assert shell.run("import once")["error"] is None
    loaded = shell.run("%load_ext hmr_ast")
    assert loaded["error"] is None
    assert "could not take over once (RuntimeError: once.py must run once)" in loaded["stderr"]
    assert shell.value("once.V") == 1
    assert "once" not in shell.run("%hmr_ast status")["stdout"].split("watched modules")[1]


def test_removed_function_leaves_the_notebook_too(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "tools_mod.py", "def keep():\n    return 1\n\ndef gone():\n    return 2\n")
    shell.run("%load_ext hmr_ast")
    assert shell.run("from tools_mod import keep, gone")["error"] is None
    write(project / "tools_mod.py", "def keep():\n    return 1\n")
    after = shell.run("print(keep())\nimport tools_mod\nprint(hasattr(tools_mod, 'gone'))")
    assert after["stdout"] == "1\nFalse\n"
    assert "removed gone from the notebook" in after["stderr"]
    assert shell.run("gone")["error"] == "NameError: name 'gone' is not defined"


def test_a_name_the_cell_bound_again_is_not_rebound(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "config_mod.py", "SIZE = 1\n")
    shell.run("%load_ext hmr_ast")
    shell.run("from config_mod import SIZE\nSIZE = 100")
    write(project / "config_mod.py", "SIZE = 2\n")
    assert shell.value("SIZE") == 100


def test_loading_it_again_keeps_reloading(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "again.py", "A = 1\n")
    shell.run("%load_ext hmr_ast")
    shell.run("import again")
    assert shell.run("%reload_ext hmr_ast")["error"] is None
    write(project / "again.py", "A = 2\n")
    assert shell.value("again.A") == 2


def test_excluded_files_are_not_the_projects(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "pyproject.toml", '[tool.hmr-ast]\nexclude = ["vendored.py"]\n')
    write(project / "vendored.py", "V = 1\n")
    write(project / "mine.py", "M = 1\n")
    shell.run("%load_ext hmr_ast")
    shell.run("import vendored, mine")
    write(project / "vendored.py", "V = 2\n")
    write(project / "mine.py", "M = 2\n")
    assert shell.value("(vendored.V, mine.M)") == [1, 2]
    scope = shell.run("%hmr_ast scope --exclude mine.py")["stdout"]
    assert "never (--exclude): vendored.py, mine.py" in scope


def test_loading_beside_autoreload_warns(shell: Shell) -> None:
    shell.run("%load_ext autoreload\n%autoreload 2")
    loaded = shell.run("%load_ext hmr_ast")
    assert "%autoreload is loaded too" in loaded["stderr"]


def test_a_notebook_beside_its_package_reloads_it_once_included(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "src" / "pkgx" / "__init__.py", "")
    write(project / "src" / "pkgx" / "core.py", "ANSWER = 1\n")
    (project / "notebooks").mkdir()
    shell = Shell(project / "notebooks", tmp_path / "ipython")
    try:
        shell.run("import sys\nsys.path.append('../src')\nimport pkgx.core\n%load_ext hmr_ast")
        outside = shell.run("%hmr_ast status")["stdout"]
        assert "pkgx" not in outside  # the working directory is the project, by default
        scope = shell.run("%hmr_ast scope --include '../src/*'")
        assert "took over 2 modules imported before hmr_ast loaded" in scope["stderr"]
        write(project / "src" / "pkgx" / "core.py", "ANSWER = 42\n")
        assert shell.value("pkgx.core.ANSWER") == 42
    finally:
        shell.close()


def test_terminal_ipython_loads_it_as_a_default_extension(tmp_path: Path) -> None:
    project = tmp_path / "project"
    write(project / "leaf.py", "X = 1\n")
    profile = tmp_path / "ipython" / "profile_default"
    write(profile / "ipython_config.py", 'c.InteractiveShellApp.extensions = ["hmr_ast"]\n')
    process = subprocess.Popen(
        [sys.executable, "-m", "IPython", "--simple-prompt", "--colors=NoColor"],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=clean_env(IPYTHONDIR=str(tmp_path / "ipython")),
    )
    output = Stream(process.stdout)

    def cell(line: str) -> None:
        process.stdin.write(line + "\n")  # type: ignore[union-attr]
        process.stdin.flush()  # type: ignore[union-attr]

    try:
        cell("import leaf; print('first', leaf.X)")
        output.wait_for(r"first 1$")
        write(project / "leaf.py", "X = 2\n")
        cell("print('second', leaf.X)")
        output.wait_for(r"\[hmr-ast\] reloaded leaf.py: reran leaf in ")
        output.wait_for(r"second 2$")
        cell("%hmr_ast graph")  # a terminal shows text: Mermaid's, not an SVG object
        output.wait_for(r"flowchart LR")
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.wait(timeout=TIMEOUT)


def test_an_edit_asking_for_a_restart_is_held_back_with_a_word(shell: Shell) -> None:
    project: Path = shell.project  # type: ignore[attr-defined]
    write(project / "settings_once.py", "import hmr_ast\n\nhmr_ast.restart_on_change()\nMODE = 1\n")
    shell.run("%load_ext hmr_ast")
    shell.run("import settings_once\nimport os\npid = os.getpid()")
    write(project / "settings_once.py", "import hmr_ast\n\nhmr_ast.restart_on_change()\nMODE = 2\n")
    held = shell.run("print(settings_once.MODE, pid == os.getpid())")
    assert held["stdout"] == "1 True\n"
    assert "calls hmr_ast.restart_on_change(): restart the kernel" in held["stderr"]
