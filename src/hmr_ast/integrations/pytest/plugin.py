"""The pytest plugin behind ``pytest --hmr`` and ``hmr-ast pytest``.

Registered through the ``pytest11`` entry point, so it composes with the user's pytest
configuration, plugins and markers. Without ``--hmr`` it only adds the option: nothing of
hmr-ast's engine is imported.
"""

from __future__ import annotations

import os
import sys

import pytest

from . import compat

_WATCH = pytest.StashKey[object]()
#: The name pytest registers us under, as the ``pytest11`` entry point and as ``-p``.
NAME = "hmr_ast.pytest_plugin"


def main(argv: list[str]) -> int:
    """``hmr-ast pytest [PYTEST ARGS...]``: pytest with ``--hmr``, in this process."""
    args = list(argv)
    if "--hmr" not in args:
        args.append("--hmr")
    # ``-p`` loads us even when entry points are not (PYTEST_DISABLE_PLUGIN_AUTOLOAD, or a
    # checkout that is not installed); under the entry point's name it is never loaded twice.
    return int(pytest.main(["-p", NAME, *args]))


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("hmr-ast", "hot reload (hmr-ast)")
    group.addoption(
        "--hmr",
        action="store_true",
        default=False,
        help="keep pytest running; on each save rerun only the tests the edit affects",
    )
    group.addoption(
        "--hmr-explain",
        action="store_true",
        default=False,
        help="with --hmr: say why each test reruns",
    )


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_load_initial_conftests(early_config: pytest.Config, parser, args):
    """Before any conftest or test module is imported (and before pytest captures stdin):
    put our import hook first, with pytest's assertion rewriting composed into it."""
    options = early_config.known_args_namespace
    if getattr(options, "hmr", False):
        _check_pytest_version()
        _refuse_xdist(options)
        _install(early_config)
    return (yield)


#: The oldest pytest release hmr-ast pytest works with, and the newest it was tested with
#: (``tools/check`` runs the watch tests on 8.0, 8.4, 9.0, 9.1 and 9.2).
OLDEST = (8, 0)
NEWEST_TESTED = (9, 2)
_told_untested = False


def _check_pytest_version() -> None:
    """Refuse a pytest older than ``OLDEST``; on one newer than ``NEWEST_TESTED`` say so once
    (on stderr, not as a warning: a suite that turns warnings into errors must still run)."""
    version = compat.PYTEST
    if version < OLDEST:
        raise pytest.UsageError(
            f"hmr-ast pytest works with pytest {OLDEST[0]}.{OLDEST[1]} or newer; "
            f"this is pytest {pytest.__version__}: pip install 'pytest>={OLDEST[0]}.{OLDEST[1]}'"
        )
    global _told_untested
    if version[:2] > NEWEST_TESTED and not _told_untested:
        _told_untested = True
        sys.stderr.write(
            f"[hmr-ast] pytest {pytest.__version__} is newer than the newest release hmr-ast "
            f"was tested with ({NEWEST_TESTED[0]}.{NEWEST_TESTED[1]}); going on. If a rerun "
            "looks wrong, please report it.\n"
        )


def _refuse_xdist(options) -> None:
    """pytest-xdist runs the tests in other processes, where nothing of this one's warm
    modules and fixtures is: --hmr cannot work there, and says so before anything runs."""
    processes = getattr(options, "numprocesses", None)
    if processes not in (None, 0, "0") or getattr(options, "dist", "no") not in ("no", None):
        raise pytest.UsageError(
            "hmr-ast pytest keeps the tests warm in its own process, so it cannot hand them to "
            "pytest-xdist workers: drop -n/--dist (or add -n 0) when using --hmr"
        )
    if getattr(options, "tx", None):
        raise pytest.UsageError(
            "hmr-ast pytest keeps the tests warm in its own process, so it cannot hand them to "
            "pytest-xdist workers: drop --tx when using --hmr"
        )


def _install(config: pytest.Config) -> None:
    from ... import finder, runtime
    from ...config import scope_for
    from . import probed_code
    from .rewrite import assertion_pass
    from .watch import Watch

    scope = scope_for([str(config.rootpath)])
    finder.install(scope)
    finder.ast_pass = assertion_pass(config)
    if probed_code.wanted():  # what each test runs: a probe in each project function
        finder.ast_pass = probed_code.with_probes(finder.ast_pass)
    runtime.is_data_file = lambda path: scope.contains_dir(os.path.dirname(os.path.abspath(path)))
    keys = None
    try:
        if sys.stdin is not None and os.isatty(sys.stdin.fileno()):
            keys = os.dup(sys.stdin.fileno())
    except (OSError, ValueError):
        keys = None
    config.stash[_WATCH] = Watch(config, keys)


def _watch(config: pytest.Config):
    return config.stash.get(_WATCH, None)


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(collector):
    report = yield
    watch = _watch(collector.config)
    if watch is not None:
        watch.collected(collector, report)
    return report


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    watch = _watch(config)
    if watch is not None:
        config.pluginmanager.register(_Reports(watch), "hmr-ast-reports")


class _Reports:
    def __init__(self, watch) -> None:
        self.watch = watch

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        self.watch.logreport(report)

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(self, fixturedef, request):
        """What a fixture's setup runs is its own record: a cached value built by code an
        edit changes is built again."""
        with self.watch.fixture_setup(fixturedef) as codes:
            result = yield
        self.watch.fixture_ran(fixturedef, codes)
        return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtestloop(session: pytest.Session):
    watch = _watch(session.config)
    if watch is None or session.config.option.collectonly:
        return None
    return watch.run(session)


def pytest_unconfigure(config: pytest.Config) -> None:
    from ... import finder

    if _watch(config) is not None:
        finder.ast_pass = None
        finder.uninstall()
