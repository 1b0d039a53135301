"""Which members of a class a call runs: whether an import-time call reaches an edited method.

``MODEL = Model.load()`` must not run again (and load the model for seconds) when only
``Model.predict`` changed: the class is patched in place, ``MODEL`` is an instance of it and
runs the new ``predict`` already. A call to a class, to one of its class or static methods,
or to a method of one of its instances, runs the members it names; they run what their code
names in turn (``self._check()``, ``cls()``). Only when that closure meets a member the
edit changed must the call run again.

Calls the code cannot name stay conservative: an edited dunder (``__eq__``, ``__hash__``,
``__repr__``, ``__call__``...) runs wherever Python's syntax calls it (``validator(value)``
calls a validator's ``__call__`` through a local name), so any call into the class is taken
to reach it.
"""

from __future__ import annotations

from abc import ABCMeta
from collections.abc import Iterable, Iterator
from functools import partial
from types import CodeType, FunctionType, MethodType, ModuleType

from .changes import same_value
from .patching import functions_of

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
#: Metaclasses whose ``__call__`` runs only ``__new__`` and ``__init__``.
PLAIN_METACLASSES = (type, ABCMeta)
#: Class attributes Python keeps itself: not members an edit changes.
_INTERNALS = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__", "__doc__"})
_MISSING = object()
#: How many objects a walk of what a value holds looks at.
_HOLD_LIMIT = 512
#: Names through which a method can make an instance of its own class.
_MAKES_ITS_CLASS = frozenset({"type", "__class__", "copy", "deepcopy", "replace", "evolve"})


def changed_members(old: type, new: type) -> frozenset[str]:
    """Names of ``old``'s own members that ``new`` defines differently, adds or removes
    (the implicit dunders Python makes, such as ``__orig_bases__``, compare by ``==``)."""
    old_items, new_items = vars(old), vars(new)
    return frozenset(
        name
        for name in old_items.keys() | new_items.keys()
        if name not in _INTERNALS
        and _counts(name, old_items.get(name, _MISSING), new_items.get(name, _MISSING))
    )


def _counts(name: str, old: object, new: object) -> bool:
    """Whether a member changed in a way code can tell. A dunder that holds data is Python's
    bookkeeping (``__slotnames__`` cached by ``copy``, ``__orig_bases__``, ``__parameters__``
    made again by ``typing``): only dunder methods count."""
    if _same_member(old, new):
        return False
    if name.startswith("__") and name.endswith("__"):
        return _is_code(old) or _is_code(new)
    return True


def _is_code(value: object) -> bool:
    return value is not _MISSING and (callable(value) or bool(functions_of(value)))


def _same_member(old: object, new: object) -> bool:
    if same_value(old, new):
        return True
    if callable(old) or callable(new) or _MISSING in (old, new):
        return False
    try:
        return (old == new) is True  # ``(Field[str],)``: typing's aliases compare so
    except Exception:  # noqa: BLE001 - an __eq__ that fails says nothing
        return False


def _names(code: CodeType) -> Iterator[str]:
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield from _names(const)


