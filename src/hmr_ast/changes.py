"""Did a name's value really change when its module reran?

A value is unchanged if it is the same object, an equal plain immutable value, or a function
or class re-created from the same code (line numbers aside) with equal defaults, closure
contents and attributes. Unchanged functions and classes keep their old object, so references
held elsewhere (callbacks, routes, instances) stay valid; the old object takes the new code
so tracebacks and ``inspect`` see the new line numbers.
"""

from __future__ import annotations

import weakref
from types import CodeType, FunctionType

_PLAIN = (int, float, complex, str, bytes, bool, type(None), type(Ellipsis))
#: Not compared: where the class sits (3.13's ``__firstlineno__``) is adopted, not compared.
_SKIP_CLASS_ATTRS = frozenset({"__dict__", "__weakref__", "__module__", "__firstlineno__"})


def same_code(old: CodeType, new: CodeType) -> bool:
    """Equal bytecode and constants, ignoring where in the file the code sits."""
    if old is new:
        return True
    if (
        old.co_code != new.co_code
        or old.co_names != new.co_names
        or old.co_varnames != new.co_varnames
        or old.co_freevars != new.co_freevars
        or old.co_cellvars != new.co_cellvars
        or old.co_flags != new.co_flags
        or old.co_argcount != new.co_argcount
        or old.co_posonlyargcount != new.co_posonlyargcount
        or old.co_kwonlyargcount != new.co_kwonlyargcount
        or old.co_name != new.co_name
        or getattr(old, "co_qualname", None) != getattr(new, "co_qualname", None)
        or getattr(old, "co_exceptiontable", None) != getattr(new, "co_exceptiontable", None)
        or len(old.co_consts) != len(new.co_consts)
    ):
        return False
    for a, b in zip(old.co_consts, new.co_consts):
        if isinstance(a, CodeType):
            if not (isinstance(b, CodeType) and same_code(a, b)):
                return False
        elif not _same_constant(a, b):
            return False
    return True


def _same_constant(a: object, b: object) -> bool:
    if type(a) is not type(b):
        return False
    if isinstance(a, tuple):
        return len(a) == len(b) and all(map(_same_constant, a, b))  # type: ignore[arg-type]
    if isinstance(a, (float, complex)):
        return repr(a) == repr(b)  # tells 0.0 from -0.0, and nan equals nan
    return a == b


def same_value(old: object, new: object) -> bool:
    """Whether ``new`` counts as the same value as ``old`` for dependents."""
    if old is new:
        return True
    kind = type(old)
    if kind is not type(new):
        return False
    if kind in _PLAIN:
        return _same_constant(old, new)
    if kind is tuple:
        return len(old) == len(new) and all(map(same_value, old, new))  # type: ignore[arg-type]
    if kind is frozenset:
        return all(isinstance(v, _PLAIN) for v in old) and old == new  # type: ignore[attr-defined]
    if kind is FunctionType:
        return _guarded(_same_function, old, new)
    if isinstance(old, type):
        return _guarded(_same_class, old, new)
    if kind in (staticmethod, classmethod):
        return same_value(old.__func__, new.__func__)  # type: ignore[attr-defined]
    if kind is property:
        return all(
            same_value(getattr(old, part), getattr(new, part)) for part in ("fget", "fset", "fdel")
        )
    return False


_in_progress: set[tuple[int, int]] = set()


def _guarded(compare, old, new) -> bool:
    """Compare recursive structures (a method's ``__class__`` cell is its class) safely."""
    key = (id(old), id(new))
    if key in _in_progress:
        return True  # assumed equal while the outer comparison decides
    _in_progress.add(key)
    try:
        return compare(old, new)
    finally:
        _in_progress.discard(key)


def _cell_contents(function: FunctionType) -> list:
    contents = []
    for cell in function.__closure__ or ():
        try:
            contents.append(cell.cell_contents)
        except ValueError:
            contents.append(_EMPTY)
    return contents


_EMPTY = object()


def _same_mapping(old: dict | None, new: dict | None, equal=None) -> bool:
    old, new = old or {}, new or {}
    if old.keys() != new.keys():
        return False
    compare = equal or same_value
    return all(compare(old[key], new[key]) for key in old)


def _same_annotation(old: object, new: object) -> bool:
    try:
        return same_value(old, new) or bool(old == new)
    except Exception:
        return False


