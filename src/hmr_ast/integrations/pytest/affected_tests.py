"""Which tests an edit can affect: the name nodes a test reads, and what a change reaches.

A test's code is never instrumented. What it reads is its function's static summary (the
``global.attr`` chains of its bytecode, resolved in its module), the members of its class it
names, its module's ``pytestmark``, and the same for every fixture in its closure.
A project function it calls reads more: the dependency graph has an edge from each function's
name node to what that function reads, so a change reaches a test through any chain of calls.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from types import FunctionType

from ... import runtime
from ...summaries import function_reads, node, value_reads
from .test_definitions import class_members


def changed_nodes(changed: dict[str, set[str]]) -> set[str]:
    """Name nodes for ``module -> names whose value changed`` (``import *`` included)."""
    nodes = {node(module, name) for module, names in changed.items() for name in names}
    nodes |= {node(module, runtime.STAR) for module, names in changed.items() if names}
    return nodes


def follow(reads, nodes: Iterable[str]) -> None:
    """Walk the ``reads`` graph forward from ``nodes``: a graph that works out a name's reads
    only once something reads it (``graph.Deferred``) then knows every path from a test's
    reads to a changed node, which ``reached`` walks backwards."""
    seen = set()
    stack = [name for name in nodes if name in reads]
    while stack:
        for target in reads.successors(stack.pop()):
            if target not in seen:
                seen.add(target)
                stack.append(target)


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


def function_of(obj: object) -> FunctionType | None:
    """The plain function of a test or fixture (a bound method's ``__func__``), or None."""
    obj = getattr(obj, "__func__", obj)
    return obj if isinstance(obj, FunctionType) else None


def code_reads(obj: object, into: set[str]) -> None:
    """The name nodes calling ``obj`` reads (a fixture's function, a test's)."""
    function = function_of(obj)
    if function is not None:
        function_reads(function, into)


def test_reads(item) -> set[str]:
    """Name nodes a pytest item depends on, fixtures (transitively) included.

    Not its class's node: that node reads what every method of the class reads, so an edit
    one test reaches would reach them all. The test reads what its own function reads, the
    class members it names (``self.helper``) and its module's ``pytestmark``; whether its own
    definition changed is ``test_definitions``' question."""
    into: set[str] = set()
    function = function_of(getattr(item, "function", None))
    if function is not None and runtime.record_for(function.__globals__) is not None:
        module = runtime.record_for(function.__globals__).name  # type: ignore[union-attr]
        into.add(node(module, "pytestmark"))
        function_reads(function, into)
        cls = getattr(item, "cls", None)
        if cls is None:  # its own node: it may be collected from a module importing it
            into.add(node(module, function.__name__))
        else:
            for value in class_members(cls, function).values():
                into |= _value_reads(value)
    for definition in fixture_definitions(item):
        code_reads(definition.func, into)
    into |= parameter_reads(item)
    return with_origins(into)


def parameter_reads(item) -> set[str]:
    """The project classes (and functions) a test's parameters are, or are instances of:
    ``@parametrize("bag", [Bag(...)])`` runs ``Bag``'s methods though no code of the test
    names ``Bag``. Lists, tuples, sets and dicts of them count too."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return set()
    found: set[str] = set()
    stack = list(callspec.params.values())
    seen = 0
    while stack and seen < 10_000:
        value = stack.pop()
        seen += 1
        if isinstance(value, (list, tuple, set, frozenset)):
            stack.extend(value)
            continue
        if isinstance(value, dict):
            stack.extend(value.values())
            continue
        if isinstance(value, FunctionType):
            candidates: tuple = (value,)
        else:
            candidates = value.__mro__ if isinstance(value, type) else type(value).__mro__
        for candidate in candidates:
            record = runtime.records.get(getattr(candidate, "__module__", None) or "")
            namespace = record.namespace if record is not None else None
            name = getattr(candidate, "__name__", "")
            if namespace is not None and namespace.get(name) is candidate:
                found.add(node(record.name, name))  # type: ignore[union-attr]
    return found


def own_node(item) -> str | None:
    """The name node of a module-level test function (``test_reads`` includes it, for a test
    collected from a module that imports it); None for a method or a non-Python test."""
    function = function_of(getattr(item, "function", None))
    if function is None or getattr(item, "cls", None) is not None:
        return None
    record = runtime.record_for(function.__globals__)
    return node(record.name, function.__name__) if record is not None else None


def _value_reads(value: object) -> set[str]:
    reads = value_reads(value)
    compute = getattr(reads, "compute", None)  # a graph.Deferred: worked out when needed
    return set(compute()) if compute is not None else set(reads)


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
