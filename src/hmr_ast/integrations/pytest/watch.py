"""``pytest --hmr``: keep one pytest session warm; on each save rerun only the affected tests.

The main thread runs pytest (fixtures, capture and signals expect it) and waits for work:
batches of changed files from the watcher thread, or keys (``a`` all, ``f`` failed, ``q``
quit) from a thread reading the terminal. A batch goes through the engine (test modules and
conftest files are project modules like any other), then the test modules it reran are
collected again, fixtures are brought up to date, and the tests whose code, fixtures or
conftest read a changed name run, with pytest's own report and summary line.

``Watch`` holds the session's state and the loop; its other jobs live beside it: the keys
(``keys``), collecting test files again (``recollection``), taking in a batch and choosing
its tests (``batch_choice``) and running a round (``round_runner``).
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
from pathlib import Path

import pytest

from ... import runtime
from ...engine import Engine
from ...watcher import Watcher
from . import compat
from .batch_choice import BatchChoice
from .keys import KEYS_HELP, KeyReader
from .probed_code import ProbedCode
from .recollection import Recollection
from .rerun_selection import take_before
from .round_runner import RoundRunner


class Watch(BatchChoice, Recollection, RoundRunner):
    """The warm session: what pytest collected and reported, what each test and fixture
    ran, and the loop that turns saves and keys into rounds."""

    def __init__(self, config: pytest.Config, keys_fd: int | None) -> None:
        self.config = config
        # made before pytest parses its options: read from the early arguments
        early = getattr(config, "known_args_namespace", None)
        self.verbose = bool(getattr(early, "hmr_explain", False))
        self.engine = Engine(log=self.log, verbose=self.explain, explaining=self.verbose)
        self.events: queue.SimpleQueue[tuple[str, object]] = queue.SimpleQueue()
        self.keys_fd = keys_fd
        self.session: pytest.Session | None = None
        self.files: dict[Path, list[pytest.Item]] = {}  # test file -> its items, in order
        self.collectors: dict[Path, pytest.Module] = {}
        self.directories: dict[Path, pytest.Directory] = {}
        self.collect_errors: dict[Path, pytest.CollectReport] = {}
        self.import_errors: dict[str, pytest.CollectReport] = {}
        self.results: dict[str, str] = {}  # nodeid -> passed / failed / skipped
        self.pending: set[str] = set()  # collected but not run yet (a collection error)
        self.executed = ProbedCode()
        #: nodeid / FixtureDef -> (recording number, project code it ran), latest run
        self.test_code: dict[str, tuple[int, set]] = {}
        self.fixture_code: dict[object, tuple[int, set]] = {}
        self._records_watched = -1

    # --- messages ------------------------------------------------------------------

    def log(self, message: str) -> None:
        sys.stderr.write(f"[hmr-ast] {message}\n")
        sys.stderr.flush()

    def explain(self, message: str) -> None:
        if self.verbose:
            self.log(f"  {message}")

    # --- what pytest tells us ------------------------------------------------------

    def collected(self, collector, report: pytest.CollectReport) -> None:
        if isinstance(collector, pytest.Directory):
            self.directories[Path(collector.path)] = collector
        if isinstance(collector, pytest.Module):
            self.collectors[collector.path] = collector
            if report.failed:
                self.collect_errors[collector.path] = report
            else:
                self.collect_errors.pop(collector.path, None)

    def logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            self.results[report.nodeid] = "failed"
        elif report.when == "call" or report.skipped:
            self.results.setdefault(report.nodeid, report.outcome)

    # --- the loop ------------------------------------------------------------------

    def run(self, session: pytest.Session) -> bool:
        self.session = session
        for item in session.items:
            self.files.setdefault(item.path, []).append(item)
        self._watch_code()
        self.run_round(list(session.items), skipped=0)
        compat.end_first_run_selection(self.config)
        self.engine.warm_up()
        watcher = Watcher(self._directories, self._on_files, lambda: None, self.log)
        watcher.start()
        watcher.ready.wait(10)  # "watching" means it: a file saved from now on is seen
        key_reader = KeyReader(self.keys_fd, self.events)
        key_reader.start()
        self.log(f"watching for changes; {KEYS_HELP}" if self.keys_fd is not None else "watching")
        try:
            while True:
                kind, value = self.events.get()
                batch: set[str] | None = set()
                keys = []
                sweep = False
                while True:
                    if kind == "files":
                        if value is None:
                            sweep = True
                        else:
                            batch |= value  # type: ignore[operator]
                    else:
                        keys.append(value)
                    try:
                        kind, value = self.events.get_nowait()
                    except queue.Empty:
                        break
                if sweep:
                    batch |= self._sweep()  # type: ignore[operator]
                if batch:
                    self.on_changes(batch, quiet=sweep)
                for key in keys:
                    if key == "q":
                        return True
                    if key == "a":
                        self.run_round(self.all_items(), skipped=0)
                    elif key == "f":
                        failed = [
                            i for i in self.all_items() if self.results.get(i.nodeid) == "failed"
                        ]
                        self.run_round(failed, skipped=len(self.all_items()) - len(failed))
                watcher.refresh()
        finally:
            watcher.stop()
            key_reader.stop()
            self.executed.close()

    def _watch_code(self, force: bool = False) -> None:
        """Record the code of project modules imported since the last look (or, ``force``,
        new code a batch made)."""
        if force or len(runtime.records) != self._records_watched:
            self._records_watched = len(runtime.records)
            self.executed.watch_project_code()

    def fixture_setup(self, definition) -> object:
        """Around a fixture's setup: what it runs is its own record (``plugin``), for a
        fixture whose value outlives the test; a function-scoped one is built again with
        each test, so what it runs belongs to the test's record alone."""
        if getattr(definition, "scope", "function") == "function":
            return contextlib.nullcontext(None)
        return self.executed.recording()

    def fixture_ran(self, definition, codes: set | None) -> None:
        if codes is not None:
            self.fixture_code[definition] = (self.executed.recordings, codes)

    def _on_files(self, paths: set[str] | None) -> None:
        self.events.put(("files", paths))

    def all_items(self) -> list[pytest.Item]:
        return [item for items in self.files.values() for item in items]

    # --- files ---------------------------------------------------------------------

    def _directories(self) -> set[str]:
        """The session's folders, and those of test files that failed to import."""
        failed = {str(path.parent) for path in self.collect_errors}
        return runtime.watched_directories() | failed

    def _sweep(self) -> set[str]:
        return runtime.sweep_paths() | {str(path) for path in self.collect_errors}

    def on_changes(self, paths: set[str], quiet: bool) -> None:
        modules, triggers, _new_file = self.engine.modules_for(paths, quiet=quiet)
        real = {os.path.realpath(p) for p in paths}
        by_path = {os.path.realpath(runtime.records[m].path) for m in modules}
        retry = [  # test files that failed to import: collect them again when they change
            p for p in self.collect_errors if os.path.realpath(p) in (by_path if quiet else real)
        ]
        retry += self._new_test_files(paths - {runtime.records[m].path for m in modules})
        if not modules and not retry and not (self.engine.failed and _new_file):
            return
        before = take_before(modules, self.all_items())
        hook, sys.excepthook = sys.excepthook, lambda *args: None  # reported pytest's way
        try:
            outcome = self.engine.apply(modules, on_main=True, main_busy=lambda _: False)
        finally:
            sys.excepthook = hook
        self._watch_code(force=True)
        self.after(outcome, retry, triggers, before)
