"""Which project functions each test really ran, so an edit to one function reruns only the
tests that ran it.

The static reads (``affected_tests``) say what a test *may* reach: a test that parses a
document may reach every item class's ``as_string``, so an edit to a string-escaping helper
reached 1,196 of 1,203 tests where 9 ever ran it. When the engine patches a function or
class in place (the object stays, only code changed), a test that never ran the old code
cannot behave differently with the new one, since everything it ran is the same.

Recorded with ``sys.monitoring`` (Python 3.12+): ``PY_START`` and ``PY_RESUME`` events on
each project code object only (set per code object, so pytest's and the libraries' code cost
nothing), which disable themselves after their first call; each test re-arms the ones that
fired, by setting their events again. (``restart_events`` would re-arm them too, but it
makes every code object run afterwards check its instrumentation again, pytest's included:
a first run of tomlkit's suite cost ~10% more CPU that way, and it would re-arm other tools'
events as well.) One call per distinct project
function per test, nothing per further call. Python 3.10 and 3.11 have no such hook (a
trace or profile function slows every call), so there the static reads decide alone.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from types import CodeType, FunctionType

from ... import runtime
from ...changes import same_code
from .test_definitions import functions_of, same_data

#: A generator or coroutine resumed in a later test runs its code there too.
_EVENTS = (
    sys.monitoring.events.PY_START | sys.monitoring.events.PY_RESUME  # type: ignore[attr-defined]
    if hasattr(sys, "monitoring")
    else 0
)
_TOOL_IDS = (4, 3)  # free ones; 0-2 and 5 are the debugger, coverage, profiler, optimizer
_NAME = "hmr-ast pytest"


class ExecutedCode:
    """Records the project code objects run while ``recording`` is open."""

    def __init__(self) -> None:
        self.tool: int | None = None
        self.sink: set[CodeType] | None = None
        # by identity: equal code objects compare equal, but each needs its own events (a
        # class patched in place gives an unchanged method a new, equal code object)
        self.watched: dict[int, CodeType] = {}
        self.watched_modules: dict[str, int] = {}  # module -> the first recording it covers
        self.recordings = 0
        self._fired: dict[int, CodeType] = {}  # events disabled since last armed
        monitoring = getattr(sys, "monitoring", None)
        if monitoring is None:
            return
        for tool in _TOOL_IDS:
            if monitoring.get_tool(tool) is None:
                monitoring.use_tool_id(tool, _NAME)
                for event in (monitoring.events.PY_START, monitoring.events.PY_RESUME):
                    monitoring.register_callback(tool, event, self._started)
                self.tool = tool
                return

    @property
    def available(self) -> bool:
        return self.tool is not None

    def close(self) -> None:
        if self.tool is not None:
            monitoring = sys.monitoring  # type: ignore[attr-defined]
            for code in self.watched.values():
                monitoring.set_local_events(self.tool, code, 0)
            for event in (monitoring.events.PY_START, monitoring.events.PY_RESUME):
                monitoring.register_callback(self.tool, event, None)
            monitoring.free_tool_id(self.tool)
            self.tool = None

    def _started(self, code: CodeType, offset: int) -> object:
        sink = self.sink
        if sink is not None:
            sink.add(code)
        self._fired[id(code)] = code
        return sys.monitoring.DISABLE  # type: ignore[attr-defined]

    def _rearm(self) -> None:
        """Events that fired (and disabled themselves) fire again on their next call."""
        fired, self._fired = self._fired, {}
        set_events = sys.monitoring.set_local_events  # type: ignore[attr-defined]
        for code in fired.values():
            set_events(self.tool, code, 0)
            set_events(self.tool, code, _EVENTS)

    def watch_project_code(self) -> None:
        """Put the event on every project function's code (methods and nested code
        included) not watched yet: after collection, after each test and after each batch."""
        if self.tool is None:
            return
        monitoring = sys.monitoring  # type: ignore[attr-defined]
        event = _EVENTS
        for name, record in list(runtime.records.items()):
            namespace = record.namespace
            if namespace is None:
                continue
            if name not in self.watched_modules:
                self.watched_modules[name] = self.recordings
            for value in list(namespace.values()):
                for code in project_codes(value, name, record.path):
                    if id(code) not in self.watched:
                        self.watched[id(code)] = code
                        monitoring.set_local_events(self.tool, code, event)

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[CodeType]]:
        """The code run inside the block, also added to an enclosing recording's."""
        codes: set[CodeType] = set()
        if self.tool is None:
            yield codes
            return
        outer = self.sink
        self.sink = codes
        self.recordings += 1
        self._rearm()
        try:
            yield codes
        finally:
            self.sink = outer
            if outer is not None:
                outer |= codes


