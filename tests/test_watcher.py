"""Saves as editors really make them, and the noise around a project, reach the engine right."""

from __future__ import annotations

import os
import re
import time

import pytest

from harness import HotProcess, make_project, write

APP = "import a, b\nprint('value', a.VALUE, 'b', b.B, flush=True)\n"


def start_watching(tmp_path) -> HotProcess:
    """A running program whose watcher is proven live by one reload already seen."""
    make_project(tmp_path, {"app.py": APP, "a.py": "VALUE = 0\n", "b.py": "B = 0\n"})
    hot = HotProcess.run(tmp_path, "app.py")
    try:
        hot.out.wait_for("^value 0 b 0$")
        write(tmp_path / "a.py", "VALUE = 1\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$")
        hot.out.wait_for("^value 1 b 0$")
    except BaseException:
        hot.stop()
        raise
    return hot


def errors(lines: list[str]) -> list[str]:
    return [line for line in lines if "error" in line.lower() or "raised" in line]


@pytest.mark.core
def test_burst_of_saves_ends_with_the_last_content_applied(tmp_path):
    with start_watching(tmp_path) as hot:
        for value in range(2, 8):
            write(tmp_path / "a.py", f"VALUE = {value}\n")
            time.sleep(0.004)
        hot.out.wait_for("^value 7 b 0$")
        last = len(hot.out.seen) - 1
        write(tmp_path / "b.py", "B = 1\n")  # a later event: everything before it is in
        hot.out.wait_for("^value 7 b 1$")
        after = hot.out.seen[last:]
        assert all(line.startswith("value 7 ") for line in after), hot.out.seen
        assert not errors(hot.err.seen), hot.err.seen


@pytest.mark.core
def test_atomic_save_by_rename_is_seen(tmp_path):
    with start_watching(tmp_path) as hot:
        for value in (2, 3):  # twice: the watch survives the module's inode being replaced
            temporary = tmp_path / ".a.py.swp-tmp"
            temporary.write_text(f"VALUE = {value}\n")
            os.replace(temporary, tmp_path / "a.py")
            hot.err.wait_for(
                r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms, rerunning __main__$"
            )
            hot.out.wait_for(f"^value {value} b 0$")


@pytest.mark.core
def test_file_emptied_for_a_moment_during_a_save_keeps_its_definitions(tmp_path):
    with start_watching(tmp_path) as hot:
        with open(tmp_path / "a.py", "w"):
            pass  # the editor truncates...
        time.sleep(0.05)
        (tmp_path / "a.py").write_text("VALUE = 2\n")  # ...and writes the content 50 ms later
        hot.out.wait_for("^value 2 b 0$")
        write(tmp_path / "b.py", "B = 1\n")  # a later event
        hot.err.wait_for(r"^\[hmr-ast\] reloaded b\.py: reran b")
        hot.out.wait_for("^value 2 b 1$")
        assert not errors(hot.err.seen), hot.err.seen
        assert [line for line in hot.out.seen if line.startswith("value")] == [
            "value 0 b 0",
            "value 1 b 0",
            "value 2 b 0",
            "value 2 b 1",
        ]


def churn(root) -> None:
    """What tools do around a project: virtualenvs, node, bytecode, notes, editor files."""
    venv = root / ".venv"
    write(venv / "pyvenv.cfg", "home = /usr/bin\n")
    write(root / "node_modules" / "left-pad" / "index.js", "module.exports = 1;\n")
    for step in range(3):
        write(venv / "lib" / "python3" / "site-packages" / "dep.py", f"X = {step}\n")
        write(venv / "lib" / "python3" / "site-packages" / "dep.txt", f"{step}\n")
        write(root / "node_modules" / "left-pad" / "index.js", f"module.exports = {step};\n")
        write(root / "__pycache__" / "junk.cpython-311.pyc", f"{step}")
        write(root / "notes.txt", f"note {step}\n")
        write(root / "data.json", f'{{"round": {step}}}\n')
        write(root / ".a.py.swp", f"{step}")
        write(root / "4913", "")  # vim's test whether the folder is writable
        (root / "4913").unlink()
        write(root / "build" / "out.txt", f"{step}\n")
    for tool_folder in (".pytest_cache", ".mypy_cache", "htmlcov", "dist"):
        write(root / tool_folder / "README.md", "made by a tool\n")


@pytest.mark.core
def test_churn_outside_the_modules_triggers_no_reload(tmp_path):
    with start_watching(tmp_path) as hot:
        seen_before = len(hot.err.seen)
        churn(tmp_path)
        write(tmp_path / "b.py", "B = 1\n")  # the real edit, after all the churn
        first = hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
        expected = r"\[hmr-ast\] reloaded b\.py: reran b in [\d.]+ ms, rerunning __main__"
        assert re.fullmatch(expected, first.string), first.string
        hot.out.wait_for("^value 1 b 1$")
        assert hot.err.seen[seen_before:] == [first.string], hot.err.seen
        assert hot.out.seen.count("value 1 b 0") == 1, hot.out.seen


def test_churn_is_silent_even_when_verbose(tmp_path):
    make_project(tmp_path, {"app.py": APP, "a.py": "VALUE = 0\n", "b.py": "B = 0\n"})
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^value 0 b 0$")
        write(tmp_path / "a.py", "VALUE = 1\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: ")
        hot.out.wait_for("^value 1 b 0$")
        hot.err.wait_for(r"^\[hmr-ast\]   __main__: reran")
        seen_before = len(hot.err.seen)
        churn(tmp_path)
        write(tmp_path / "b.py", "B = 1\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
        between = hot.err.seen[seen_before:]
        noise = (
            ".venv",
            "node_modules",
            "cache",
            "notes",
            "data.json",
            "swp",
            "4913",
            "build",
            "dist",
        )
        assert not [line for line in between if any(word in line for word in noise)], between
        assert not [line for line in between if "saved without changes" in line], between


@pytest.mark.core
def test_entry_that_crashed_is_not_rerun_until_a_file_changes(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import a\nprint('start', a.VALUE, flush=True)\nraise ValueError('boom')\n",
            "a.py": "VALUE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.err.wait_for(r"^\[hmr-ast\] __main__ raised; watching for changes$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        first = hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
        hot.out.wait_for("^start 2$")
        assert first.string.startswith("[hmr-ast] reloaded a.py: reran a in "), hot.err.seen
        assert hot.out.seen == ["start 1", "start 2"]
