"""A program that forks or spawns workers runs as under plain python: the children print no
hmr-ast traceback, run no watcher and end when their code ends; the parent keeps reloading."""

from __future__ import annotations

import pytest

from harness import HotProcess, fresh_run, make_project, reloaded, write
from streams import finish, hmr_lines

WORKER = """\
VALUE = 1


def compute(x):
    return x * VALUE
"""

APP = """\
import concurrent.futures
import gc
import multiprocessing
import os

import worker


def run_workers():
    results = []
    for method in ("fork", "forkserver", "spawn"):
        with multiprocessing.get_context(method).Pool(1) as pool:
            results.append(pool.apply(worker.compute, (2,)))
    with concurrent.futures.ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("fork")
    ) as executor:
        results.append(executor.submit(worker.compute, 3).result())
    return results


if __name__ == "__main__":
    results = run_workers()
    gc.collect()  # the pools' finalizers run now, not under the test's Ctrl-C
    pid = os.fork()
    if pid == 0:
        print("child", worker.compute(5), flush=True)
        # a plain child falls off the end of the script and exits
    else:
        _, status = os.waitpid(pid, 0)
        print("results", results, "child exit", os.waitstatus_to_exitcode(status), flush=True)
        print("end", flush=True)
"""


@pytest.mark.core
def test_forked_and_spawned_children_are_clean_and_the_parent_keeps_reloading(tmp_path):
    make_project(tmp_path, {"app.py": APP, "worker.py": WORKER})
    plain = fresh_run(tmp_path, "app.py")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        assert sorted(hot.out.seen) == sorted(plain.stdout.splitlines())
        # A new size too: plain python's .pyc check (mtime in seconds, size) must see it.
        write(tmp_path / "worker.py", WORKER.replace("VALUE = 1", "VALUE = 20"))
        hot.err.wait_for(reloaded(r"worker\.py", "worker", ", rerunning __main__"))
        start = len(hot.out.seen)
        hot.out.wait_for("^end$")
        after_edit = hot.out.seen[start:]
        assert finish(hot) == 130
    fresh = fresh_run(tmp_path, "app.py")
    assert sorted(after_edit) == sorted(fresh.stdout.splitlines())
    assert "results [40, 40, 40, 60] child exit 0" in after_edit
    # One reload line: no child watched or reloaded; no child printed a traceback.
    assert len(hmr_lines(hot.err.seen)) == 1, hot.err.seen
    assert not [line for line in hot.err.seen if not line.startswith("[hmr-ast]")], hot.err.seen
