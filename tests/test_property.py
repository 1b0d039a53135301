"""As correct as a restart: after any sequence of edits, the hot program's state equals what a
fresh ``python app.py`` computes for the files as they now are.

Hypothesis writes random programs (``program_gen``: modules and a package importing each other
with ``import m``, ``from m import V``, ``from m import *``, relative imports, aliases,
re-exports, ``__all__``, functions and classmethods that read other modules when called at
import time) and random edits (literals, which name an expression reads and how it is
imported, names added, names removed with every use, ``__all__``, new modules, broken saves
and their repair). One ``hmr-ast run`` process lives through all the edits of an example;
after each edit the test waits for hmr-ast's line about it, asks the entry for a snapshot of
every module's integer names and compares it with a fresh ``python app.py``'s. A save that
cannot run (a syntax error, or a raise) must leave the previous state in place; the save
that repairs it must give the fresh run's state again.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import program_gen as gen
from harness import TIMEOUT, HotProcess, everything, fresh_run, make_project, write

CI = os.environ.get("CI") == "true"
_RELOADED = re.compile(r"^\[hmr-ast\] reloaded (.+?): (.*)$")
_ERROR_IN = re.compile(r"^\[hmr-ast\] error in (.+?), line \d+")
#: Lines hmr-ast prints only when something went wrong: never expected after a valid edit.
_TROUBLE = (
    "[hmr-ast] error in ",
    "[hmr-ast] kept the previous ",
    "keeps changing in an import cycle",
    "[hmr-ast] could not run ",
    "[hmr-ast] __main__ raised",
    "was deleted; keeping",
    "[hmr-ast] watcher restarting",
)


# --- the oracle ------------------------------------------------------------------------------


def fresh_snapshot(root: Path) -> dict:
    """What ``python app.py`` prints for one request; ``-B`` so that no stale .pyc can lie."""
    result = fresh_run(root, "-B", "app.py", stdin="\n")
    assert result.returncode == 0, (
        "the generator made an invalid program (a bug in program_gen, not in hmr-ast):\n"
        + result.stderr
    )
    return json.loads(result.stdout.splitlines()[-1])["state"]


def assert_fresh_run_fails(root: Path) -> None:
    result = fresh_run(root, "-B", "app.py", stdin="\n")
    assert result.returncode != 0, "the broken save runs fine with plain python"


def assert_same_state(hot: dict, fresh: dict, when: str) -> None:
    if hot == fresh:
        return
    lines = [f"hot state differs from a fresh run {when}:"]
    for module in sorted(set(hot) | set(fresh)):
        a, b = hot.get(module), fresh.get(module)
        if a != b:
            lines.append(f"  {module}: hot {a} != fresh {b}")
    raise AssertionError("\n".join(lines))


# --- the hot process -------------------------------------------------------------------------


class HotProgram:
    """An ``hmr-ast run app.py`` of a generated program, driven one edit at a time.

    The watcher may see one save as two batches. The second has the bytes that already ran
    and changes nothing, but hmr-ast still reports it in two cases: a module that failed
    retries on every save of its file (so its error shows twice), and an entry whose restart
    has not begun yet restarts again (see the regression test at the end). Such late
    reports of the previous save are tolerated here; anything else hmr-ast prints must be
    about the save just made.
    """

    def __init__(self, process: HotProcess) -> None:
        self.process = process
        self.previous: set[str] = set()  # paths the previous save wrote
        self.broken: tuple[str, str] | None = None  # (module, path) while it cannot run
        self.requests = 0

    def wait_ready(self) -> None:
        self.process.out.wait_for(r"^ready$")

    def snapshot(self, version: int) -> dict:
        """The state of every module, asked of the running entry, which must be the
        ``version`` of app.py (replies carry it and the request's tag).

        hmr-ast restarts the entry after printing its reload line, so the old entry may
        still answer, or read the request and be stopped before answering; and two restarts
        in a row may print one ``ready``. So no line is taken for granted: every ``ready``
        (a new entry listening) gets the request again, and only the reply to this request
        from this version counts.
        """
        self.requests += 1
        tag = f"request {self.requests}"
        self.process.send(tag)
        while True:
            line = self.process.out.wait_for(r"^(ready$|\{)").string
            if line == "ready":
                self.process.send(tag)
                continue
            reply = json.loads(line)
            if reply["request"] == tag and reply["version"] == version:
                return reply["state"]

    def _stderr_line(self, deadline: float) -> str:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out; stderr so far:\n" + "\n".join(self.process.err.seen))
        return self.process.err.wait_for("", timeout=remaining).string

    def _late_duplicate(self, line: str) -> bool:
        """A second report of the previous save, or of the broken save not yet repaired."""
        match = _RELOADED.match(line)
        if match:
            return set(match.group(1).split(", ")) <= self.previous
        if self.broken is not None:
            module, path = self.broken
            error = _ERROR_IN.match(line)
            if error:
                return error.group(1).endswith(os.sep + path)
            return line.startswith(f"[hmr-ast] kept the previous {module};")
        return False

    def await_reload(
        self, paths: list[str], created: list[str] = (), recovered: str | None = None
    ) -> None:
        """Wait until reload lines have named every one of ``paths``; fail on any error line."""
        deadline = time.monotonic() + TIMEOUT
        waiting = set(paths)
        recovered_seen = recovered is None
        while waiting:
            line = self._stderr_line(deadline)
            if recovered is not None and line == f"[hmr-ast] {recovered} recovered":
                recovered_seen = True
                self.broken = None
            if line.startswith(_TROUBLE) and not self._late_duplicate(line):
                raise AssertionError(f"hmr-ast reported a problem after a valid edit: {line}")
            match = _RELOADED.match(line)
            if match:
                waiting -= set(match.group(1).split(", "))
        assert recovered_seen, f"no '{recovered} recovered' line before the reload"
        self.broken = None
        self.previous = set(paths) | set(created)

    def await_failure(self, module: str, path: str) -> None:
        """Wait for the error report about ``path`` and for ``module`` being kept."""
        deadline = time.monotonic() + TIMEOUT
        located = False
        while True:
            line = self._stderr_line(deadline)
            match = _ERROR_IN.match(line)
            if match and match.group(1).endswith(os.sep + path):
                located = True
            elif located and line.startswith(f"[hmr-ast] kept the previous {module};"):
                break
            elif (_RELOADED.match(line) or line.startswith(_TROUBLE)) and not self._late_duplicate(
                line
            ):
                raise AssertionError(f"unexpected line after a broken save: {line}")
        self.broken = (module, path)


# --- the property ----------------------------------------------------------------------------


def write_edit(root: Path, before: gen.Program, after: gen.Program) -> tuple[list[str], list[str]]:
    """Write the files ``after`` changes, dependents before what they depend on, so that
    every state the watcher may catch in between is a valid program too. Returns the paths
    of the files hmr-ast already ran, and of the new files (picked up through an importer)."""
    old, new = gen.render(before), gen.render(after)
    changed = [path for path, text in new.items() if old.get(path) != text]
    assert changed, "an edit that changes no bytes prints nothing: the generator must not make it"
    rank = {gen.path_of(name): index for index, name in enumerate(after.order)}
    rank["app.py"] = len(after.order)
    created = [p for p in changed if p not in old]
    existing = sorted((p for p in changed if p in old), key=rank.__getitem__, reverse=True)
    for path in created + existing:
        write(root / path, new[path])
    return existing, created


def check_random_edits(data: st.DataObject) -> None:
    program = data.draw(gen.programs(), label="program")
    note(gen.describe(program))
    with tempfile.TemporaryDirectory(prefix="hmr-property-") as directory:
        root = Path(os.path.realpath(directory))
        for path, text in gen.render(program).items():
            write(root / path, text)
        expected = fresh_snapshot(root)
        with HotProcess.run(root, "app.py", stdin=True, options=("-v",)) as process:
            try:
                run_edits(data, program, root, HotProgram(process), expected)
            except AssertionError as failure:
                process.err.drain()
                stderr = "\n".join(process.err.seen)
                raise AssertionError(f"{failure}\n\nhmr-ast's stderr (-v):\n{stderr}") from None


def run_edits(
    data: st.DataObject, program: gen.Program, root: Path, hot: HotProgram, expected: dict
) -> None:
    """Draw and apply 2-5 edits; after each, the hot state must be the fresh run's."""
    hot.wait_ready()
    assert_same_state(hot.snapshot(len(program.app_imports)), expected, "at start")
    budget = data.draw(st.integers(2, 5), label="number of edits")
    done = 0
    while done < budget:
        edit = data.draw(gen.edits(program), label=f"edit {done + 1}")
        note(f"edit {done + 1}: {edit.description}")
        if edit.broken is None:
            hot.await_reload(*write_edit(root, program, edit.program))
            program, expected = edit.program, fresh_snapshot(root)
            note(gen.describe(program))
            state = hot.snapshot(len(program.app_imports))
            assert_same_state(state, expected, f"after edit {done + 1}")
            done += 1
            continue
        # A save that cannot run keeps the previous state; the next save repairs it.
        module, text = edit.broken
        path = gen.path_of(module)
        note(f"# --- {path} (broken)\n{text}")
        write(root / path, text)
        hot.await_failure(module, path)
        assert_fresh_run_fails(root)
        state = hot.snapshot(len(program.app_imports))
        assert_same_state(state, expected, f"after broken edit {done + 1}")
        fix = data.draw(gen.fix_edit(program, module), label=f"edit {done + 2}")
        note(f"edit {done + 2}: {fix.description}")
        write(root / path, gen.render(fix.program)[path])
        hot.await_reload([path], recovered=module)
        program, expected = fix.program, fresh_snapshot(root)
        state = hot.snapshot(len(program.app_imports))
        assert_same_state(state, expected, f"after fixing edit {done + 2}")
        done += 2


_SETTINGS = dict(
    deadline=None,
    derandomize=CI,
    database=None if CI else settings.default.database,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(max_examples=75, **_SETTINGS)
@given(data=st.data())
def test_hot_state_equals_fresh_run_after_random_edits(data):
    check_random_edits(data)


@pytest.mark.core
@settings(max_examples=8, **_SETTINGS)
@given(data=st.data())
def test_hot_state_equals_fresh_run_after_random_edits_core(data):
    check_random_edits(data)


# --- regressions: what the property found, shrunk to one program and one edit ----------------


def _wait_until_watching(process: HotProcess, root: Path, module: str) -> None:
    """Save ``module`` once, unchanged but for a comment, and wait for hmr-ast to rerun it:
    from then on the watcher is watching, and each save below arrives as its own batch (a
    save made before the watch began is found by a sweep instead)."""
    path = root / f"{module}.py"
    write(path, path.read_text() + "# saved once\n")
    process.err.wait_for(rf"^\[hmr-ast\] reloaded {module}\.py: reran {module} in")


@pytest.mark.core
def test_rerunning_a_package_init_keeps_its_submodules_as_attributes(tmp_path):
    """``pkg/__init__.py`` reruns because ``X`` changed; ``user`` reruns because it reads
    ``pkg.X``, and reads ``pkg.sub.Y`` too, as a fresh run can: ``import pkg.sub`` made
    ``sub`` an attribute of ``pkg``, and rerunning ``__init__`` must not take it away."""
    make_project(
        tmp_path,
        {
            "pkg/__init__.py": "X = 1\n",
            "pkg/sub.py": "Y = 2\n",
            "user.py": "import pkg.sub\n\nZ = pkg.X + pkg.sub.Y\n",
            "app.py": gen.entry_source(["pkg.sub", "user"]),
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as process:
        hot = HotProgram(process)
        hot.wait_ready()
        write(tmp_path / "pkg" / "__init__.py", "X = 10\n")
        hot.await_reload(["pkg/__init__.py"])
        state = hot.snapshot(version=2)
        assert_same_state(state, fresh_snapshot(tmp_path), "after editing pkg/__init__.py")


@pytest.mark.core
def test_a_package_init_reruns_after_the_submodules_it_uses(tmp_path):
    """``pkg/__init__.py`` uses ``m1``, which uses its sibling ``m2``: a fresh run finishes
    ``m2``, then ``m1``, then ``__init__``. When ``m2`` changes, both others read what
    changed; ``__init__`` must rerun after ``m1``, not before it with ``m1``'s stale
    ``COUNT`` (which here fails: index out of range). The property found it as a stale
    function of ``m1`` reading a name just removed from ``m2``."""
    make_project(
        tmp_path,
        {
            "pkg/__init__.py": "from . import m1, m2\n\nLAST = m2.SIZES[m1.COUNT - 1]\n",
            "pkg/m1.py": "from . import m2\n\nCOUNT = len(m2.SIZES)\n",
            "pkg/m2.py": "SIZES = (1, 2, 3)\n",
            "app.py": gen.entry_source(["pkg"]),
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as process:
        hot = HotProgram(process)
        hot.wait_ready()
        write(tmp_path / "pkg" / "m2.py", "SIZES = (1, 2)\n")
        hot.await_reload(["pkg/m2.py"])
        state = hot.snapshot(version=1)
        assert_same_state(state, fresh_snapshot(tmp_path), "after editing pkg/m2.py")


@pytest.mark.core
def test_saving_the_entry_again_while_it_stops_restarts_it_once(tmp_path):
    """The property saw one save of the entry restart it twice: a second batch of the same
    save arrived while the entry was still stopping, before it ran again. Here the entry
    takes a while to stop (its clean-up), and the same bytes are saved again meanwhile. The
    restart already under way runs those bytes: it must not be requested a second time."""
    entry = (
        "import time\n"
        "import m\n\n"
        "print('ready', m.V, flush=True)\n"
        "try:\n"
        "    while True:\n"
        "        time.sleep(0.01)\n"
        "finally:\n"
        "    time.sleep(0.3)  # clean-up on the way out, as a server closing its sockets\n"
    )
    edited = entry.replace("'ready'", "'ready again'")
    make_project(tmp_path, {"m.py": "V = 1\n", "app.py": entry})
    with HotProcess.run(tmp_path, "app.py") as process:
        process.out.wait_for("^ready 1$")
        _wait_until_watching(process, tmp_path, "m")
        write(tmp_path / "app.py", edited)
        process.err.wait_for(r"^\[hmr-ast\] reloaded app\.py: restarting __main__$")
        write(tmp_path / "app.py", edited)
        process.out.wait_for("^ready again 1$")
        # One more save, and its line: every batch before it has been reported by then.
        write(tmp_path / "m.py", "V = 1  # saved again\n")
        process.err.wait_for(r"^\[hmr-ast\] reloaded m\.py: reran m in")
        restarts = [line for line in everything(process.err) if "__main__" in line]
        assert len(restarts) == 1, "\n".join(process.err.seen)
        assert everything(process.out).count("ready again 1") == 1
