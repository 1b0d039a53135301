"""``%load_ext hmr_ast`` in a real Jupyter kernel: cells run through jupyter_client, files are
edited on disk between them, and what the cells print is asserted.

One kernel serves the whole module (about 1 s to start); it loads hmr_ast as a default
extension (``c.InteractiveShellApp.extensions``), the way a user's ipython_config.py would.
Each test works on files of its own, so the order they run in does not matter.
"""

from __future__ import annotations

import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from harness import TIMEOUT, clean_env, write

jupyter_client = pytest.importorskip("jupyter_client")
pytest.importorskip("ipykernel")


_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class CellOutput:
    status: str
    stdout: str = ""
    stderr: str = ""
    displays: list[dict] = field(default_factory=list)
    error: str = ""


class Kernel:
    def __init__(self, cwd: Path, specs: Path) -> None:
        from jupyter_client import KernelManager
        from jupyter_client.kernelspec import KernelSpecManager

        spec = specs / "hmr-python"
        spec.mkdir(parents=True)
        argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
        argv.append("--InteractiveShellApp.extensions=hmr_ast")
        (spec / "kernel.json").write_text(
            json.dumps({"argv": argv, "display_name": "hmr", "language": "python"})
        )
        self.manager = KernelManager(
            kernel_name="hmr-python", kernel_spec_manager=KernelSpecManager(kernel_dirs=[specs])
        )
        # A profile of its own: the user's ipython_config.py stays out of the test.
        env = clean_env(IPYTHONDIR=str(specs / "ipython"))
        self.manager.start_kernel(cwd=str(cwd), env=env)
        self.client = self.manager.client()
        self.client.start_channels()
        self.client.wait_for_ready(timeout=60)

    def run(self, code: str) -> CellOutput:
        """Execute a cell, wait for it to finish, and collect what it printed and displayed."""
        output = CellOutput("")

        def hook(message: dict) -> None:
            kind, content = message["msg_type"], message["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    output.stdout += content["text"]
                else:  # Python 3.13 colours its tracebacks when the stream says it is a tty
                    output.stderr += _ANSI.sub("", content["text"])
            elif kind in ("display_data", "execute_result"):
                output.displays.append(content["data"])
            elif kind == "error":
                output.error = f"{content['ename']}: {content['evalue']}"

        # The test may have created a module a moment ago, within the tick of the folder's
        # modification time that Python's path cache compared: let the import system look
        # again (a silent execution: no cell for IPython's events, none in the history).
        self.client.execute_interactive(
            "import importlib as _importlib; _importlib.invalidate_caches()",
            silent=True,
            timeout=60,
        )
        reply = self.client.execute_interactive(code, output_hook=hook, timeout=60)
        output.status = reply["content"]["status"]
        return output

    def value(self, expression: str) -> object:
        """The value of ``expression`` in the kernel (printed as JSON by a cell)."""
        result = self.run(f"import json as _json; print(_json.dumps({expression}))")
        assert result.status == "ok", result
        return json.loads(result.stdout.strip().splitlines()[-1])

    def close(self) -> None:
        self.client.stop_channels()
        self.manager.shutdown_kernel(now=True)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("notebook")


@pytest.fixture(scope="module")
def kernel(project: Path, tmp_path_factory: pytest.TempPathFactory):
    kernel = Kernel(project, tmp_path_factory.mktemp("kernels"))
    yield kernel
    kernel.close()


def test_default_extension_loads_in_the_kernel(kernel: Kernel) -> None:
    status = kernel.run("%hmr_ast status")
    assert status.status == "ok"
    assert "edits apply just before the next cell" in status.stdout


def test_edit_reruns_dependents_rebinds_from_imports_and_patches_instances(
    kernel: Kernel, project: Path
) -> None:
    write(
        project / "dep_leaf.py",
        "RATE = 2\n\nclass Greeter:\n    def hello(self):\n        return 'hello'\n",
    )
    write(project / "dep_mid.py", "import dep_leaf\n\nDOUBLE = dep_leaf.RATE * 2\n")
    first = kernel.run(
        "import dep_mid\nfrom dep_leaf import RATE, Greeter\ng = Greeter()\n"
        "print(RATE, dep_mid.DOUBLE, g.hello())"
    )
    assert first.stdout == "2 4 hello\n"
    write(
        project / "dep_leaf.py",
        "RATE = 5\n\nclass Greeter:\n    def hello(self):\n        return 'bonjour'\n",
    )
    after = kernel.run("print(RATE, dep_mid.DOUBLE, g.hello(), Greeter is type(g))")
    assert after.stdout == "5 10 bonjour True\n"
    assert "[hmr-ast] reloaded dep_leaf.py: reran dep_leaf, dep_mid in " in after.stderr
    assert "rebound RATE in the notebook" in after.stderr
    assert after.stderr.count("\n") == 1  # one line per reload


def test_failed_rerun_keeps_previous_state_and_the_cell_still_runs(
    kernel: Kernel, project: Path
) -> None:
    write(project / "fail_leaf.py", "VALUE = 1\n")
    write(project / "fail_user.py", "from fail_leaf import VALUE\n\nTWICE = VALUE * 2\n")
    assert kernel.value("__import__('fail_user').TWICE") == 2
    write(project / "fail_leaf.py", "VALUE = 2\nboom = 1 / 0\n")
    try:
        broken = kernel.run("import fail_leaf, fail_user\nprint(fail_leaf.VALUE, fail_user.TWICE)")
        status = kernel.run("%hmr_ast status").stdout
    finally:  # a failed module retries (and reports) at every reload: fix it whatever happens
        write(project / "fail_leaf.py", "VALUE = 3\n")
    assert broken.status == "ok"
    assert broken.stdout == "1 2\n"  # the previous state, whole: not VALUE = 2 half-applied
    assert broken.stderr.count("Traceback (most recent call last)") == 1
    assert 'File "' + str(project / "fail_leaf.py") + '", line 2' in broken.stderr
    assert "ZeroDivisionError: division by zero" in broken.stderr
    assert "hmr_ast" not in broken.stderr.replace("[hmr-ast]", "")  # no frame of ours
    assert "fail_leaf: " in status and "line 2: ZeroDivisionError: division by zero" in status
    fixed = kernel.run("print(fail_leaf.VALUE, fail_user.TWICE)")
    assert fixed.stdout == "3 6\n"
    assert "fail_leaf recovered" in fixed.stderr


def test_syntax_error_is_reported_with_its_line_and_fixed_by_the_next_save(
    kernel: Kernel, project: Path
) -> None:
    write(project / "syntax_mod.py", "A = 1\n")
    assert kernel.run("import syntax_mod\nprint(syntax_mod.A)").stdout == "1\n"
    write(project / "syntax_mod.py", "A = (\n")
    broken = kernel.run("print(syntax_mod.A)")
    assert broken.stdout == "1\n"
    assert "SyntaxError" in broken.stderr and "syntax_mod.py" in broken.stderr
    write(project / "syntax_mod.py", "A = 7\n")
    assert kernel.value("syntax_mod.A") == 7


def test_quiet_silences_the_reload_line(kernel: Kernel, project: Path) -> None:
    write(project / "quiet_mod.py", "Q = 1\n")
    kernel.run("import quiet_mod\n%hmr_ast quiet")
    write(project / "quiet_mod.py", "Q = 2\n")
    silent = kernel.run("print(quiet_mod.Q)")
    assert silent.stdout == "2\n"
    assert silent.stderr == ""
    kernel.run("%hmr_ast quiet off")
    write(project / "quiet_mod.py", "Q = 3\n")
    loud = kernel.run("print(quiet_mod.Q)")
    assert loud.stdout == "3\n"
    assert "[hmr-ast] reloaded quiet_mod.py: reran quiet_mod in " in loud.stderr


def test_verbose_explains_each_decision(kernel: Kernel, project: Path) -> None:
    write(project / "verbose_leaf.py", "A = 1\nB = 2\n")
    write(project / "verbose_user.py", "from verbose_leaf import B\n")
    kernel.run("import verbose_user\n%hmr_ast verbose")
    try:
        write(project / "verbose_leaf.py", "A = 10\nB = 2\n")
        explained = kernel.run("pass").stderr
    finally:
        kernel.run("%hmr_ast verbose off")
    assert (
        "[hmr-ast]   verbose_user: not rerun; it reads only unchanged names of verbose_leaf"
        in explained
    )
    assert "[hmr-ast] reloaded verbose_leaf.py: reran verbose_leaf in " in explained
    assert "last: reloaded verbose_leaf.py" in kernel.run("%hmr_ast status").stdout


def test_live_mode_applies_an_edit_while_a_cell_is_running(kernel: Kernel, project: Path) -> None:
    write(project / "live_mod.py", "N = 1\n")
    assert "live" in kernel.run("import live_mod\n%hmr_ast live").stdout
    try:
        # This cell waits for the new value: only a reload that does not wait for the next
        # cell lets it finish.
        waiting = kernel.client.execute(
            "import time\ndeadline = time.monotonic() + 30\n"
            "while live_mod.N == 1 and time.monotonic() < deadline:\n    time.sleep(0.01)\n"
            "print('seen', live_mod.N)"
        )
        _wait_until_busy(kernel, waiting)
        write(project / "live_mod.py", "N = 2\n")
        reply = kernel.client.get_shell_msg(timeout=TIMEOUT + 30)
        assert reply["parent_header"]["msg_id"] == waiting
        assert reply["content"]["status"] == "ok"
        assert kernel.value("live_mod.N") == 2
    finally:
        kernel.run("%hmr_ast live off")


def _wait_until_busy(kernel: Kernel, msg_id: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        message = kernel.client.get_iopub_msg(timeout=TIMEOUT)
        if (
            message["parent_header"].get("msg_id") == msg_id
            and message["msg_type"] == "execute_input"
        ):
            return
    raise AssertionError("the cell never started")


def test_a_data_file_read_at_import_reruns_its_reader(kernel: Kernel, project: Path) -> None:
    write(project / "settings.json", '{"size": 1}')
    write(
        project / "settings_reader.py",
        "import json\n\nwith open('settings.json') as file:\n    SIZE = json.load(file)['size']\n",
    )
    assert kernel.run("import settings_reader\nprint(settings_reader.SIZE)").stdout == "1\n"
    write(project / "settings.json", '{"size": 22}')
    after = kernel.run("print(settings_reader.SIZE)")
    assert after.stdout == "22\n"
    assert "[hmr-ast] reloaded settings.json: reran settings_reader in " in after.stderr


def test_writefile_cell_counts_as_an_edit(kernel: Kernel, project: Path) -> None:
    write(project / "written_mod.py", "W = 1\n")
    assert kernel.run("import written_mod\nprint(written_mod.W)").stdout == "1\n"
    kernel.run("%%writefile written_mod.py\nW = 2\n")
    assert kernel.value("written_mod.W") == 2


def test_graph_is_svg_with_graphviz_and_mermaid_without(kernel: Kernel, project: Path) -> None:
    write(project / "graph_leaf.py", "G = 1\n")
    write(project / "graph_user.py", "import graph_leaf\n\nH = graph_leaf.G + 1\n")
    kernel.run("import graph_user")
    svg = kernel.run("%hmr_ast graph")
    assert svg.status == "ok" and len(svg.displays) == 1
    if _has_dot():
        assert "<svg" in svg.displays[0]["image/svg+xml"]
        assert "graph_user" in svg.displays[0]["image/svg+xml"]
    else:
        assert "text/markdown" in svg.displays[0]
    mermaid = kernel.run(
        "import os\n_path = os.environ['PATH']\nos.environ['PATH'] = ''\n"
        "try:\n    get_ipython().run_line_magic('hmr_ast', 'graph')\n"
        "finally:\n    os.environ['PATH'] = _path"
    )
    markdown = mermaid.displays[0]["text/markdown"]
    assert markdown.startswith("```mermaid\nflowchart LR")
    assert "-->|G|" in markdown


def _has_dot() -> bool:
    import shutil

    return shutil.which("dot") is not None


def test_impact_names_what_an_edit_would_rerun(kernel: Kernel, project: Path) -> None:
    write(project / "impact_leaf.py", "BASE = 1\n")
    write(project / "impact_user.py", "from impact_leaf import BASE\n\nTOP = BASE + 1\n")
    write(project / "impact_other.py", "import impact_leaf\n")
    kernel.run("import impact_user, impact_other")
    report = kernel.run("%hmr_ast impact impact_leaf.py").stdout
    assert report.startswith("an edit to impact_leaf.py reruns, in this order:\n")
    assert "impact_user  reads impact_leaf:BASE" in report
    assert "impact_other" not in report


def test_status_lists_watched_modules(kernel: Kernel, project: Path) -> None:
    write(project / "status_mod.py", "S = 1\n")
    kernel.run("import status_mod")
    status = kernel.run("%hmr_ast status").stdout
    assert "  status_mod" in status and "status_mod.py" in status
