"""Which tests rerun after a batch: the static reads, refined by what each test really ran.

Taken before the batch (``Before``): each test's definition and the shape of every function
and class the edited modules define. After it, a name the engine patched in place whose
only change is code (``patched_code.changed_code``) no longer reaches tests through the
static reads: a test reruns if it ran the old code (its ``probed_code`` record) and, where
its record cannot tell (probes off, a module imported before them, a test not run yet), if
its code followed member by member runs it (``static_reach``). Every other changed name
reaches tests as before.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import CodeType

from ... import runtime
from .affected_tests import changed_nodes, follow, reached
from .patched_code import changed_code, shape
from .probed_code import key as probe_key
from .probed_code import key_name
from .static_reach import UNKNOWN
from .test_definitions import Definition, definition


@dataclass
class Before:
    """What a batch may change, taken before it runs."""

    shapes: dict[tuple[str, str], dict] = field(default_factory=dict)
    definitions: dict[str, Definition] = field(default_factory=dict)


def take_before(modules: set[str], items: list) -> Before:
    before = Before()
    for name in modules:
        record = runtime.records.get(name)
        namespace = record.namespace if record is not None else None
        if namespace is None:
            continue
        for key, value in list(namespace.items()):
            if getattr(value, "__module__", None) == name:
                taken = shape(value)
                if taken is not None:
                    before.shapes[(name, key)] = taken
    for item in items:
        before.definitions[item.nodeid] = definition(item)
    return before


@dataclass
class Reach:
    """What a batch's changes reach: name nodes through static reads (``affected``, and
    ``affected_all`` with the code-only patches counted too), and the old code of
    code-only patches (``codes``, defined in ``code_modules``)."""

    affected: set[str]
    affected_all: set[str]
    codes: set[CodeType]
    code_modules: set[str]

    def __post_init__(self) -> None:
        self.keys = {probe_key(*code_key(code)) for code in self.codes}  # as probes record

    def why(self, reads: set[str], ran: tuple[int, set[str]] | None, covers, follow=None) -> str:
        """Why a test (or fixture) with static ``reads`` that ran ``ran`` (recording number,
        the keys its probes recorded) is reached, or "" if it is not; ``covers(number,
        module)`` says whether that recording saw the module's code. Where no record tells,
        ``follow()`` (``static_reach``) follows its code to what it runs."""
        hit = self.affected & reads
        if hit:
            return f"reads {min(hit)}, which reaches what changed"
        if not self.codes:
            return ""
        if ran is not None and all(covers(ran[0], m) for m in self.code_modules):
            hit = self.keys & ran[1]
            return f"ran {key_name(min(hit))}, whose code changed" if hit else ""
        if follow is not None:
            found = follow()
            if found is not UNKNOWN:
                return f"runs {found}, whose code changed (followed from its code)" if found else ""
        hit = self.affected_all & reads
        return f"reads {min(hit)} (what it ran is not known)" if hit else ""


def reach(graph_reads, outcome, before: Before, read: set[str]) -> Reach:
    """``read``: every node the tests and fixtures read."""
    follow(graph_reads, read)
    everything = changed_nodes(outcome.changed)
    affected_all = reached(graph_reads, everything)
    by_object: dict[int, tuple[set[CodeType], str]] = {}
    for module, names in outcome.patched.items():
        namespace = _namespace(module)
        for name in names:
            old = before.shapes.get((module, name))
            value = namespace.get(name)
            new = shape(value) if old is not None else None
            codes = changed_code(old, new) if old is not None and new is not None else None
            if codes:
                by_object[id(value)] = (codes, module)
    if not by_object:
        return Reach(affected_all, affected_all, set(), set())
    rest: dict[str, set[str]] = {}
    codes: set[CodeType] = set()
    code_modules: set[str] = set()
    for module, names in outcome.changed.items():
        namespace = _namespace(module)
        kept = set()
        for name in names:
            found = by_object.get(id(namespace.get(name, rest)))
            if found is not None and name in outcome.patched.get(module, ()):
                codes |= found[0]
                code_modules.add(found[1])
            else:
                kept.add(name)
        rest[module] = kept
    affected = reached(graph_reads, changed_nodes(rest))
    return Reach(affected, affected_all, codes, code_modules)


def code_key(code: CodeType) -> tuple[str, str]:
    """Which function a code object is, across patches: a class patched in place gives
    every method a new code object (an equal one, or one moved by lines), so what a test
    ran is matched by file and qualified name, never by identity. Two functions of one
    file with one qualified name match each other: more reruns, never fewer. (A probe's
    record, ``probed_code``, holds ``probe_key`` of it.)"""
    return code.co_filename, getattr(code, "co_qualname", code.co_name)


def _namespace(module: str) -> dict:
    record = runtime.records.get(module)
    return (record.namespace if record is not None else None) or {}
