"""Which members of a class a call runs: whether an import-time call reaches an edited method.

``MODEL = Model.load()`` must not run again (and load the model for seconds) when only
``Model.predict`` changed: the class is patched in place, ``MODEL`` is an instance of it and
runs the new ``predict`` already. A call to a class, to one of its class or static methods,
or to a method of one of its instances, runs the members it names; they run what their code
names in turn (``self._check()``, ``cls()``). Only when that closure meets a member the
edit changed must the call run again.

Calls the code cannot name stay conservative: an edited dunder (``__eq__``, ``__hash__``,
``__repr__``...) runs wherever Python's syntax calls it, so any call into the class is taken
to reach it; ``__call__`` is the exception, as only calling an instance runs it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from types import CodeType, FunctionType

from .changes import same_value

#: What calling a class runs (``type.__call__``), and what Python calls on an instance by
#: itself while one is made or set up (``self.x = ...`` goes through ``__setattr__``).
CONSTRUCTION = frozenset(
    {
        "__new__",
        "__init__",
        "__post_init__",
        "__attrs_post_init__",
        "__setattr__",
        "__getattr__",
        "__getattribute__",
        "__set_name__",
    }
)
#: Class attributes Python keeps itself: not members an edit changes.
_INTERNALS = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"})
_MISSING = object()
#: Names through which a method can make an instance of its own class.
_MAKES_ITS_CLASS = frozenset({"type", "__class__", "copy", "deepcopy", "replace", "evolve"})


def changed_members(old: type, new: type) -> frozenset[str]:
    """Names of ``old``'s own members that ``new`` defines differently, adds or removes."""
    old_items, new_items = vars(old), vars(new)
    return frozenset(
        name
        for name in old_items.keys() | new_items.keys()
        if name not in _INTERNALS
        and not same_value(old_items.get(name, _MISSING), new_items.get(name, _MISSING))
    )


def _functions(member: object) -> Iterator[FunctionType]:
    if type(member) is FunctionType:
        yield member
    elif isinstance(member, (staticmethod, classmethod)):
        yield from _functions(member.__func__)
    elif isinstance(member, property):
        for part in (member.fget, member.fset, member.fdel):
            yield from _functions(part)


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names(const)


class CallReach:
    """What a call into ``cls`` (by the members in ``entry``) runs of the class's code."""

    def __init__(self, cls: type, entry: Iterable[str]) -> None:
        self.members: set[str] = set()  # member names reached
        self.globals: set[tuple[str, str]] = set()  # (module, name) the reached code reads
        self.constructs = False  # the reached code names the class itself
        mro = cls.__mro__
        pending = list(entry)
        while pending:
            name = pending.pop()
            if name in self.members:
                continue
            self.members.add(name)
            owner = next((klass for klass in mro if name in vars(klass)), None)
            if owner is None:
                continue
            member = vars(owner)[name]
            if isinstance(member, classmethod):
                pending.extend(CONSTRUCTION)  # ``cls(...)`` names no member
            for function in _functions(member):
                namespace = function.__globals__
                module = namespace.get("__name__", "")
                for used in _names(function.__code__):
                    if used in _MAKES_ITS_CLASS:
                        pending.extend(CONSTRUCTION)  # ``type(self)(...)``
                    if any(used in vars(klass) for klass in mro):
                        pending.append(used)
                    held = namespace.get(used, _MISSING)
                    if held is _MISSING:
                        continue
                    if isinstance(held, type) and held in mro:
                        self.constructs = True
                        pending.extend(CONSTRUCTION)
                    else:
                        self.globals.add((module, used))


def entry_members(value: object, rest: tuple[str, ...]) -> tuple[type, frozenset[str]] | None:
    """The class a call goes into and the members it calls there: ``Model()`` its
    construction, ``Model.load()`` ``load``, ``model.predict()`` ``predict``, ``model()``
    ``__call__``. None for a call further down (``Model.sub.f()``): not followed."""
    if len(rest) > 1:
        return None
    if isinstance(value, type):
        return value, frozenset(rest) if rest else CONSTRUCTION
    return type(value), frozenset(rest) if rest else frozenset({"__call__"})


def reaches_changed(cls: type, entry: frozenset[str], changed: dict[int, frozenset[str]]):
    """``(member, reach)``: an edited member of ``cls`` or its bases the call runs (None if
    none), and what it runs (``CallReach``), to follow the globals it reads."""
    edited = [changed[id(klass)] for klass in cls.__mro__ if id(klass) in changed]
    reach = CallReach(cls, entry)
    for members in edited:
        for name in sorted(members):
            if name in reach.members:
                return name, reach
            if name.startswith("__") and name.endswith("__") and name != "__call__":
                return name, reach  # Python's syntax calls it where no code names it
    return None, reach
