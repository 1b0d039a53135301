"""``pytest --hmr``: keep one pytest session warm; on each save rerun only the affected tests.

The main thread runs pytest (fixtures, capture and signals expect it) and waits for work:
batches of changed files from the watcher thread, or keys (``a`` all, ``f`` failed, ``q``
quit) from a thread reading the terminal. A batch goes through the engine (test modules and
conftest files are project modules like any other), then the test modules it reran are
collected again, fixtures are brought up to date, and the tests whose code, fixtures or
conftest read a changed name run, with pytest's own report and summary line.
"""

from __future__ import annotations

import contextlib
import os
import queue
import sys
import threading
import traceback
from pathlib import Path

import pytest

from ... import runtime
from ...engine import Engine, Outcome
from ...watcher import Watcher
from . import compat
from .affected_tests import fixture_definitions, own_node, test_reads
from .executed_code import ExecutedCode
from .fixtures import adopt, forget_collected, refresh_module, tear_down, under
from .rerun_selection import Before, take_before
from .rerun_selection import reach as reach_of
from .test_definitions import definition, holds_iterators, iterator_params, same_definition

KEYS_HELP = "keys: a = run all, f = run failed, q = quit"


class _KeepSession:
    """Stands for "the next item" after a round: tear down everything but the session, so
    session-scoped fixtures live on to the next round."""

    def __init__(self, session: pytest.Session) -> None:
        self._chain = [session]

    def listchain(self) -> list:
        return list(self._chain)


