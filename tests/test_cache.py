"""The cache of instrumented code: written beside ordinary bytecode, trusted only by hash, and
what makes a warm start parse nothing."""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

import pytest

import hmr_ast
from harness import HotProcess, clean_env, make_project, write
from streams import finish


def cache_file(source: Path) -> Path:
    """Where hmr-ast caches ``source``: ``__pycache__/<name>.<tag>.hmr-ast-<version>.pyc``."""
    standard = importlib.util.cache_from_source(str(source))
    return Path(standard[: -len(".pyc")] + f".hmr-ast-{hmr_ast.__version__}.pyc")


def cache_files(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if "hmr-ast" in path.name)


HEAVY = (
    "hmr_ast.transform",
    "ast",
    "libcst",
    "networkx",
    "hmr_ast.graph",
    "hmr_ast.summaries",
)

REPORT_HEAVY = f"""\
import json, sys
print('heavy', json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)), flush=True)
import a
print('value', a.VALUE, flush=True)
"""


def run_once(root: Path, *options: str, env: dict[str, str] | None = None) -> list[str]:
    """Start, wait for the program's last line, stop; the program's output lines."""
    with HotProcess.run(root, *options, "app.py", env=env) as hot:
        hot.out.wait_for("^value ")
        finish(hot)
        assert not [line for line in hot.err.seen if "Error" in line], hot.err.seen
        return hot.out.seen


@pytest.mark.core
def test_first_run_writes_tagged_cache_files_beside_bytecode(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    run_once(tmp_path)
    assert cache_file(tmp_path / "a.py").is_file()
    assert cache_file(tmp_path / "app.py").is_file()
    assert cache_files(tmp_path) == sorted(
        str(cache_file(tmp_path / name).relative_to(tmp_path)) for name in ("a.py", "app.py")
    )
    leftovers = [p.name for p in (tmp_path / "__pycache__").iterdir() if p.suffix != ".pyc"]
    assert leftovers == [], "temporary files were left behind"


@pytest.mark.core
def test_warm_start_imports_no_transformer_parser_or_graph(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    cold = run_once(tmp_path)
    assert "hmr_ast.transform" in json.loads(cold[0].split(" ", 1)[1])  # the check can see it
    warm = run_once(tmp_path)
    assert warm == ["heavy []", "value 1"]


WAIT_FOR_WATCHER = """\
import json, sys, threading
watcher = next(t for t in threading.enumerate() if t.name == 'hmr-ast-watcher')
print('watcher ready', watcher.ready.wait(10), flush=True)
print('heavy', json.dumps(sorted(m for m in {LATER!r} if m in sys.modules)))
import a
print('value', a.VALUE, flush=True)
"""
# Once watching, the watcher may build the graph (networkx) ahead of the first edit; it never
# needs the transformer, nor watchfiles' Python package (anyio, subprocess, ast: ~20 ms).
LATER = ("hmr_ast.transform", "libcst", "watchfiles.main", "anyio")


def test_warm_start_loads_neither_transformer_nor_watchfiles_package_once_watching(tmp_path):
    program = WAIT_FOR_WATCHER.replace("{LATER!r}", repr(LATER))
    make_project(tmp_path, {"app.py": program, "a.py": "VALUE = 1\n"})
    run_once(tmp_path)
    warm = run_once(tmp_path)
    assert warm == ["watcher ready True", "heavy []", "value 1"]


@pytest.mark.core
@pytest.mark.parametrize("how", ["PYTHONDONTWRITEBYTECODE=1", "python -B"])
def test_dont_write_bytecode_writes_no_cache(tmp_path, how):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    if how == "python -B":
        with HotProcess([sys.executable, "-B", "-m", "hmr_ast", "run", "app.py"], tmp_path) as hot:
            hot.out.wait_for("^value 1$")
            write(tmp_path / "a.py", "VALUE = 2\n")  # a reload does not write one either
            hot.out.wait_for("^value 2$")
    else:
        env = clean_env(PYTHONDONTWRITEBYTECODE="1")
        with HotProcess.run(tmp_path, "app.py", env=env) as hot:
            hot.out.wait_for("^value 1$")
            write(tmp_path / "a.py", "VALUE = 2\n")
            hot.out.wait_for("^value 2$")
    assert cache_files(tmp_path) == []


def valid_cache(tmp_path: Path) -> bytes:
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    run_once(tmp_path)
    return cache_file(tmp_path / "a.py").read_bytes()


@pytest.mark.core
@pytest.mark.parametrize("damage", ["garbage", "truncated", "empty", "other-version-header"])
def test_corrupt_cache_file_is_ignored(tmp_path, damage):
    data = valid_cache(tmp_path)
    damaged = {
        "garbage": os.urandom(len(data)),
        "truncated": data[: len(data) * 2 // 3],
        "empty": b"",
        "other-version-header": b"\x00\x00\r\n" + data[4:],
    }[damage]
    cache_file(tmp_path / "a.py").write_bytes(damaged)
    assert run_once(tmp_path)[-1] == "value 1"
    assert run_once(tmp_path) == ["heavy []", "value 1"]  # and it was written afresh


@pytest.mark.core
def test_edited_file_is_recompiled_even_with_the_same_size_and_mtime(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    assert run_once(tmp_path)[-1] == "value 1"
    stat = (tmp_path / "a.py").stat()
    (tmp_path / "a.py").write_text("VALUE = 2\n")
    os.utime(tmp_path / "a.py", ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert run_once(tmp_path)[-1] == "value 2"


REPORT_SOURCE_READS = """\
import sys
opened = []
sys.addaudithook(lambda e, args: e == "open" and str(args[0]).endswith("a.py") and opened.append(1))
import a
print('value', a.VALUE, 'a.py read' if opened else 'a.py not read', flush=True)
"""


def test_warm_start_reads_no_source_that_is_as_it_was_when_cached(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_SOURCE_READS, "a.py": "VALUE = 1\n"})
    assert run_once(tmp_path) == ["value 1 a.py read"]  # cold: read, instrumented, cached
    assert run_once(tmp_path) == ["value 1 a.py not read"]  # its file state still matches
    os.utime(tmp_path / "a.py")  # touched, not changed: read once, its hash still matches
    assert run_once(tmp_path) == ["value 1 a.py read"]
    assert run_once(tmp_path) == ["value 1 a.py not read"]  # and the new state was recorded
    (tmp_path / "a.py").write_text("VALUE = 2\n")
    assert run_once(tmp_path) == ["value 2 a.py read"]


def test_code_of_a_reload_is_cached_for_the_next_start(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.out.wait_for("^value 2$")
        finish(hot)
    assert run_once(tmp_path) == ["heavy []", "value 2"]


def test_unwritable_cache_folder_is_no_error(tmp_path):
    make_project(tmp_path, {"app.py": REPORT_HEAVY, "a.py": "VALUE = 1\n"})
    (tmp_path / "__pycache__").write_text("a file where the cache folder would go\n")
    assert run_once(tmp_path)[-1] == "value 1"
    assert run_once(tmp_path)[-1] == "value 1"
