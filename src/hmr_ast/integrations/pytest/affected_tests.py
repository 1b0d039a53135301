"""Which tests an edit can affect: the name nodes a test reads, and what a change reaches.

A test's code is never instrumented. What it reads is its function's static summary (the
``global.attr`` chains of its bytecode, resolved in its module), the functions and classes it
defines in (itself, its class, ``pytestmark``) and the same for every fixture in its closure.
A project function it calls reads more: the dependency graph has an edge from each function's
name node to what that function reads, so a change reaches a test through any chain of calls.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import FunctionType

from ... import runtime
from ...summaries import function_reads, node


def changed_nodes(changed: dict[str, set[str]]) -> set[str]:
    """Name nodes for ``module -> names whose value changed`` (``import *`` included)."""
    nodes = {node(module, name) for module, names in changed.items() for name in names}
    nodes |= {node(module, runtime.STAR) for module, names in changed.items() if names}
    return nodes


def reached(reads, changed: Iterable[str]) -> set[str]:
    """Every node of the ``reads`` graph that reads a changed node, directly or through others
    (name nodes included, unlike ``DependencyGraph.dependents``), and the changed nodes."""
    found = set(changed)
    stack = [name for name in found if name in reads]
    while stack:
        for reader in reads.predecessors(stack.pop()):
            if reader not in found:
                found.add(reader)
                stack.append(reader)
    return found


def _function(obj: object) -> FunctionType | None:
    obj = getattr(obj, "__func__", obj)
    return obj if isinstance(obj, FunctionType) else None


def code_reads(obj: object, into: set[str], defined_as: bool = True) -> None:
    """The name nodes calling ``obj`` reads, and (``defined_as``) the node it is defined as.

    A fixture leaves its own node out: its module binds a new wrapper each time it reruns,
    and whether the fixture really changed is decided by ``pytest_fixtures`` instead."""
    function = _function(obj)
    if function is None:
        return
    record = runtime.record_for(function.__globals__)
    if record is None:
        return  # not project code: it does not change while we watch
    if defined_as:
        into.add(node(record.name, function.__qualname__.split(".")[0]))
        into.add(node(record.name, "pytestmark"))
    function_reads(function, into)


def test_reads(item) -> set[str]:
    """Name nodes a pytest item depends on, fixtures (transitively) included."""
    into: set[str] = set()
    code_reads(getattr(item, "function", None), into)
    for definition in fixture_definitions(item):
        code_reads(definition.func, into, defined_as=False)
    return with_origins(into)


_MISSING = object()


def with_origins(nodes: set[str]) -> set[str]:
    """``nodes`` and, for each name a module got by ``from m import name`` (aliases too), the
    node it came from, transitively. The graph links such a name to its origin only when
    import-time code reads it, and test functions are not import-time code: without this a
    test calling ``f`` after ``from lib import f`` would not see an edit to ``lib.f``."""
    found = set(nodes)
    stack = list(nodes)
    while stack:
        module, _, name = stack.pop().rpartition(":")
        record = runtime.records.get(module)
        namespace = record.namespace if record is not None else None
        if namespace is None:
            continue
        value = namespace.get(name, _MISSING)
        if value is _MISSING:
            continue
        for source_name, read in list(record.reads):
            if source_name == module or read in (runtime.STAR, runtime.GETATTR):
                continue
            source = sys.modules.get(source_name)
            if read != name and (
                source is None or source.__dict__.get(read, _MISSING) is not value
            ):
                continue
            origin = node(source_name, read)
            if origin not in found:
                found.add(origin)
                stack.append(origin)
    return found


def fixture_definitions(item) -> list:
    """Every fixture definition an item's closure may use (overridden ones too)."""
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return []
    return [
        definition
        for name in item.fixturenames
        for definition in info.name2fixturedefs.get(name, ())
    ]