class Watch:
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
        self.executed = ExecutedCode()
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

    @property
    def reporter(self):
        return self.config.pluginmanager.get_plugin("terminalreporter")

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
        self._start_keys()
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
            self._stop_keys()
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

    # --- keys ----------------------------------------------------------------------

    def _start_keys(self) -> None:
        """Keys as they are typed (cbreak mode, set here so that a key typed right after
        "watching" is not lost), read on a thread; ``_stop_keys`` gives the terminal back."""
        if self.keys_fd is None:
            return
        self._saved_terminal = None
        try:
            import termios
            import tty
        except ImportError:  # no termios (Windows): keys arrive line by line
            pass
        else:
            try:
                self._saved_terminal = termios.tcgetattr(self.keys_fd)
                tty.setcbreak(self.keys_fd, termios.TCSANOW)
            except (OSError, termios.error):
                self._saved_terminal = None
        threading.Thread(target=self._read_keys, name="hmr-ast-keys", daemon=True).start()

    def _stop_keys(self) -> None:
        saved = getattr(self, "_saved_terminal", None)
        if saved is not None and self.keys_fd is not None:
            import termios

            try:
                termios.tcsetattr(self.keys_fd, termios.TCSADRAIN, saved)
            except (OSError, termios.error):
                pass

    def _read_keys(self) -> None:
        fd = self.keys_fd
        assert fd is not None
        while True:
            try:
                data = os.read(fd, 1)
            except OSError:
                return
            if not data:
                return
            key = data.decode(errors="ignore").lower()
            if key in ("a", "f", "q"):
                self.events.put(("key", key))

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

    # --- a batch -------------------------------------------------------------------

    def after(
        self, outcome: Outcome, retry: list[Path], triggers: list[str], before: Before
    ) -> None:
        session = self.session
        assert session is not None
        manager = session._fixturemanager
        plugins = self.config.pluginmanager
        recovered = {name for name in outcome.reran if self.import_errors.pop(name, None)}
        for name, error in outcome.errors.items():
            self.import_errors[name] = self._error_report(name, error)
        self._rebuild_iterator_modules(outcome)
        fresh: set = set()
        recollect: set[Path] = set(retry)
        everything_under: list[Path] = []
        whole_files: set[Path] = set()
        by_module = {c.obj.__name__: c for c in self.collectors.values() if _imported(c)}
        for name in outcome.reran:
            module = sys.modules.get(name)
            if module is None:
                continue
            collector = by_module.get(name)
            if collector is not None and name in recovered:
                # A test module back from an error: all its tests run, even when its text is
                # the last good one again (the screen showed its error, not their results).
                whole_files.add(collector.path)
            if collector is not None:
                fresh |= self._forget_fixtures(module, collector)
                recollect.add(collector.path)
            elif plugins.is_registered(module):
                directory = self._plugin_directory(module)
                nodeid = self._conftest_nodeid(directory)
                node = compat.conftest_node(session, directory)
                new = refresh_module(manager, module, nodeid, node)
                hooks = {n for n in outcome.changed.get(name, ()) if n.startswith("pytest_")}
                if hooks:
                    registration = plugins.get_name(module)
                    plugins.unregister(module)
                    plugins.register(module, name=registration)
                if new or hooks or outcome.changed.get(name):
                    fresh |= new
                    recollect |= {p for p in self.files if directory in p.parents}
                    if hooks:
                        everything_under.append(directory)
        new_ids = self._recollect(recollect, fresh)
        items = self.all_items()
        reads = {item.nodeid: test_reads(item) for item in items}
        for path in recollect:  # collected again: their definitions are compared instead
            for item in self.files.get(path, ()):
                reads[item.nodeid].discard(own_node(item))  # type: ignore[arg-type]
        fixtures = {fixture: _reads_of(fixture) for fixture in _cached_definitions(manager)}
        read = set().union(*reads.values(), *fixtures.values())
        reach = reach_of(self.engine.graph.reads, outcome, before, self.executed.available, read)
        covers = self._covers
        for fixture, fixture_reads in fixtures.items():
            if reach.why(fixture_reads, self.fixture_code.get(fixture), covers):
                tear_down(fixture)
                fresh.add(fixture)
        redefined = {
            item.nodeid
            for path in recollect
            for item in self.files.get(path, ())
            if item.nodeid in before.definitions
            and not same_definition(before.definitions[item.nodeid], definition(item))
        }
        chosen = []
        why: dict[str, str] = {}
        for item in items:
            reason = (
                (item.nodeid in new_ids and "new")
                or (item.nodeid in redefined and "its definition changed")
                or (item.path in whole_files and "its file is back from an error")
                or (item.nodeid in self.pending and "waited for a collection error")
                or (any(d in fresh for d in fixture_definitions(item)) and "a fixture changed")
                or (
                    any(directory in item.path.parents for directory in everything_under)
                    and "a conftest hook changed"
                )
                or reach.why(reads[item.nodeid], self.test_code.get(item.nodeid), covers)
            )
            if reason:
                chosen.append(item)
                why[item.nodeid] = reason
        chosen = self._rebuild_iterator_params(chosen, recollect, fresh)
        if self.verbose:
            for item in chosen:
                self.explain(f"{item.nodeid}: {why.get(item.nodeid, 'affected')}")
        what = ", ".join(sorted(set(triggers))) or "files"
        total = len(self.all_items())
        self.log(f"{what} changed: {len(chosen)} of {total} tests affected")
        self.run_round(chosen, skipped=total - len(chosen))

    def _forget_fixtures(self, module, collector: pytest.Module) -> set:
        """Before a test module is collected again: its fixtures brought up to date."""
        if compat.FIXTURES_PER_NODE:  # from 9.1, collecting registers them again
            return set()
        manager = self.session._fixturemanager  # type: ignore[union-attr]
        fresh = refresh_module(manager, module, collector.nodeid)
        forget_collected(manager, module, collector.nodeid)
        return fresh

    def _rebuild_iterator_params(self, chosen: list, recollected: set[Path], fresh: set) -> list:
        """A chosen test whose parameter is an iterator (made at import, consumed by its
        first run) gets a new one, as in a fresh run: its module runs again as a whole and is
        collected again. Returns ``chosen`` with those tests' new items."""
        stale = {
            item.path: item.module
            for item in chosen
            if item.path not in recollected and iterator_params(item)
        }
        if not stale:
            return chosen
        rebuilt: set[Path] = set()
        for path, module in stale.items():
            self.explain(f"{module.__name__}: a test's parameter is an iterator; runs again")
            try:
                self.engine.rerun(module.__name__)
            except Exception as error:  # noqa: BLE001 - reported like any import error
                cause = error.__cause__ or error
                self.import_errors[module.__name__] = self._error_report(module.__name__, cause)
                continue
            fresh |= self._forget_fixtures(module, self.collectors[path])
            rebuilt.add(path)
        self._recollect(rebuilt, fresh)
        wanted = {item.nodeid for item in chosen}
        return [item for item in self.all_items() if item.nodeid in wanted]

    def _covers(self, number: int, module: str) -> bool:
        """Whether recording ``number`` saw the code of ``module`` (watched before it)."""
        since = self.executed.watched_modules.get(module)
        return since is not None and number > since

    def _rebuild_iterator_modules(self, outcome: Outcome) -> None:
        """A test module that reran in part and holds an iterator at module level (a
        generator made at import, which its first run consumed) runs again as a whole, as a
        fresh import would: a statement rerun reading it would see it consumed."""
        by_module = {c.obj.__name__: c for c in self.collectors.values() if _imported(c)}
        for name in list(outcome.reran):
            module = sys.modules.get(name)
            if name not in by_module or module is None or not holds_iterators(vars(module)):
                continue
            self.explain(f"{name}: holds an iterator made at import; runs again as a whole")
            try:
                changed = self.engine.rerun(name)
            except Exception as error:  # noqa: BLE001 - reported like any import error
                self.import_errors[name] = self._error_report(name, error.__cause__ or error)
                continue
            outcome.changed[name] = outcome.changed.get(name, set()) | changed

    def _error_report(self, name: str, error: BaseException) -> pytest.CollectReport:
        from _pytest._code import ExceptionInfo

        from ...errors import strip_our_frames

        record = runtime.records[name]
        try:
            nodeid = os.path.relpath(record.path, self.config.rootpath)
        except ValueError:
            nodeid = record.path
        strip_our_frames(error)
        if error.__traceback__ is None:  # a SyntaxError: where it is says it all
            text = "".join(traceback.format_exception_only(type(error), error)).rstrip()
            return pytest.CollectReport(nodeid, "failed", text, [])
        info = ExceptionInfo.from_exception(error)
        return pytest.CollectReport(nodeid, "failed", info.getrepr(style="short"), [])

    def _plugin_directory(self, module) -> Path:
        if os.path.basename(getattr(module, "__file__", "") or "") == "conftest.py":
            return Path(module.__file__).resolve().parent
        return Path(self.config.rootpath)

    def _conftest_nodeid(self, directory: Path) -> str:
        try:
            nodeid = str(directory.relative_to(self.config.rootpath))
        except ValueError:
            return ""
        return "" if nodeid == "." else nodeid.replace(os.sep, "/")

    def _new_test_files(self, paths: set[str]) -> list[Path]:
        """Files that appeared and that pytest would collect as test modules, under the
        paths it was given, not ignored (a new ``test_*.py``)."""
        session = self.session
        assert session is not None
        found = []
        for name in paths:
            path = Path(name).resolve()
            if (
                path.suffix != ".py"
                or not path.is_file()
                or path in self.collectors
                or path.name == "conftest.py"
                or not any(p == path or p in path.parents for p in _initial_paths(session))
                or self.config.hook.pytest_ignore_collect(collection_path=path, config=self.config)
            ):
                continue
            if any(isinstance(c, pytest.Module) for c in self._collect_file(path)):
                found.append(path)
        return found

    def _collect_file(self, path: Path) -> list:
        """The collectors pytest makes for a new file, under its folder's node when that was
        collected (from pytest 9.1 a conftest's fixtures are visible below its folder's node
        only, and ``Session._collect_path`` would make the file a child of the session)."""
        session = self.session
        assert session is not None
        parent = self.directories.get(path.parent)
        if parent is None:
            return list(session._collect_path(path, {}))
        return list(parent.ihook.pytest_collect_file(file_path=path, parent=parent))

    def _recollect(self, paths: set[Path], fresh: set) -> set[str]:
        """Collect the test files at ``paths`` again (or for the first time); return the
        nodeids that are new, and add fixture definitions that changed to ``fresh``."""
        session = self.session
        assert session is not None
        manager = session._fixturemanager
        new_ids: set[str] = set()
        for path in paths:
            old = self.collectors.get(path)
            before = {item.nodeid for item in self.files.get(path, ())}
            registered = []
            if old is not None and compat.FIXTURES_PER_NODE:
                registered = [d for d in compat.definitions(manager) if under(d, old)]
            if old is None:
                collectors = [c for c in self._collect_file(path) if isinstance(c, pytest.Module)]
                if not collectors:
                    continue
                collector = collectors[0]
            else:
                collector = type(old).from_parent(old.parent, path=old.path)
            items = list(session.genitems(collector))
            self.config.hook.pytest_collection_modifyitems(
                session=session, config=self.config, items=items
            )
            self.files[path] = items
            new_ids |= {item.nodeid for item in items} - before
            if old is not None and compat.FIXTURES_PER_NODE:
                fresh |= adopt(manager, registered, collector, items)
        return new_ids

    # --- a round of tests ----------------------------------------------------------

    def run_round(self, items: list[pytest.Item], skipped: int) -> None:
        session = self.session
        assert session is not None
        reporter = self.reporter
        errors = list(self.collect_errors.values()) + list(self.import_errors.values())
        blocked = errors and not self.config.option.continue_on_collection_errors
        if blocked:
            self.pending |= {item.nodeid for item in items}
            items = []
        else:
            self.pending.clear()
        if reporter is not None:
            reporter.stats = {}
            reporter._main_color = None
            reporter._known_types = None
            reporter._progress_nodeids_reported = set()
            reporter.currentfspath = None
            compat.restart_reporter_clock(reporter)
            if errors:
                reporter.stats["error"] = list(errors)
        session.testscollected = len(items)
        session.testsfailed = 0
        keep = _KeepSession(session)
        try:
            for index, item in enumerate(items):
                following = items[index + 1] if index + 1 < len(items) else keep
                self.results.pop(item.nodeid, None)
                item._report_sections = []  # an item that ran before keeps its old output
                item.user_properties = []
                with self.executed.recording() as codes:
                    number = self.executed.recordings
                    item.config.hook.pytest_runtest_protocol(item=item, nextitem=following)
                self.test_code[item.nodeid] = (number, codes)
                self._watch_code()
                if session.shouldstop or session.shouldfail:
                    break
        finally:
            session.shouldstop = session.shouldfail = False
        if reporter is not None:
            if items and reporter._show_progress_info and reporter.verbosity <= 0:
                reporter._write_progress_information_filling_space()
            reporter._tw.line("")
            self.config.hook.pytest_terminal_summary(
                terminalreporter=reporter, exitstatus=pytest.ExitCode.OK, config=self.config
            )
            if blocked:
                reporter.write_sep("!", f"{len(errors)} error(s) during collection; tests wait")
            reporter.summary_stats()
            if skipped:
                reporter.write_line(f"hmr-ast: {skipped} unaffected tests not rerun")


def _initial_paths(session: pytest.Session) -> list[Path]:
    """The paths pytest was asked to collect (the rootdir's testpaths or arguments)."""
    paths = getattr(session, "_initialpaths", None)
    if paths:
        return [Path(p).resolve() for p in paths]
    return [Path(session.config.rootpath).resolve()]


def _imported(collector: pytest.Module) -> bool:
    return getattr(collector, "_obj", None) is not None


def _cached_definitions(manager) -> list:
    return [d for d in compat.definitions(manager) if d.cached_result is not None]


def _reads_of(definition) -> set[str]:
    from .affected_tests import code_reads

    into: set[str] = set()
    code_reads(definition.func, into)
    return into
