"""Whether a test runs code patched in place, judged from its code where no record says
what it ran (``HMR_AST_NO_PROBES``, a test not run yet, or one whose record does not cover
the module).

The graph's name-level reads make a test that uses a class reach every method of it, and
what they call. ``class_calls.CallReach`` follows the test's own code member by member: its
function (and its class's members it names), its fixtures' functions, and the classes of
its parameters and fixture values, to the first edited member or patched function.
"""

from __future__ import annotations

from types import FunctionType

from ... import runtime
from ...class_calls import CallReach
from .affected_tests import fixture_definitions

#: The test's code could not be followed: the static reads decide.
UNKNOWN = object()


def _project(module: str) -> bool:
    return module in runtime.records


def _function(obj: object) -> FunctionType | None:
    obj = getattr(obj, "__func__", obj)
    return obj if type(obj) is FunctionType else None


def runs_patched(item, patched_members: dict, patched_objects: set[int]):
    """``"Class.member"`` or ``"function"`` the item runs whose code changed, None if it
    runs none, ``UNKNOWN`` if its code cannot be followed."""
    function = _function(getattr(item, "function", None))
    if function is None or not _project(function.__module__ or ""):
        return UNKNOWN
    cls = getattr(item, "cls", None)
    starts: list[tuple[object, str]] = [
        (cls, function.__name__) if cls is not None else (function, "")
    ]
    held: list[object] = []
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        held.extend(callspec.params.values())
    for definition in fixture_definitions(item):
        fixture = _function(definition.func)
        if fixture is not None and _project(fixture.__module__ or ""):
            starts.append((fixture, ""))
        cached = getattr(definition, "cached_result", None)
        if cached is not None:
            held.append(cached[0])
    reach = CallReach(_project, patched_members, patched_objects).run(starts, held)
    return reach.hit
