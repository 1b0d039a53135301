"""A program that never finishes (a loop, a server) stays hot: edits land while it runs."""

from __future__ import annotations

import pytest

from harness import HotProcess, make_project, write

# The entry polls a.VALUE and prints it whenever it changes: no stdin, no race with a restart.
POLLING_LOOP = """\
import time
import a, slow
print('loop started', flush=True)
ticks = 0
seen = None
while True:
    ticks += 1
    if a.VALUE != seen:
        seen = a.VALUE
        print('value', seen, 'after', ticks, 'ticks', flush=True)
    time.sleep(0.005)
"""

SLOW = "print('loading slow', flush=True)\n"


@pytest.mark.core
def test_running_loop_sees_edited_module_and_slow_module_is_not_rerun(tmp_path):
    make_project(tmp_path, {"app.py": POLLING_LOOP, "a.py": "VALUE = 1\n", "slow.py": SLOW})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^value 1 ")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in [\d.]+ ms")
        hot.out.wait_for(r"^value 2 ")
        assert hot.out.seen.count("loading slow") == 1, hot.out.seen
        assert "loading slow" not in hot.out.drain()


@pytest.mark.core
def test_running_loop_keeps_its_state_when_an_imported_module_changes(tmp_path):
    """README: the entry keeps running while imported modules reload under it; a loop
    reading ``a.VALUE`` sees the new value on its next iteration (no restart, state kept)."""
    make_project(tmp_path, {"app.py": POLLING_LOOP, "a.py": "VALUE = 1\n", "slow.py": SLOW})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^value 1 after 1 ticks")
        write(tmp_path / "a.py", "VALUE = 2\n")
        reload = hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: .*")
        value = hot.out.wait_for(r"^value 2 after (\d+) ticks")
        assert "restarting __main__" not in reload.group(0)
        assert hot.out.seen.count("loop started") == 1, hot.out.seen
        assert int(value.group(1)) > 1, "the loop started again from scratch"


@pytest.mark.core
def test_editing_the_running_entry_restarts_it_without_rerunning_its_imports(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import time\nimport a, slow\n"
                "print('entry v1', a.VALUE, flush=True)\n"
                "while True:\n    time.sleep(0.01)\n"
            ),
            "a.py": "print('loading a', flush=True)\nVALUE = 1\n",
            "slow.py": SLOW,
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("entry v1 1")
        write(tmp_path / "app.py", (tmp_path / "app.py").read_text().replace("v1", "v2"))
        hot.err.wait_for(r"^\[hmr-ast\] reloaded app\.py: restarting __main__$")
        hot.out.wait_for("entry v2 1")  # the imports come before this line in the entry
        assert hot.out.seen.count("loading a") == 1, hot.out.seen
        assert hot.out.seen.count("loading slow") == 1, hot.out.seen
        # and the restarted entry stays hot
        write(tmp_path / "app.py", (tmp_path / "app.py").read_text().replace("v2", "v3"))
        hot.out.wait_for("entry v3 1")
        assert hot.out.seen.count("loading slow") == 1, hot.out.seen


def test_entry_blocked_reading_stdin_restarts_and_reads_on(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys\nimport slow\nprint('entry v1', flush=True)\n"
                "for line in sys.stdin:\n    print('v1 got', line.strip(), flush=True)\n"
            ),
            "slow.py": SLOW,
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("entry v1")
        hot.send("one")
        hot.out.wait_for("v1 got one")
        write(tmp_path / "app.py", (tmp_path / "app.py").read_text().replace("v1", "v2"))
        hot.err.wait_for(r"reloaded app\.py: restarting __main__")
        hot.out.wait_for("entry v2")
        hot.send("two")
        hot.out.wait_for("v2 got two")
        assert hot.out.seen.count("loading slow") == 1, hot.out.seen


