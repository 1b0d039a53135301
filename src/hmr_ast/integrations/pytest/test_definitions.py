"""Did a test's own definition change when its module reran?

When the engine reruns a test module's statements, a test class can come back as a new object
even though its text did not change (a method of it reads a name that changed). Counting every
test of such a class as affected reran hundreds of tests for one edit. Instead each test's
definition is taken before the batch and compared with the one collected after it: its
function's code, its marks, its parameters, and the class members it can see. A test whose
definition is the same is affected only by what it reads (``affected_tests``).
"""

from __future__ import annotations

import datetime
import decimal
import fractions
import io
import pathlib
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from types import CodeType, FunctionType

from ...changes import same_code, same_value
from ...patching import functions_of

_PLAIN = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))
#: Immutable standard-library values: equal when their reprs are (a timezone is in it).
_VALUES = (
    datetime.date,
    datetime.time,
    datetime.timedelta,
    datetime.tzinfo,
    decimal.Decimal,
    fractions.Fraction,
    uuid.UUID,
    pathlib.PurePath,
    range,
)
_DEPTH = 6


@dataclass(frozen=True)
class Definition:
    """What a collected test is made of, taken while its objects are still the old ones."""

    code: CodeType | None
    defaults: object
    marks: tuple
    params: tuple
    members: tuple  # (name, codes or value) of its class and project base classes


def definition(item) -> Definition:
    function = getattr(getattr(item, "function", None), "__func__", None) or getattr(
        item, "function", None
    )
    code = function.__code__ if isinstance(function, FunctionType) else None
    defaults = function.__defaults__ if isinstance(function, FunctionType) else None
    marks = tuple(map(_mark, _markers(item)))
    callspec = getattr(item, "callspec", None)
    params = tuple(sorted(callspec.params.items())) if callspec is not None else ()
    cls = getattr(item, "cls", None)
    members = ()
    if cls is not None and isinstance(function, FunctionType):
        members = tuple(sorted((k, _shape(v)) for k, v in class_members(cls, function).items()))
    return Definition(code, defaults, marks, params, members)


def _mark(mark) -> tuple:
    """A mark as data; a ``parametrize`` mark without its values: the test's own parameters
    are compared, not its siblings' (one of which may hold the time of collection)."""
    args = mark.args[:1] if mark.name == "parametrize" else mark.args
    return (mark.name, args, tuple(sorted(mark.kwargs.items())))


def _markers(item) -> list:
    try:
        return list(item.iter_markers())
    except Exception:  # noqa: BLE001 - a broken mark makes the test "changed", not a crash
        return [object()]


#: Members pytest itself calls on a test class (xunit-style setup and teardown).
_XUNIT = frozenset(
    {"setup_method", "teardown_method", "setup_class", "teardown_class", "setup", "teardown"}
)


def class_members(cls: type, function: FunctionType) -> dict[str, object]:
    """The members of a test's class (its bases' too) that the test can use: those its code
    names (``self.helper``, ``getattr(self, "x")``), what those name in turn, special methods
    and xunit setup. Its sibling tests are left out unless it names them."""
    members: dict[str, object] = {}
    for klass in cls.__mro__:
        if klass is object:
            continue
        for name, value in vars(klass).items():
            members.setdefault(name, value)
    wanted = set(_XUNIT) | {n for n in members if n.startswith("__") and n.endswith("__")}
    stack = list(wanted | names_in(function.__code__))
    found: dict[str, object] = {}
    while stack:
        name = stack.pop()
        if name in found or name not in members:
            continue
        value = found[name] = members[name]
        for part in functions_of(value):
            stack.extend(names_in(part.__code__))
    for name in ("__dict__", "__weakref__", "__module__", "__firstlineno__", "__doc__"):
        found.pop(name, None)
    return found


def names_in(code: CodeType) -> set[str]:
    """Attribute and global names ``code`` (nested code included) uses, and its strings."""
    names: set[str] = set()
    stack = [code]
    while stack:
        current = stack.pop()
        names.update(current.co_names)
        for const in current.co_consts:
            if isinstance(const, CodeType):
                stack.append(const)
            elif isinstance(const, str):
                names.add(const)
    return names


def _shape(value: object) -> object:
    functions = functions_of(value)
    if functions:
        return tuple((f.__code__, f.__defaults__) for f in functions)
    return value


def same_definition(old: Definition, new: Definition) -> bool:
    if (old.code is None) != (new.code is None):
        return False
    if old.code is not None and not same_code(old.code, new.code):  # type: ignore[arg-type]
        return False
    return (
        same_data(old.defaults, new.defaults)
        and same_data(old.marks, new.marks)
        and same_data(old.params, new.params)
        and same_data(old.members, new.members)
    )


def same_data(old: object, new: object, depth: int = 0) -> bool:
    """The same object, or equal plain data (tuples, lists, dicts, sets of it), or functions
    and classes the engine counts as unchanged. Anything else is a different value: a test
    holding it may behave differently."""
    if old is new:
        return True
    if depth > _DEPTH or type(old) is not type(new):
        return False
    if isinstance(old, CodeType):
        return same_code(old, new)  # type: ignore[arg-type]
    if isinstance(old, _PLAIN):
        return same_value(old, new)
    if isinstance(old, (tuple, list)):
        return len(old) == len(new) and all(  # type: ignore[arg-type]
            same_data(a, b, depth + 1)
            for a, b in zip(old, new)  # type: ignore[call-overload]
        )
    if isinstance(old, dict):
        return old.keys() == new.keys() and all(  # type: ignore[attr-defined]
            same_data(old[k], new[k], depth + 1)  # type: ignore[index]
            for k in old
        )
    if isinstance(old, (set, frozenset)):
        return all(isinstance(v, _PLAIN) for v in old) and old == new
    if isinstance(old, _VALUES):
        return repr(old) == repr(new)
    return same_value(old, new)


def _iterator(value: object) -> bool:
    """An iterator a run consumes (a generator, ``iter(...)``, ``map``), not a file."""
    return isinstance(value, Iterator) and not isinstance(value, io.IOBase)


def holds_iterators(namespace: dict) -> bool:
    """Whether a module holds an iterator at top level (``gen = (x for x in ...)``)."""
    return any(_iterator(value) for value in list(namespace.values()))


def iterator_params(item) -> bool:
    """Whether a test's parameters hold an iterator (in a list, tuple or dict too)."""
    callspec = getattr(item, "callspec", None)
    if callspec is None:
        return False
    stack = list(callspec.params.values())
    while stack:
        value = stack.pop()
        if _iterator(value):
            return True
        if isinstance(value, (list, tuple)):
            stack.extend(value)
        elif isinstance(value, dict):
            stack.extend(value.values())
    return False
