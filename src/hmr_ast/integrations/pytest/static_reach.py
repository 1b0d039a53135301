"""Whether a test runs code patched in place, judged from its code where no record says
what it ran (``HMR_AST_NO_PROBES``, a test not run yet, or one whose record does not cover
the module).

The graph's name-level reads make a test that uses a class reach every method of it, and
what they call. ``class_calls.CallReach`` follows the test's own code member by member: its
function (and its class's members it names), its fixtures' functions, and the classes of
its parameters and fixture values, to the first edited member or patched function.
"""

from __future__ import annotations

from ... import runtime
from ...class_calls import CallReach
from .affected_tests import fixture_definitions, function_of

#: The test's code could not be followed: the static reads decide.
UNKNOWN = object()


def runs_patched(item, patched_members: dict, patched_objects: set[int]):
    """``"Class.member"`` or ``"function"`` the item runs whose code changed, None if it
    runs none, ``UNKNOWN`` if its code cannot be followed."""
    function = function_of(getattr(item, "function", None))
    if function is None or not runtime.is_project(function.__module__ or ""):
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
        fixture = function_of(definition.func)
        if fixture is not None and runtime.is_project(fixture.__module__ or ""):
            starts.append((fixture, ""))
        cached = getattr(definition, "cached_result", None)
        if cached is not None:
            held.append(cached[0])
    return _follow(starts, held, patched_members, patched_objects)


def fixture_runs_patched(definition, patched_members: dict, patched_objects: set[int]):
    """The same for a fixture: what its own function runs."""
    function = function_of(definition.func)
    if function is None or not runtime.is_project(function.__module__ or ""):
        return UNKNOWN
    return _follow([(function, "")], [], patched_members, patched_objects)


def _follow(starts: list, held: list, patched_members: dict, patched_objects: set[int]):
    reach = CallReach(runtime.is_project, patched_members, patched_objects).run(starts, held)
    return reach.hit
