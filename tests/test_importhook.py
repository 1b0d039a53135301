"""``python -X importhook``: the hook is active from interpreter start-up (a ``.pth`` file)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from harness import HotProcess, clean_env, make_project, write

HOOK_ACTIVE = (
    "import sys; from hmr_ast.finder import ProjectFinder; "
    "print(any(isinstance(f, ProjectFinder) for f in sys.meta_path))"
)


def python(cwd, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.core
def test_importhook_option_puts_the_finder_in_place_at_start_up(tmp_path):
    result = python(tmp_path, "-X", "importhook", "-c", HOOK_ACTIVE)
    assert (result.stdout, result.stderr, result.returncode) == ("True\n", "", 0)


def test_without_the_option_no_finder_is_installed(tmp_path):
    result = python(tmp_path, "-c", HOOK_ACTIVE)
    assert (result.stdout, result.stderr, result.returncode) == ("False\n", "", 0)


def test_importhook_instruments_the_projects_imports_from_the_start(tmp_path):
    make_project(tmp_path, {"project/a.py": "VALUE = 1\n"})
    check = (
        "import json, sys; import a; from hmr_ast import runtime; "
        "print(json.dumps([a.VALUE, 'a' in runtime.records, 'json' in runtime.records]))"
    )
    result = python(tmp_path / "project", "-X", "importhook", "-c", check)
    assert (result.stdout, result.stderr) == ("[1, true, false]\n", "")
    # -X importhook=ROOT from a folder outside the project: ROOT, not the cwd, is the project
    (tmp_path / "elsewhere").mkdir()
    project = tmp_path / "project"
    from_elsewhere = f"import sys; sys.path.insert(0, {str(project)!r}); {check}"
    result = python(tmp_path / "elsewhere", "-X", f"importhook={project}", "-c", from_elsewhere)
    assert (result.stdout, result.stderr) == ("[1, true, false]\n", "")
    result = python(tmp_path / "elsewhere", "-X", "importhook", "-c", from_elsewhere)
    assert (result.stdout, result.stderr) == ("[1, false, false]\n", "")


@pytest.mark.core
def test_python_with_importhook_runs_and_reloads_like_hmr_ast_run(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import sys, a\nprint('value', a.VALUE, sys.argv[1:], flush=True)\n",
            "a.py": "VALUE = 1\n",
        },
    )
    args = [sys.executable, "-X", "importhook", "-m", "hmr_ast", "app.py", "x"]
    with HotProcess(args, tmp_path) as hot:
        hot.out.wait_for(r"^value 1 \['x'\]$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$")
        hot.out.wait_for(r"^value 2 \['x'\]$")
        write(tmp_path / "app.py", "import sys, a\nprint('edited', a.VALUE, flush=True)\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded app\.py: rerunning __main__$")
        hot.out.wait_for("^edited 2$")
