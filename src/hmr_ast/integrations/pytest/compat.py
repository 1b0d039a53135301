"""pytest's private internals that the watch mode relies on, behind one small interface.

Keeping fixtures in step with rerun modules reaches under pytest's public API: where the
fixture manager stores ``FixtureDef`` objects, how a fixture function is marked, how one is
registered, and the terminal reporter's clock. Each of those changed in some release; every
function below has one branch per change, named by the release that made it. Supporting a new
release means a branch here and a version in ``tools/check``'s matrix, nowhere else.

The changes, oldest first:

- 8.1: ``FixtureManager._register_fixture`` registers one fixture (8.0 builds ``FixtureDef``
  by hand in ``parsefactories``).
- 8.4: a fixture is a ``FixtureFunctionDefinition`` object (before, the function itself with a
  ``_pytestfixturefunction`` marker); ``FixtureDef._autouse``; the reporter's clock is
  ``timing.Instant`` in ``_session_start`` (before, ``_sessionstarttime``, a float).
- 9.1: a ``FixtureDef`` belongs to the node that defined it (``FixtureDef.node``), registration
  by nodeid is deprecated (it warns), autouse names are kept per node, and collecting a test
  module again registers its fixtures again (the module is no longer remembered as seen).
- 9.2: the definitions are stored per name and per node (``_arg2node2fixturedefs``) instead of
  one list per name; the rootdir's conftest belongs to the session node.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import pytest


def _version(text: str) -> tuple[int, int, int]:
    numbers = []
    for part in text.split(".")[:3]:
        digits = ""
        for char in part:
            if not char.isdigit():
                break
            digits += char
        numbers.append(int(digits or 0))
        if digits != part:
            break
    while len(numbers) < 3:
        numbers.append(0)
    return numbers[0], numbers[1], numbers[2]


#: The running pytest's version, e.g. (9, 2, 0).
PYTEST = _version(pytest.__version__)

#: 9.1: fixtures belong to nodes, and a test module collected again registers them again.
FIXTURES_PER_NODE = PYTEST >= (9, 1)


class Fixture(NamedTuple):
    """A fixture found in a module: what ``@pytest.fixture`` was given, and its function."""

    name: str
    func: Any
    scope: Any
    params: Any
    ids: Any
    autouse: bool


def module_fixtures(module: ModuleType) -> list[Fixture]:
    """The fixtures a module defines at its top level."""
    found = []
    if PYTEST >= (8, 4):  # 8.4: FixtureFunctionDefinition
        from _pytest.fixtures import FixtureFunctionDefinition

        for attribute, obj in list(module.__dict__.items()):
            if type(obj) is FixtureFunctionDefinition:
                marker = obj._fixture_function_marker
                func = obj._get_wrapped_function()
                found.append(_fixture(attribute, marker, func))
    else:  # 8.0: the function itself, marked with _pytestfixturefunction
        from _pytest.compat import get_real_func
        from _pytest.fixtures import FixtureFunctionMarker, getfixturemarker

        for attribute, obj in list(module.__dict__.items()):
            marker = getfixturemarker(obj)
            if isinstance(marker, FixtureFunctionMarker):
                found.append(_fixture(attribute, marker, get_real_func(obj)))
    return found


def _fixture(attribute: str, marker, func) -> Fixture:
    return Fixture(
        marker.name or attribute, func, marker.scope, marker.params, marker.ids, marker.autouse
    )


def wrapped_function(value: object) -> object | None:
    """The function behind a fixture object found in a class's ``__dict__``, or None."""
    if PYTEST >= (8, 4):  # 8.4: FixtureFunctionDefinition
        unwrap = getattr(value, "_get_wrapped_function", None)
        return unwrap() if unwrap is not None else None
    from _pytest.compat import get_real_func  # 8.0
    from _pytest.fixtures import getfixturemarker

    raw = getattr(value, "__func__", value)
    return get_real_func(raw) if getfixturemarker(raw) is not None else None


# --- where definitions are stored --------------------------------------------------------


def _lists(manager) -> Iterator[list]:
    """Every list of ``FixtureDef`` the manager holds (mutable, in lookup order)."""
    if PYTEST >= (9, 2):  # 9.2: name -> node -> list, and name -> nodeid -> list (legacy)
        for by_node in manager._arg2node2fixturedefs.values():
            yield from by_node.values()
        for by_nodeid in manager._arg2nodeid2fixturedefs.values():
            yield from by_nodeid.values()
    else:  # 8.0: name -> list
        yield from manager._arg2fixturedefs.values()


def definitions(manager) -> list:
    """Every ``FixtureDef`` the manager holds."""
    return [definition for found in _lists(manager) for definition in found]


def owner_node(definition) -> object | None:
    """The node a definition belongs to (9.1), or None (before 9.1, and for plugins)."""
    return getattr(definition, "node", None) if FIXTURES_PER_NODE else None


def is_autouse(manager, definition) -> bool:
    if PYTEST >= (8, 4):  # 8.4: FixtureDef._autouse
        return bool(definition._autouse)
    names = manager._nodeid_autousenames.get(definition.baseid or "", ())  # 8.0
    return definition.argname in names


def autouse_lists(manager) -> Iterator[tuple[str, list[str]]]:
    """(nodeid, mutable list of autouse fixture names) for every node that has some."""
    if FIXTURES_PER_NODE:  # 9.1: kept per node, nodeid-keyed for legacy registrations
        for node, names in manager._node_autousenames.items():
            yield node.nodeid, names
    yield from manager._nodeid_autousenames.items()