def project_codes(value: object, module: str, path: str, depth: int = 0) -> list[CodeType]:
    """The code objects of ``value`` (a function, or a class's methods) defined in
    ``module`` (file ``path``), nested code included, and of what a decorator wrapped."""
    found: list[CodeType] = []
    if depth > 3 or getattr(value, "__module__", None) != module:
        return found
    if isinstance(value, type):
        for member in list(vars(value).values()):
            found += project_codes(member, module, path, depth + 1)
        return found
    for function in functions_of(value):
        if function.__code__.co_filename == path:
            found += _nested(function.__code__)
        wrapped = function.__dict__.get("__wrapped__")
        if wrapped is not None:
            found += project_codes(wrapped, module, path, depth + 1)
        for cell in function.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            if isinstance(contents, FunctionType):
                found += project_codes(contents, module, path, depth + 1)
    return found


# --- what a patch in place changed -------------------------------------------------------


def shape(value: object) -> dict[str, tuple] | None:
    """What a patch in place can change in a function or a class (for ``changed_code``):
    each function's code and attributes, and a class's other members."""
    if isinstance(value, FunctionType):
        return {"": ("functions", FunctionType, (_function_shape(value),))}
    if not isinstance(value, type):
        return None
    members: dict[str, tuple] = {}
    for key, member in vars(value).items():
        if key in ("__dict__", "__weakref__", "__module__", "__firstlineno__"):
            continue
        functions = functions_of(member)
        if functions:
            members[key] = ("functions", type(member), tuple(map(_function_shape, functions)))
        elif not (key.startswith("__") and key.endswith("__") and not callable(member)):
            # (a dunder holding data is Python's bookkeeping, made again with the class:
            # ``__orig_bases__``, ``__parameters__``, ``__slotnames__`` that ``copy`` caches)
            members[key] = ("value", member)
    return members


def _function_shape(function: FunctionType) -> tuple:
    return (
        function.__code__,
        function.__doc__,
        function.__defaults__,
        function.__kwdefaults__,
        dict(function.__dict__),
    )


def changed_code(old: dict[str, tuple], new: dict[str, tuple]) -> set[CodeType] | None:
    """The old code objects (nested ones included) of the functions whose code a patch
    changed; None when anything else changed too (a member added or removed, a class
    attribute, a default, a docstring) or nothing did: then the static reads decide."""
    if old.keys() != new.keys():
        return None
    changed: set[CodeType] = set()
    for key, before in old.items():
        after = new[key]
        if before[0] != after[0]:
            return None
        if before[0] == "value":
            if not same_data(before[1], after[1]):
                return None
            continue
        if before[1] is not after[1] or len(before[2]) != len(after[2]):
            return None
        for was, now in zip(before[2], after[2]):
            if not same_data(was[1:], now[1:]):
                return None
            if not same_code(was[0], now[0]):
                changed.update(_nested(was[0]))
    return changed or None


def _nested(code: CodeType) -> list[CodeType]:
    """``code`` and the code nested in it: a list, since equal code objects compare equal
    and each needs its own events."""
    found = []
    stack = [code]
    while stack:
        current = stack.pop()
        found.append(current)
        stack.extend(c for c in current.co_consts if isinstance(c, CodeType))
    return found
