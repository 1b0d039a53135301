"""Collection for ``pytest --hmr`` after the first run: test files collected again (their
module reran, or a conftest above them changed), new test files found and collected, and
the reports and node ids that go with them.

pytest collects once per session; the watch keeps the session, so it makes the collectors
and items itself, the way pytest would for those files (the same hooks, the same parents),
and keeps the fixtures registered for them in step (``fixtures``; ``compat`` for the
pytest releases that register them per node).
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

import pytest

from ... import runtime
from . import compat
from .fixtures import adopt, forget_collected, refresh_module, under


class Recollection:
    """Part of ``Watch``: collects test files again. Uses the state ``Watch`` sets up."""

    config: pytest.Config
    session: pytest.Session | None
    files: dict[Path, list[pytest.Item]]
    collectors: dict[Path, pytest.Module]
    directories: dict[Path, pytest.Directory]

    def _forget_fixtures(self, module, collector: pytest.Module) -> set:
        """Before a test module is collected again: its fixtures brought up to date."""
        if compat.FIXTURES_PER_NODE:  # from 9.1, collecting registers them again
            return set()
        manager = self.session._fixturemanager  # type: ignore[union-attr]
        fresh = refresh_module(manager, module, collector.nodeid)
        forget_collected(manager, module, collector.nodeid)
        return fresh

    def _error_report(self, name: str, error: BaseException) -> pytest.CollectReport:
        """The error a project module's rerun raised, as the report pytest makes for a test
        file that fails to import."""
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


def _initial_paths(session: pytest.Session) -> list[Path]:
    """The paths pytest was asked to collect (the rootdir's testpaths or arguments)."""
    paths = getattr(session, "_initialpaths", None)
    if paths:
        return [Path(p).resolve() for p in paths]
    return [Path(session.config.rootpath).resolve()]


def imported(collector: pytest.Module) -> bool:
    """Whether ``collector`` holds its imported test module (not when importing it failed)."""
    return getattr(collector, "_obj", None) is not None
