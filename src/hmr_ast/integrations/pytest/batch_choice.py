"""After a batch of ``pytest --hmr``: what the engine reran is brought into the session, and
the tests it affects are chosen for the next round.

Test modules that reran are collected again, conftest files that reran have their fixtures
and hooks registered again, and fixtures whose code changed are torn down. A test runs when
it is new, its definition changed, its file is back from an error, it waited for a
collection error, a fixture it uses changed, a conftest hook above it changed, or it reads
(or ran) a changed name (``rerun_selection``).
"""

from __future__ import annotations

import sys
from functools import partial
from pathlib import Path

import pytest

from ...engine import Engine, Outcome
from . import compat
from .affected_tests import code_reads, fixture_definitions, own_node, test_reads
from .fixtures import refresh_module, tear_down
from .probed_code import ProbedCode
from .recollection import imported
from .rerun_selection import Before
from .rerun_selection import reach as reach_of
from .static_reach import fixture_runs_patched, runs_patched
from .test_definitions import definition, holds_iterators, iterator_params, same_definition

TYPE_CHECKING = False


class BatchChoice:
    """Part of ``Watch``: takes in a batch and chooses its tests. Uses the state ``Watch``
    sets up, and the methods of ``Recollection`` and ``RoundRunner``."""

    config: pytest.Config
    session: pytest.Session | None
    verbose: bool
    engine: Engine
    files: dict[Path, list[pytest.Item]]
    collectors: dict[Path, pytest.Module]
    import_errors: dict[str, pytest.CollectReport]
    pending: set[str]
    executed: ProbedCode
    test_code: dict[str, tuple[int, set]]
    fixture_code: dict[object, tuple[int, set]]

    if TYPE_CHECKING:

        def log(self, message: str) -> None: ...
        def explain(self, message: str) -> None: ...
        def all_items(self) -> list[pytest.Item]: ...
        def run_round(self, items: list[pytest.Item], skipped: int) -> None: ...
        def _recollect(self, paths: set[Path], fresh: set) -> set[str]: ...
        def _forget_fixtures(self, module, collector: pytest.Module) -> set: ...
        def _error_report(self, name: str, error: BaseException) -> pytest.CollectReport: ...
        def _plugin_directory(self, module) -> Path: ...
        def _conftest_nodeid(self, directory: Path) -> str: ...

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
        by_module = {c.obj.__name__: c for c in self.collectors.values() if imported(c)}
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
        reach = reach_of(self.engine.graph.reads, outcome, before, read)
        covers = self._covers
        members, patched = outcome.patched_members, outcome.patched_objects
        for fixture, fixture_reads in fixtures.items():
            follow = partial(fixture_runs_patched, fixture, members, patched)
            if reach.why(fixture_reads, self.fixture_code.get(fixture), covers, follow):
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
                or reach.why(
                    reads[item.nodeid],
                    self.test_code.get(item.nodeid),
                    covers,
                    partial(runs_patched, item, members, patched),
                )
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
        by_module = {c.obj.__name__: c for c in self.collectors.values() if imported(c)}
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


def _cached_definitions(manager) -> list:
    return [d for d in compat.definitions(manager) if d.cached_result is not None]


def _reads_of(definition) -> set[str]:
    into: set[str] = set()
    code_reads(definition.func, into)
    return into