@pytest.mark.core
def test_edit_saved_while_a_slow_module_is_still_importing_is_not_lost(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import a\nimport slow\nprint('value', a.VALUE, flush=True)\n",
            "a.py": "VALUE = 1\n",
            "slow.py": "import time\nprint('loading slow', flush=True)\ntime.sleep(1)\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("loading slow")  # a is imported; slow sleeps for a second
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.out.wait_for(r"^value \d")
        hot.err.wait_for(r"reloaded a\.py: reran a")
        assert hot.out.seen == ["loading slow", "value 2"]


def test_edit_to_a_module_the_starting_entry_already_read_is_not_lost(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import a\nprint('first', a.VALUE, flush=True)\n"
                "import slow\nprint('value', a.VALUE, flush=True)\n"
            ),
            "a.py": "VALUE = 1\n",
            "slow.py": "import time\nprint('loading slow', flush=True)\ntime.sleep(1)\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("loading slow")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.out.wait_for("value 2")
        hot.err.wait_for(r"reloaded a\.py: reran a")
        assert "value 1" not in hot.out.seen
        assert not [line for line in hot.err.seen if "error" in line.lower()], hot.err.seen


@pytest.mark.core
def test_reads_made_by_the_main_thread_during_a_rerun_are_not_the_rerun_modules(tmp_path):
    """While ``a`` reruns on the watcher thread, the entry's loop reads ``b.X`` hundreds of
    times. Those reads are the entry's: a later edit of ``b`` must not rerun ``a``."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys, time\nimport a, b\nsys.ticks = 0\nprint('running', flush=True)\n"
                "while True:\n    sys.ticks += 1\n    b.X\n    time.sleep(0.001)\n"
            ),
            "a.py": "VALUE = 1\n",
            "b.py": "X = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("running")
        write(
            tmp_path / "a.py",
            "import sys, time\nbefore = sys.ticks\ntime.sleep(0.3)\n"
            "print('ticks during rerun', sys.ticks - before, flush=True)\nVALUE = 2\n",
        )
        ticks = hot.out.wait_for(r"ticks during rerun (\d+)")
        assert int(ticks.group(1)) > 0, "the entry's loop did not run while a reran"
        hot.err.wait_for(r"^\[hmr-ast\] reloaded a\.py: reran a in")
        write(tmp_path / "b.py", "X = 2\n")
        reload = hot.err.wait_for(r"^\[hmr-ast\] reloaded b\.py: reran (.*) in [\d.]+ ms")
        assert reload.group(1) == "b"
        explained = [line for line in hot.err.seen if line.startswith("[hmr-ast]   ")]
        assert not [line for line in explained if line.startswith("[hmr-ast]   a: reads")]
        # the read is the entry's: it is what the decision about __main__ names
        assert [
            line for line in explained if line.startswith("[hmr-ast]   __main__") and "b:X" in line
        ]
        assert "ticks during rerun" not in "\n".join(hot.out.drain())


@pytest.mark.core
def test_running_entry_that_copied_a_value_before_its_loop_is_restarted(tmp_path):
    """``X = a.VALUE`` ran once, before the loop: only running the entry again updates X."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys\nimport a\nX = a.VALUE\nprint('started with', X, flush=True)\n"
                "for line in sys.stdin:\n    print('X is', X, flush=True)\n"
            ),
            "a.py": "VALUE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("started with 1")
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"reloaded a\.py: reran a in [\d.]+ ms, restarting __main__")
        hot.out.wait_for("started with 2")
        hot.send("?")
        hot.out.wait_for("X is 2")


@pytest.mark.core
def test_restarted_entry_finishes_its_clean_up_first(tmp_path):
    """A restart stops the entry like Ctrl-C would: its ``finally:`` runs to the end."""
    entry = (
        "import time\n"
        "try:\n"
        "    print('serving', flush=True)\n"
        "    while True:\n"
        "        time.sleep(0.01)\n"
        "finally:\n"
        "    time.sleep(0.2)  # closing sockets, flushing files\n"
        "    print('cleaned up', flush=True)\n"
    )
    make_project(tmp_path, {"app.py": entry})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^serving$")
        write(tmp_path / "app.py", entry.replace("'serving'", "'serving again'"))
        hot.out.wait_for("^cleaned up$")
        hot.out.wait_for("^serving again$")


@pytest.mark.core
def test_running_entry_that_imported_a_name_it_also_reads_in_its_loop_is_restarted(tmp_path):
    """``from a import VALUE`` bound the old value once; the loop's ``a.VALUE`` is fresh but
    ``VALUE`` is not, so only a restart makes the entry right."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys\nimport a\nfrom a import VALUE\n"
                "print('started', VALUE, flush=True)\n"
                "for line in sys.stdin:\n    print('now', a.VALUE, VALUE, flush=True)\n"
            ),
            "a.py": "VALUE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("started 1")
        hot.send("?")
        hot.out.wait_for("now 1 1")  # the loop has read a.VALUE too
        write(tmp_path / "a.py", "VALUE = 2\n")
        hot.err.wait_for(r"reloaded a\.py: reran a in [\d.]+ ms, restarting __main__")
        hot.out.wait_for("started 2")
        hot.send("?")
        hot.out.wait_for("now 2 2")
