"""Keep pytest's fixture definitions in step with the modules the engine reran.

pytest reads a module's fixtures (``FixtureManager.parsefactories``) and keeps a ``FixtureDef``
per fixture, holding its function and its cached value. After a conftest or test module reran
in place, each fixture whose function, scope, params or autouse is the same keeps its cached
value (so a session-scoped database is not rebuilt); a changed one gets a new ``FixtureDef``
in the old one's place, and the old one is torn down. pytest's tables are reached through
``compat`` only.
"""

from __future__ import annotations

from types import ModuleType

from ...changes import same_value
from . import compat

_XUNIT = "_xunit_setup_"


def _raw(func: object) -> object:
    return getattr(func, "__func__", func)


def _same(manager, definition, fixture: compat.Fixture) -> bool:
    return (
        same_value(_raw(definition.func), _raw(fixture.func))
        and definition.scope == fixture.scope
        and definition.params == fixture.params
        and definition.ids == fixture.ids
        and compat.is_autouse(manager, definition) == bool(fixture.autouse)
    )


def _same_definition(manager, old, new) -> bool:
    return (
        old.argname == new.argname
        and _raw(old.func).__qualname__ == _raw(new.func).__qualname__
        and same_value(_raw(old.func), _raw(new.func))
        and old.scope == new.scope
        and old.params == new.params
        and old.ids == new.ids
        and compat.is_autouse(manager, old) == compat.is_autouse(manager, new)
    )


def tear_down(definition) -> None:
    """Finish a fixture's cached value (its finalizers, and those of fixtures built on it)."""
    while definition._finalizers:
        finalizer = definition._finalizers.pop()
        try:
            finalizer()
        except Exception:  # noqa: BLE001 - a failing teardown must not stop the watch
            pass
    definition.cached_result = None


def refresh_module(manager, module: ModuleType, nodeid: str | None, node=None) -> set:
    """Bring the module-level fixtures of ``module`` (registered under ``nodeid``, or under
    ``node`` from pytest 9.1) up to date. Returns the new ``FixtureDef`` objects: tests using
    them must rerun."""
    old = [
        definition
        for definition in compat.definitions(manager)
        if (
            definition.baseid == (nodeid or "")
            or (node is not None and compat.owner_node(definition) is node)
        )
        and getattr(_raw(definition.func), "__globals__", None) is module.__dict__
    ]
    kept: set = set()
    fresh: set = set()
    for fixture in compat.module_fixtures(module):
        match = next(
            (
                d
                for d in old
                if d not in kept and d.argname == fixture.name and _same(manager, d, fixture)
            ),
            None,
        )
        if match is not None:
            kept.add(match)
            continue
        replaced = next((d for d in old if d.argname == fixture.name and d not in kept), None)
        node_of = compat.owner_node(replaced) if replaced is not None else node
        fresh.add(compat.register(manager, fixture, nodeid or "", node_of, replaced))
    for definition in old:
        if definition not in kept:
            compat.remove(manager, definition)
            tear_down(definition)
    compat.dedupe_autouse(manager)
    return fresh


def under(definition, collector) -> bool:
    """Whether a definition belongs to ``collector`` or a node inside it (pytest 9.1)."""
    node = compat.owner_node(definition)
    while node is not None:
        if node is collector:
            return True
        node = getattr(node, "parent", None)
    return False


def adopt(manager, old: list, collector, items: list) -> set:
    """pytest 9.1: a test module collected again registered its fixtures again, under the new
    ``collector``. Where a new definition equals an old one, the old one (with its cached
    value, and its teardown registered with pytest) takes the new one's place, in the tables
    and in ``items``; the other old definitions are torn down. Returns the new definitions
    that differ from every old one: tests using them must rerun."""
    fresh: set = set()
    left = list(old)
    kept: dict = {}
    gone = {compat.owner_node(d) for d in old} - {None}
    for new in [d for d in compat.definitions(manager) if under(d, collector)]:
        match = next((d for d in left if _same_definition(manager, d, new)), None)
        if match is None:
            fresh.add(new)
            continue
        left.remove(match)
        compat.replace(manager, new, match)
        kept[new] = match
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        table = getattr(info, "name2fixturedefs", None)
        if not table:
            continue
        for name, found in list(table.items()):
            if any(d in kept for d in found):
                table[name] = tuple(kept.get(d, d) for d in found)
    for definition in left:
        compat.remove(manager, definition)
        tear_down(definition)
    for node in gone:
        compat.forget_node(manager, node)
    return fresh


def forget_collected(manager, module: ModuleType, nodeid: str) -> None:
    """Before a test module is collected again (pytest before 9.1): drop what collecting it
    registered besides its module-level fixtures (xunit ``setup_*`` fixtures, fixtures of
    classes that changed), so that collecting it again does not register them twice."""
    inner = nodeid + "::"
    for definition in compat.definitions(manager):
        base = definition.baseid or ""
        if base != nodeid and not base.startswith(inner):
            continue
        if definition.argname.startswith(_XUNIT) or (
            base.startswith(inner) and not _still_defined(module, definition)
        ):
            compat.remove(manager, definition)
            tear_down(definition)
    for key, names in compat.autouse_lists(manager):
        if key == nodeid or key.startswith(inner):
            names[:] = [n for n in dict.fromkeys(names) if not n.startswith(_XUNIT)]


def _still_defined(module: ModuleType, definition) -> bool:
    """Whether a class-level fixture's function is still what its class holds (then the
    class was kept, and pytest will not read it again)."""
    func = _raw(definition.func)
    path = getattr(func, "__qualname__", "").split(".")
    holder: object = module
    for part in path[:-1]:
        holder = getattr(holder, part, None)
        if holder is None:
            return False
    value = getattr(holder, "__dict__", {}).get(func.__name__)  # type: ignore[union-attr]
    wrapped = compat.wrapped_function(value)
    return wrapped is not None and _raw(wrapped) is func