def _same_function(old: FunctionType, new: FunctionType) -> bool:
    return (
        old.__name__ == new.__name__
        and old.__qualname__ == new.__qualname__
        and old.__doc__ == new.__doc__
        and old.__globals__ is new.__globals__
        and same_code(old.__code__, new.__code__)
        and same_value(old.__defaults__, new.__defaults__)
        and _same_mapping(old.__kwdefaults__, new.__kwdefaults__)
        and _same_mapping(old.__dict__, new.__dict__)
        and _same_mapping(old.__annotations__, new.__annotations__, _same_annotation)
        and all(map(_same_cell, _cell_contents(old), _cell_contents(new)))
    )


def _same_cell(old: object, new: object) -> bool:
    """Closure contents; a fresh container of plain values counts as the same (the
    ``repr_running = set()`` every dataclass ``__repr__`` closes over)."""
    if same_value(old, new):
        return True
    return (
        type(old) is type(new)
        and type(old) in (set, list, dict)
        and old == new
        and all(isinstance(item, _PLAIN) for item in old)  # type: ignore[attr-defined]
    )


def _same_class(old: type, new: type) -> bool:
    if (
        old.__qualname__ != new.__qualname__
        or type(old) is not type(new)
        or len(old.__bases__) != len(new.__bases__)
        or not all(map(same_value, old.__bases__, new.__bases__))
    ):
        return False
    old_items = {k: v for k, v in vars(old).items() if k not in _SKIP_CLASS_ATTRS}
    new_items = {k: v for k, v in vars(new).items() if k not in _SKIP_CLASS_ATTRS}
    return _same_mapping(old_items, new_items, _same_class_item)


def _same_class_item(old: object, new: object) -> bool:
    return same_value(old, new) or same_annotations(old, new) or _same_fields(old, new)


def _same_fields(old: object, new: object, depth: int = 0) -> bool:
    """Plain data objects in a class body (dataclass fields, enum-free records) by value."""
    if (
        type(old) is not type(new)
        or depth > 3
        or isinstance(old, (type, FunctionType, staticmethod, classmethod, property))
    ):
        return False
    if isinstance(old, dict):
        return _same_mapping(old, new, lambda a, b: _same_item(a, b, depth + 1))  # type: ignore
    slots = [s for cls in type(old).__mro__ for s in getattr(cls, "__slots__", ())]
    attributes = getattr(old, "__dict__", None)
    if not slots and attributes is None:
        return False
    for slot in slots:
        if not _same_item(getattr(old, slot, _EMPTY), getattr(new, slot, _EMPTY), depth + 1):
            return False
    return attributes is None or _same_mapping(
        attributes, getattr(new, "__dict__", None), lambda a, b: _same_item(a, b, depth + 1)
    )


def _same_item(old: object, new: object, depth: int) -> bool:
    return same_value(old, new) or _same_annotation(old, new) or _same_fields(old, new, depth)


def same_annotations(old: object, new: object) -> bool:
    return type(old) is dict and type(new) is dict and _same_mapping(old, new, _same_annotation)


#: Kept function or class -> the twins made by later runs and dropped for it. A dropped twin
#: may still be held elsewhere (a decorator registered it before the rerun kept the old
#: object): patching the kept object in place patches its twins too.
twins: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def adopt_new_code(old: object, new: object) -> None:
    """Give a kept function or class the new (line-shifted) code of its twin."""
    if old is not new and (type(old) is FunctionType or isinstance(old, type)):
        try:
            twins.setdefault(old, weakref.WeakSet()).add(new)
        except TypeError:
            pass  # not weakly referenceable
    if type(old) is FunctionType:
        if old.__code__ is not new.__code__:  # type: ignore[attr-defined]
            old.__code__ = new.__code__  # type: ignore[attr-defined]
    elif type(old) in (staticmethod, classmethod):
        adopt_new_code(old.__func__, new.__func__)  # type: ignore[attr-defined]
    elif type(old) is property:
        for part in ("fget", "fset", "fdel"):
            adopt_new_code(getattr(old, part), getattr(new, part))
    elif isinstance(old, type) and old is not new:
        if "__firstlineno__" in vars(new):
            type.__setattr__(old, "__firstlineno__", vars(new)["__firstlineno__"])
        for key, value in vars(old).items():
            if key not in _SKIP_CLASS_ATTRS and key in vars(new):
                adopt_new_code(value, vars(new)[key])