class CallReach:
    """What a call runs of the project's code, followed through the names that code uses.

    Methods are found by name, as the code cannot say which class an object is: every
    class the code makes, names or gets as a global (``Length(...)``, ``DEFAULT.check``)
    is in play, and a member of a class in play runs once any code that runs names it
    (``self._check()``, ``parse(text).as_string()``). Module-level functions it names run
    too. It stops at the first edited member or patched function (``hit``); what it reads
    that is neither class nor function is left in ``globals`` for the graph to judge, and
    the names it followed in ``followed``: one bound to a new object since is a change."""

    def __init__(self, is_project, patched_members: dict, patched_objects: set[int]) -> None:
        self._is_project = is_project  # module name -> whether its code is the project's
        self._members = patched_members
        self._patched = patched_objects
        self._seen: set[tuple[int, str]] = set()
        self._code_names: dict[int, frozenset[str]] = {}
        self._names: set[str] = set()  # every name the code that runs uses
        self._classes: set[type] = set()  # classes in play
        self._by_member: dict[str, list[type]] = {}  # member name -> classes in play with it
        self._pending: list[tuple[object, str]] = []
        self.globals: set[tuple[str, str]] = set()  # (module, name) read, not followed
        self.followed: set[tuple[str, str]] = set()  # (module, name) of what it followed
        self.hit: str | None = None  # "Class.member" or "function" that changed

    def run(self, starts: Iterable[tuple[object, str]] = (), held: Iterable[object] = ()):
        """Follow from ``(class, member)`` and ``(function, "")`` items, with the objects
        ``held`` at hand (the instance whose method is called)."""
        pending = self._pending
        for value in held:
            self._hold(value)
        pending.extend(starts)
        while pending and self.hit is None:
            target, name = pending.pop()
            key = (id(target), name)
            if key in self._seen:
                continue
            self._seen.add(key)
            if isinstance(target, type):
                self._member(target, name)
            else:
                self._function(target, None)  # type: ignore[arg-type]
        return self

    def _hold(self, value: object) -> None:
        """Objects the code can reach through ``value`` (an instance's attributes, a
        registry's entries): their classes are in play. Made before, so only a walk of
        what they hold finds them (``self.model`` of a pipeline)."""
        stack, seen = [value], set()
        while stack and len(seen) < _HOLD_LIMIT:
            value = stack.pop()
            if id(value) in seen:
                continue
            seen.add(id(value))
            try:
                self._hold_one(value, stack)
            except Exception:  # noqa: BLE001 - a container's own code failed: not followed
                continue

    def _hold_one(self, value: object, stack: list) -> None:
        kind = type(value)  # not ``isinstance``: a proxy's ``__class__`` runs its code
        if issubclass(kind, (list, tuple, set, frozenset)):
            stack.extend(value)  # type: ignore[call-overload]
        elif issubclass(kind, dict):
            stack.extend(value.values())  # type: ignore[attr-defined]
        elif kind is FunctionType:  # a callback: whoever holds it may call it
            if self._is_project(value.__module__ or ""):  # type: ignore[attr-defined]
                self._pending.append((value, ""))
        elif kind is MethodType:
            stack += [value.__func__, value.__self__]  # type: ignore[attr-defined]
        elif kind is partial:
            stack += [value.func, *value.args, *value.keywords.values()]  # type: ignore[attr-defined]
        elif issubclass(kind, type):  # a class handed over may be made
            if kind in PLAIN_METACLASSES and self._is_project(value.__module__):  # type: ignore[attr-defined]
                self._construct(value)  # type: ignore[arg-type]
        elif kind is not ModuleType:
            if type(kind) in PLAIN_METACLASSES and self._is_project(kind.__module__):
                self._in_play(kind)
                stack.extend(vars(value).values() if hasattr(value, "__dict__") else ())

    def _in_play(self, cls: type) -> None:
        if cls in self._classes:
            return
        self._classes.add(cls)
        for klass in cls.__mro__:
            edited = self._members.get(id(klass))
            implicit = _implicit(edited) if edited else ""
            if implicit:
                # An instance is at hand: syntax anywhere may call the dunder.
                self.hit = f"{klass.__name__}.{implicit}"
                return
        for klass in cls.__mro__[:-1]:
            for member, held in list(vars(klass).items()):
                self._by_member.setdefault(member, []).append(cls)
                if member in self._names:
                    self._pending.append((cls, member))
                if not _is_code(held) and klass is not object:
                    self._hold(held)  # a schema's declared fields: objects at hand

    def _member(self, cls: type, name: str) -> None:
        self._in_play(cls)  # (an edited dunder of the class was a hit then)
        if self.hit is not None:
            return
        for klass in cls.__mro__:
            if name in self._members.get(id(klass), ()):
                self.hit = f"{klass.__name__}.{name}"
                return
        owner = next((klass for klass in cls.__mro__ if name in vars(klass)), None)
        if owner is None:
            return
        member = vars(owner)[name]
        if isinstance(member, classmethod):
            self._construct(cls)  # ``cls(...)`` names no member
        for function in functions_of(member):
            self._function(function, cls)

    def _construct(self, cls: type) -> None:
        self._in_play(cls)
        self._pending.extend((cls, name) for name in CONSTRUCTION)

    def _function(self, function: FunctionType, cls: type | None) -> None:
        if id(function) in self._patched:
            self.hit = function.__qualname__
            return
        names = self._code_names.get(id(function.__code__))
        if names is None:
            names = frozenset(_names(function.__code__))
            self._code_names[id(function.__code__)] = names
        new = names - self._names
        self._names |= new
        for used in new:
            for klass in self._by_member.get(used, ()):
                self._pending.append((klass, used))
        if cls is not None and not names.isdisjoint(_MAKES_ITS_CLASS):
            self._construct(cls)  # ``type(self)(...)``
        namespace = function.__globals__
        module = namespace.get("__name__", "")
        for used in names:
            held = namespace.get(used, _MISSING)
            if held is not _MISSING:
                self._value(module, used, held, names)

    def _value(self, module: str, name: str, held: object, names) -> None:
        """A global the code uses: its project functions, classes and instances are followed
        (``_hold``), the rest left to the graph. Looked at by ``type()``: a proxy's
        ``__class__`` (flask's ``request``) runs its code."""
        kind = type(held)
        if issubclass(kind, ModuleType):
            inner = getattr(held, "__name__", "")
            if self._is_project(inner):
                for used in names:
                    value = vars(held).get(used, _MISSING)
                    if value is not _MISSING and not issubclass(type(value), ModuleType):
                        self._value(inner, used, value, names)
            return
        self._hold(held)
        if kind is FunctionType:
            if self._is_project(held.__module__ or ""):  # type: ignore[attr-defined]
                self._follows(module, name, held)
            return
        cls = held if issubclass(kind, type) else kind
        if type(cls) in PLAIN_METACLASSES and self._is_project(cls.__module__):  # type: ignore[attr-defined]
            self._follows(module, name, held)
        else:
            self.globals.add((module, name))

    def _follows(self, module: str, name: str, held: object) -> None:
        """A name whose code is followed: it matters only if it was bound to a new object
        (a patched one holds the same object, and its code is judged as followed)."""
        if id(held) not in self._patched:
            self.followed.add((module, name))


def _implicit(edited: frozenset[str]) -> str:
    """An edited dunder method Python's syntax calls where no code names it ("" if none)."""
    for name in sorted(edited):
        if name.startswith("__") and name.endswith("__"):
            return name
    return ""


def entry_members(value: object, rest: tuple[str, ...]) -> tuple[type, frozenset[str]] | None:
    """The class a call goes into and the members it calls there: ``Model()`` its
    construction, ``Model.load()`` ``load``, ``model.predict()`` ``predict``, ``model()``
    ``__call__``. None for a call further down (``Model.sub.f()``): not followed."""
    if len(rest) > 1:
        return None
    kind = type(value)
    if issubclass(kind, type):
        return value, frozenset(rest) if rest else CONSTRUCTION  # type: ignore[return-value]
    return kind, frozenset(rest) if rest else frozenset({"__call__"})
