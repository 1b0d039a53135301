"""The lifecycle API (``from hmr_ast import ...``): what a program says about its own reloads.
Each function proven in a real ``hmr-ast run`` process with real edits on disk, and the whole
API a harmless no-op under plain ``python``. About 4 s in all."""

from __future__ import annotations

import pytest

from harness import HotProcess, everything, fresh_run, make_project, write

pytestmark = pytest.mark.core

EVERY_FUNCTION = """\
import hmr_ast
from hmr_ast import (after_reload, before_reload, cache_across_reloads, data, is_active, keep,
                     on_dispose, post_reload, pre_reload, restart_on_change)

restart_on_change()
closer = on_dispose(lambda: print("disposed"))
print("on_dispose returns its callback:", closer() is None)


@before_reload
def before():
    print("before")


@after_reload
def after():
    print("after")


@keep
def table():
    print("computing the table")
    return [1, 2, 3]


state = data()
state["runs"] = state.get("runs", 0) + 1
print("active:", is_active(), "runs:", state["runs"], "same dict:", data(__name__) is state)
print("table:", table(), table() is table())
print("decorators return the function:", before.__name__, after.__name__)
print("hmr's names:", cache_across_reloads is keep, pre_reload is before_reload,
      post_reload is after_reload)
print("exported:", sorted(hmr_ast.__all__))
"""


def test_the_whole_api_is_a_harmless_no_op_under_plain_python(tmp_path):
    make_project(tmp_path, {"app.py": EVERY_FUNCTION})
    result = fresh_run(tmp_path, "-B", "app.py")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[:6] == [
        "disposed",
        "on_dispose returns its callback: True",
        "active: False runs: 1 same dict: True",
        "computing the table",
        "table: [1, 2, 3] True",
        "decorators return the function: before after",
    ]
    assert "hmr's names: True True True" in result.stdout
    assert "before" not in result.stdout.splitlines()  # no reload, no hook


RESOURCE_LIBRARY = """\
from hmr_ast import on_dispose


def open_resource(name):
    print("open", name, flush=True)
    on_dispose(lambda: print("close", name, flush=True))
    return name


RESOURCE = open_resource("a")
"""

RESOURCE_APP = """\
import threading
from hmr_ast import on_dispose
import lib

on_dispose(lambda: print("main disposed", flush=True))
print("resource", getattr(lib, "RESOURCE", None), flush=True)
threading.Event().wait()
"""


def test_on_dispose_runs_before_its_statement_reruns_is_removed_or_its_module_reruns(tmp_path):
    make_project(tmp_path, {"lib.py": RESOURCE_LIBRARY, "app.py": RESOURCE_APP})
    moved = RESOURCE_LIBRARY.replace("RESOURCE =", "EXTRA = 0\nRESOURCE =")
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^resource a$")
        write(tmp_path / "lib.py", moved)  # its statement moves down a line, without running
        hot.out.wait_for("^resource a$")
        write(tmp_path / "lib.py", moved.replace('"a"', '"b"'))
        hot.out.wait_for("^resource b$")
        write(tmp_path / "lib.py", moved.replace('RESOURCE = open_resource("a")', ""))
        hot.out.wait_for("^resource None$")
        hot.stop()
    assert everything(hot.out) == [
        "open a",
        "resource a",
        "main disposed",  # before __main__ (which reads lib's names) runs again
        "resource a",
        "close a",  # before its statement runs again (found at the line it moved to)
        "open b",
        "main disposed",
        "resource b",
        "close b",  # its statement is gone
        "main disposed",
        "resource None",
    ]


THREAD_LIBRARY = """\
import threading
from hmr_ast import on_dispose

started = threading.Event()


def worker():
    on_dispose(lambda: print("worker's callback", flush=True))
    started.set()


threading.Thread(target=worker).start()
started.wait()
VALUE = 1
"""

THREAD_APP = """\
import threading
from hmr_ast import on_dispose
import lib

on_dispose(lambda: print("app's callback for lib", flush=True), "lib")
print("value", lib.VALUE, flush=True)
threading.Event().wait()
"""


