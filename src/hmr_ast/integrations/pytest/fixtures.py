"""Keep pytest's fixture definitions in step with the modules the engine reran.

pytest reads a module's fixtures once (``FixtureManager.parsefactories``) and keeps a
``FixtureDef`` per fixture, holding its function and its cached value. After a conftest or
test module reran in place, each fixture whose function, scope, params or autouse is the same
keeps its ``FixtureDef`` (so a session-scoped database is not rebuilt); a changed one gets a
new ``FixtureDef`` in the old one's place, and the old one is torn down.
"""

from __future__ import annotations

from types import ModuleType

from ...changes import same_value

_XUNIT = "_xunit_setup_"


def _raw(func: object) -> object:
    return getattr(func, "__func__", func)


def _same(definition, marker, func) -> bool:
    return (
        same_value(_raw(definition.func), _raw(func))
        and definition.scope == marker.scope
        and definition.params == marker.params
        and definition.ids == marker.ids
        and bool(definition._autouse) == bool(marker.autouse)
    )


def _module_fixtures(module: ModuleType) -> list[tuple[str, object, object]]:
    from _pytest.fixtures import FixtureFunctionDefinition

    found = []
    for attribute in dir(module):
        obj = module.__dict__.get(attribute)
        if type(obj) is FixtureFunctionDefinition:
            marker = obj._fixture_function_marker
            found.append((marker.name or attribute, marker, obj._get_wrapped_function()))
    return found


def tear_down(definition) -> None:
    """Finish a fixture's cached value (its finalizers, and those of fixtures built on it)."""
    while definition._finalizers:
        finalizer = definition._finalizers.pop()
        try:
            finalizer()
        except Exception:  # noqa: BLE001 - a failing teardown must not stop the watch
            pass
    definition.cached_result = None


def refresh_module(manager, module: ModuleType, nodeid: str | None) -> set:
    """Bring the module-level fixtures of ``module`` (registered under ``nodeid``) up to date.
    Returns the new ``FixtureDef`` objects: tests using them must rerun."""
    table = manager._arg2fixturedefs
    old = [
        definition
        for definitions in table.values()
        for definition in definitions
        if definition.baseid == (nodeid or "")
        and getattr(_raw(definition.func), "__globals__", None) is module.__dict__
    ]
    kept: set = set()
    fresh: set = set()
    for argname, marker, func in _module_fixtures(module):
        match = next(
            (d for d in old if d not in kept and d.argname == argname and _same(d, marker, func)),
            None,
        )
        if match is not None:
            kept.add(match)
            continue
        manager._register_fixture(
            name=argname,
            nodeid=nodeid or "",
            func=func,
            scope=marker.scope,
            params=marker.params,
            ids=marker.ids,
            autouse=marker.autouse,
        )
        definitions = table[argname]
        new = definitions.pop()
        replaced = next((d for d in old if d.argname == argname and d not in kept), None)
        position = definitions.index(replaced) if replaced in definitions else len(definitions)
        definitions.insert(position, new)
        fresh.add(new)
    for definition in old:
        if definition not in kept:
            _drop(manager, definition)
    _dedupe_autouse(manager, nodeid or "")
    return fresh


def _drop(manager, definition) -> None:
    definitions = manager._arg2fixturedefs.get(definition.argname, [])
    if definition in definitions:
        definitions.remove(definition)
    tear_down(definition)
    key = definition.baseid or ""
    if definition._autouse and not any(
        d._autouse and d.baseid == definition.baseid for d in definitions
    ):
        names = manager._nodeid_autousenames.get(key, [])
        while definition.argname in names:
            names.remove(definition.argname)


def _dedupe_autouse(manager, nodeid: str) -> None:
    names = manager._nodeid_autousenames.get(nodeid)
    if names:
        names[:] = list(dict.fromkeys(names))


def forget_collected(manager, module: ModuleType, nodeid: str) -> None:
    """Before a test module is collected again: drop what collecting it registered besides
    its module-level fixtures (xunit ``setup_*`` fixtures, fixtures of classes that changed),
    so that collecting it again does not register them twice."""
    inner = nodeid + "::"
    for definitions in list(manager._arg2fixturedefs.values()):
        for definition in list(definitions):
            base = definition.baseid or ""
            if base != nodeid and not base.startswith(inner):
                continue
            if definition.argname.startswith(_XUNIT) or (
                base.startswith(inner) and not _still_defined(module, definition)
            ):
                _drop(manager, definition)
    for key in [k for k in manager._nodeid_autousenames if k == nodeid or k.startswith(inner)]:
        names = manager._nodeid_autousenames[key]
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
    wrapped = getattr(value, "_get_wrapped_function", None)
    return wrapped is not None and _raw(wrapped()) is func
