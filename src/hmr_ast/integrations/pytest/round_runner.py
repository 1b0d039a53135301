"""A round of ``pytest --hmr``: the chosen tests run through pytest's own protocol, with its
report and summary line, in the session kept warm since the first run.

A round is what a fresh ``pytest`` run would print for those tests: the terminal reporter
starts its counts again, collection and import errors are shown (and hold the tests back,
unless ``--continue-on-collection-errors``), and what each test runs is recorded for the
next batch's choice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from . import compat
from .probed_code import ProbedCode

TYPE_CHECKING = False


class _KeepSession:
    """Stands for "the next item" after a round: tear down everything but the session, so
    session-scoped fixtures live on to the next round."""

    def __init__(self, session: pytest.Session) -> None:
        self._chain = [session]

    def listchain(self) -> list:
        return list(self._chain)


class RoundRunner:
    """Part of ``Watch``: runs a round. Uses the state ``Watch`` sets up."""

    config: pytest.Config
    session: pytest.Session | None
    collect_errors: dict[Path, pytest.CollectReport]
    import_errors: dict[str, pytest.CollectReport]
    results: dict[str, str]
    pending: set[str]
    executed: ProbedCode
    test_code: dict[str, tuple[int, set]]

    if TYPE_CHECKING:

        def _watch_code(self, force: bool = False) -> None: ...

    @property
    def reporter(self) -> pytest.TerminalReporter | None:
        return self.config.pluginmanager.get_plugin("terminalreporter")

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