def test_on_dispose_outside_a_module_body_or_for_another_module_runs_when_it_reruns(tmp_path):
    """A thread's registration, and one made for another module (hmr's ``__file__``
    argument), belong to the module as a whole: any statement of it running again."""
    make_project(tmp_path, {"lib.py": THREAD_LIBRARY, "app.py": THREAD_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "lib.py", THREAD_LIBRARY.replace("VALUE = 1", "VALUE = 2"))
        hot.out.wait_for("^value 2$")
        write(tmp_path / "lib.py", THREAD_LIBRARY.replace("VALUE = 1", "VALUE = 3"))
        hot.out.wait_for("^value 3$")
        hot.stop()
    assert everything(hot.out) == [
        "value 1",
        "app's callback for lib",
        "worker's callback",
        "value 2",
        "app's callback for lib",  # registered again by __main__'s rerun; the worker's is gone
        "value 3",
    ]


DATA_APP = """\
from hmr_ast import data, is_active

state = data()
state["runs"] = state.get("runs", 0) + 1
print("active", is_active())
print("runs", state["runs"], "version", 1)
"""


def test_data_survives_reruns_of_its_module_and_is_active_says_so(tmp_path):
    make_project(tmp_path, {"app.py": DATA_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^active True$")
        hot.out.wait_for("^runs 1 version 1$")
        write(tmp_path / "app.py", DATA_APP.replace('"version", 1', '"version", 2'))
        hot.out.wait_for("^runs 2 version 2$")
        write(tmp_path / "app.py", DATA_APP.replace('"version", 1', '"version", 3'))
        hot.out.wait_for("^runs 3 version 3$")


KEEP_LIBRARY = """\
SIZE = 3
LABEL = "x1"
"""

KEEP_APP = """\
from hmr_ast import keep
import lib


@keep
def table():
    print("computing a table of", lib.SIZE, flush=True)
    with open("rows.txt") as rows:
        return list(range(lib.SIZE)) + rows.read().split()


# (It reads lib.SIZE itself: hmr-ast does not yet see what a decorated function reads.)
print("label", lib.LABEL, "size", lib.SIZE, "table", table(), flush=True)
"""


def test_keep_computes_again_only_when_its_code_or_what_it_reads_changes(tmp_path):
    make_project(tmp_path, {"lib.py": KEEP_LIBRARY, "app.py": KEEP_APP, "rows.txt": "r1"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^label x1 size 3 table \[0, 1, 2, 'r1'\]$")
        write(tmp_path / "lib.py", KEEP_LIBRARY.replace("x1", "x2"))  # __main__ reruns whole
        hot.out.wait_for(r"^label x2 size 3 table \[0, 1, 2, 'r1'\]$")
        write(tmp_path / "lib.py", KEEP_LIBRARY.replace("x1", "x2").replace("3", "2"))
        hot.out.wait_for(r"^label x2 size 2 table \[0, 1, 'r1'\]$")
        write(tmp_path / "app.py", KEEP_APP.replace("range(lib.SIZE)", "range(lib.SIZE + 1)"))
        hot.out.wait_for(r"^label x2 size 2 table \[0, 1, 2, 'r1'\]$")
        write(tmp_path / "rows.txt", "r2")
        hot.out.wait_for(r"^label x2 size 2 table \[0, 1, 2, 'r2'\]$")
        hot.stop()
    assert [line for line in everything(hot.out) if line.startswith("computing")] == [
        "computing a table of 3",
        "computing a table of 2",  # lib.SIZE changed
        "computing a table of 2",  # its code changed
        "computing a table of 2",  # a file it read changed
    ]


HOOKS_APP = """\
from hmr_ast import after_reload, before_reload
import lib


@before_reload
def before():
    print("before, value", lib.VALUE, flush=True)


@after_reload
def after():
    print("after, value", lib.VALUE, flush=True)


print("value", lib.VALUE, flush=True)
"""


def test_before_and_after_reload_hooks_run_once_around_each_reload(tmp_path):
    make_project(tmp_path, {"lib.py": "VALUE = 1\n", "app.py": HOOKS_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "lib.py", "VALUE = 2\n")
        hot.out.wait_for("^value 2$")
        write(tmp_path / "lib.py", "VALUE = 3\n")
        hot.out.wait_for("^value 3$")
        hot.stop()
    # __main__ reruns after the batch (it reads lib.VALUE): its hooks are registered once.
    assert everything(hot.out) == [
        "value 1",
        "before, value 1",
        "after, value 2",
        "value 2",
        "before, value 2",
        "after, value 3",
        "value 3",
    ]


SETTINGS = """\
from hmr_ast import restart_on_change
import defaults

restart_on_change()
PORT = defaults.BASE + 0
"""

SETTINGS_APP = """\
import atexit
import os
import threading
import settings

atexit.register(print, "exiting cleanly", flush=True)
print("started with port", settings.PORT, "pid", os.getpid(), flush=True)
threading.Event().wait()
"""


def test_restart_on_change_restarts_the_program_and_says_why(tmp_path):
    """An edit to the module restarts the program, and so does one to what it reads (it
    would run again); the rest still reloads."""
    files = {"defaults.py": "BASE = 8000\n", "settings.py": SETTINGS, "app.py": SETTINGS_APP}
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py") as hot:
        pid = hot.out.wait_for(r"^started with port 8000 pid (\d+)$").group(1)
        assert pid == str(hot.process.pid)
        write(tmp_path / "settings.py", SETTINGS.replace("+ 0", "+ 1"))
        hot.err.wait_for(
            r"^\[hmr-ast\] restarting: settings\.py changed, and calls "
            r"hmr_ast\.restart_on_change\(\)$"
        )
        hot.out.wait_for("^exiting cleanly$")  # the program's atexit functions ran
        hot.out.wait_for(rf"^started with port 8001 pid {pid}$")  # the same command, exec'd
        write(tmp_path / "defaults.py", "BASE = 9000\n")
        hot.err.wait_for(
            r"^\[hmr-ast\] restarting: settings\.py would run again for what it reads, and "
            r"calls hmr_ast\.restart_on_change\(\)$"
        )
        hot.out.wait_for(rf"^started with port 9001 pid {pid}$")
        write(tmp_path / "app.py", SETTINGS_APP.replace("started with", "now with"))
        hot.out.wait_for(rf"^now with port 9001 pid {pid}$")  # other modules still reload
        hot.stop()
    assert not any("Traceback" in line for line in everything(hot.err))