def _autouse_list(manager, definition) -> list[str] | None:
    node = owner_node(definition)
    if node is not None:
        return manager._node_autousenames.get(node)
    return manager._nodeid_autousenames.get(definition.baseid or "")


def remove(manager, definition) -> None:
    """Take a definition out of the manager's tables (its autouse entry too)."""
    autouse = is_autouse(manager, definition)
    for found in _lists(manager):
        if definition in found:
            found.remove(definition)
    if autouse and not any(
        other.argname == definition.argname
        and other.baseid == definition.baseid
        and owner_node(other) is owner_node(definition)
        and is_autouse(manager, other)
        for other in definitions(manager)
    ):
        names = _autouse_list(manager, definition)
        while names is not None and definition.argname in names:
            names.remove(definition.argname)


def forget_node(manager, node) -> None:
    """9.1: drop the tables' entries for a node that is gone (a test module collected again)."""
    if PYTEST >= (9, 2):
        for by_node in manager._arg2node2fixturedefs.values():
            by_node.pop(node, None)
    if FIXTURES_PER_NODE:
        manager._node_autousenames.pop(node, None)


def replace(manager, new, old) -> None:
    """9.1: put ``old`` where ``new`` is in the tables, and make it belong to ``new``'s node
    (``new`` is dropped; ``old`` keeps its cached value)."""
    for found in _lists(manager):
        if old in found and new not in found:
            found.remove(old)
    for found in _lists(manager):
        if new in found:
            if old in found:
                found.remove(old)
            found[found.index(new)] = old
    object.__setattr__(old, "node", new.node)


def register(manager, fixture: Fixture, nodeid: str, node, replacing=None):
    """Register ``fixture`` as defined by ``node`` (nodeid ``nodeid``), in ``replacing``'s place
    when given; return the new ``FixtureDef``."""
    before = {id(d) for d in definitions(manager)}
    if FIXTURES_PER_NODE and node is not None:  # 9.1: by node (by nodeid warns)
        manager._register_fixture(
            name=fixture.name,
            func=fixture.func,
            node=node,
            scope=fixture.scope,
            params=fixture.params,
            ids=fixture.ids,
            autouse=fixture.autouse,
        )
    elif PYTEST >= (8, 1):  # 8.1: _register_fixture
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # 9.1: "Passing nodeid is deprecated"
            manager._register_fixture(
                name=fixture.name,
                func=fixture.func,
                nodeid=nodeid,
                scope=fixture.scope,
                params=fixture.params,
                ids=fixture.ids,
                autouse=fixture.autouse,
            )
    else:  # 8.0: what parsefactories does
        from _pytest.fixtures import FixtureDef

        definition = FixtureDef(
            fixturemanager=manager,
            baseid=nodeid,
            argname=fixture.name,
            func=fixture.func,
            scope=fixture.scope,
            params=fixture.params,
            unittest=False,
            ids=fixture.ids,
            _ispytest=True,
        )
        manager._arg2fixturedefs.setdefault(fixture.name, []).append(definition)
        if fixture.autouse:
            manager._nodeid_autousenames.setdefault(nodeid or "", []).append(fixture.name)
    new = next(d for d in reversed(definitions(manager)) if id(d) not in before)
    if replacing is not None:
        for found in _lists(manager):
            if new in found and replacing in found:
                found.remove(new)
                found.insert(found.index(replacing), new)
    return new


def dedupe_autouse(manager) -> None:
    """Each autouse name once per node (registering again may have added it twice)."""
    for _nodeid, names in autouse_lists(manager):
        names[:] = list(dict.fromkeys(names))


def conftest_node(session: pytest.Session, directory: Path):
    """The node a conftest in ``directory`` registers its fixtures under (9.1), or None."""
    if not FIXTURES_PER_NODE:
        return None
    root = Path(session.config.rootpath)
    if directory == root and PYTEST >= (9, 2):  # 9.2: the rootdir's conftest: the session
        return session
    for item in session.items:
        for node in item.listchain():
            if isinstance(node, pytest.Directory) and Path(node.path) == directory:
                return node
    return session


# --- --lf / --ff / --nf ------------------------------------------------------------------


def end_first_run_selection(config: pytest.Config) -> None:
    """``--lf``, ``--ff`` and ``--nf`` choose and order the first run only: from then on the
    watch chooses. Without this, a file collected again after its last failure passed would
    be skipped whole by ``--lf`` (no failure left in it). Same names from 8.0 to 9.2."""
    manager = config.pluginmanager
    for name in ("lfplugin-collskip", "lfplugin-collwrapper"):
        plugin = manager.get_plugin(name)
        if plugin is not None:
            manager.unregister(plugin)
    for name in ("lfplugin", "nfplugin"):
        plugin = manager.get_plugin(name)
        if plugin is not None:
            plugin.active = False


# --- the terminal reporter ---------------------------------------------------------------


def restart_reporter_clock(reporter) -> None:
    """Make the summary line's "in 0.12s" count from now: the start of this round."""
    from _pytest import timing

    if PYTEST >= (8, 4):  # 8.4: timing.Instant
        reporter._session_start = timing.Instant()
    else:  # 8.0: a float
        reporter._sessionstarttime = timing.time()
