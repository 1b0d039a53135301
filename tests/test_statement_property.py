"""Statement-level reruns are as correct as a restart, and run nothing they need not.

Hypothesis writes a module of many statements (constants, functions called at import time,
classes, lists and statements that add to them; ``statement_gen``) and edits single
statements: a literal, an insertion, a deletion, two neighbours swapped, a leaf constant.
After each edit the hot state must equal a fresh ``python app.py``'s, and every statement
that ran again must be one the edit may affect: a statement whose text and inputs did not
change never runs twice.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import statement_gen as gen
from harness import HotProcess, fresh_run, write

CI = os.environ.get("CI") == "true"


def fresh_state(root: Path) -> dict:
    result = fresh_run(root, "-B", "app.py", stdin="\n")
    assert result.returncode == 0, "the generator made an invalid program:\n" + result.stderr
    return json.loads(result.stdout.splitlines()[-1])["state"]


def ask(hot: HotProcess, tag: str) -> dict:
    hot.send(tag)
    while True:
        line = hot.out.wait_for(r"^(ready$|\{)").string
        if line == "ready":
            hot.send(tag)
            continue
        reply = json.loads(line)
        if reply["request"] == tag:
            return reply


def check(data: st.DataObject) -> None:
    program = data.draw(gen.programs(), label="program")
    with tempfile.TemporaryDirectory(prefix="hmr-statements-") as directory:
        root = Path(os.path.realpath(directory))
        for path, text in gen.render(program).items():
            write(root / path, text)
        note(gen.render(program)["mod.py"])
        expected = fresh_state(root)
        # counter.py is the test's instrument, not part of the program: as a project module
        # its RAN would be a registry that @mark statements add to (and rerun for).
        options = ("-v", "--exclude", "counter.py")
        with HotProcess.run(root, "app.py", stdin=True, options=options) as hot:
            hot.out.wait_for("^ready$")
            assert ask(hot, "start")["state"] == expected
            try:
                for number in range(data.draw(st.integers(1, 4), label="edits")):
                    description, edited, moved = data.draw(
                        gen.edits(program), label=f"edit {number}"
                    )
                    note(f"edit {number}: {description}")
                    old_files, new_files = gen.render(program), gen.render(edited)
                    changed_files = [p for p in new_files if new_files[p] != old_files[p]]
                    for path in changed_files:
                        write(root / path, new_files[path])
                    for _ in changed_files:
                        hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
                    note(new_files["mod.py"])
                    fresh = fresh_state(root)
                    reply = ask(hot, f"edit {number}")
                    assert reply["state"] == fresh, f"hot state differs after {description}"
                    changed_values = {
                        name
                        for name in set(fresh) | set(expected)
                        if fresh.get(name) != expected.get(name)
                    }
                    allowed = gen.may_run(program, edited, changed_values, moved)
                    extra = set(reply["ran"]) - allowed
                    assert not extra, f"after {description}: {sorted(extra)} ran again"
                    program, expected = edited, fresh
            except AssertionError as failure:
                hot.err.drain()
                raise AssertionError(f"{failure}\n\nstderr:\n" + "\n".join(hot.err.seen)) from None


_SETTINGS = dict(
    deadline=None,
    derandomize=CI,
    database=None if CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@pytest.mark.core
@settings(max_examples=12, **_SETTINGS)
@given(st.data())
def test_statement_reruns_equal_a_fresh_run_and_run_only_what_an_edit_affects(data):
    check(data)
