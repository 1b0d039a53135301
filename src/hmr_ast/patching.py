"""Patch a function or class in place, so that every reference to it runs the new code.

Route tables, callbacks held by threads, ``functools.partial`` objects, bound methods and
existing instances all hold the old object; giving that object the new code (instead of
binding a new object) is the only way they all see an edit. Where the old object cannot take
the new one's code (a closure over other variables, a class whose layout or metaclass
changed), the caller binds the new object instead.
"""

from __future__ import annotations

from abc import ABCMeta, update_abstractmethods
from types import FunctionType

#: Class attributes Python manages itself: never copied from one class to another.
_CLASS_INTERNALS = frozenset({"__dict__", "__weakref__", "__module__", "__qualname__"})
#: Kept from the old class of an ABC: its virtual subclasses (``register``) live in
#: ``_abc_impl``; ``__abstractmethods__`` is worked out again after the patch.
_ABC_INTERNALS = frozenset({"_abc_impl", "__abstractmethods__"})
#: Metaclasses whose classes can take a new body: ``type``, and ``ABCMeta`` (it records
#: nothing a patch would leave stale but what ``_ABC_INTERNALS`` covers).
_PATCHABLE_METACLASSES = (type, ABCMeta)


def can_patch_function(old: object, new: object) -> bool:
    return (
        type(old) is FunctionType
        and type(new) is FunctionType
        and old.__name__ == new.__name__  # type: ignore[union-attr]
        and old.__globals__ is new.__globals__  # type: ignore[union-attr]
        and old.__code__.co_freevars == new.__code__.co_freevars  # type: ignore[union-attr]
    )


def patch_function(old: FunctionType, new: FunctionType, keep_attributes: bool = False) -> None:
    """Give ``old`` everything ``new`` was defined with. ``keep_attributes`` keeps what
    decorators stored on it (``__wrapped__``, click's parameters), which were not run again."""
    old.__code__ = new.__code__
    old.__defaults__ = new.__defaults__
    old.__kwdefaults__ = new.__kwdefaults__
    old.__doc__ = new.__doc__
    old.__annotations__ = new.__annotations__
    if not keep_attributes:
        old.__dict__.clear()
        old.__dict__.update(new.__dict__)


def can_patch_class(old: object, new: object) -> bool:
    """Same name, bases, metaclass and slots: the old class can take the new body."""
    return (
        isinstance(old, type)
        and isinstance(new, type)
        and type(old) in _PATCHABLE_METACLASSES  # another may have registered the class
        and type(new) is type(old)
        and old.__name__ == new.__name__
        and old.__bases__ == new.__bases__
        and vars(old).get("__slots__") == vars(new).get("__slots__")
        and not any(_records_subclasses(base) for base in old.__mro__[1:-1])
    )


#: Modules whose ``__init_subclass__`` only sets attributes of the new class itself (which
#: a patch copies), never records it elsewhere: ``typing.Generic`` and ``Protocol``.
_HARMLESS_HOOKS = frozenset({"typing", "typing_extensions"})


def _records_subclasses(base: type) -> bool:
    """Whether ``base`` has an ``__init_subclass__`` that may have recorded the class."""
    return "__init_subclass__" in vars(base) and base.__module__ not in _HARMLESS_HOOKS


def patch_class(old: type, new: type) -> None:
    """Give ``old`` the attributes of ``new``; its methods are made to see ``old`` as their
    class (``super()`` and ``__class__`` in them name ``old``)."""
    internals = _CLASS_INTERNALS | _ABC_INTERNALS if type(old) is ABCMeta else _CLASS_INTERNALS
    new_items = {k: v for k, v in vars(new).items() if k not in internals}
    for key in [k for k in vars(old) if k not in internals and k not in new_items]:
        delattr(old, key)
    for key, value in new_items.items():
        current = vars(old).get(key)
        if _same_kind_of_function(current, value):
            _patch_member(current, value, old, new)
            continue
        _retarget_class_cell(value, old, new)
        type.__setattr__(old, key, value)
    if type(old) is ABCMeta:
        update_abstractmethods(old)


def functions_of(member: object) -> list[FunctionType]:
    """The functions a class member holds: itself, a static or class method's, a property's."""
    if type(member) is FunctionType:
        return [member]
    if isinstance(member, (staticmethod, classmethod)):
        return functions_of(member.__func__)
    if isinstance(member, property):
        return [f for part in (member.fget, member.fset, member.fdel) for f in functions_of(part)]
    return []


def _same_kind_of_function(old: object, new: object) -> bool:
    if type(old) is not type(new) or type(old) not in (FunctionType, staticmethod, classmethod):
        return False
    old_functions, new_functions = functions_of(old), functions_of(new)
    return len(old_functions) == len(new_functions) == 1 and can_patch_function(
        old_functions[0], new_functions[0]
    )


def _patch_member(old: object, new: object, old_class: type, new_class: type) -> None:
    """A method keeps its identity too: bound methods and references to it see the edit."""
    _retarget_class_cell(new, old_class, new_class)
    (old_function,), (new_function,) = functions_of(old), functions_of(new)
    old_cells = old_function.__closure__ or ()
    new_cells = new_function.__closure__ or ()
    patch_function(old_function, new_function)
    for old_cell, new_cell in zip(old_cells, new_cells):  # the same free variables
        try:
            contents = new_cell.cell_contents
        except ValueError:
            continue
        old_cell.cell_contents = old_class if contents is new_class else contents


def _retarget_class_cell(member: object, old_class: type, new_class: type) -> None:
    for function in functions_of(member):
        for cell in function.__closure__ or ():
            try:
                if cell.cell_contents is new_class:
                    cell.cell_contents = old_class
            except ValueError:
                continue


def saved_state(obj: object) -> tuple:
    """What ``patch_function``/``patch_class`` change, to put back if the batch fails."""
    if type(obj) is FunctionType:
        return (
            obj,
            obj.__code__,
            obj.__defaults__,
            obj.__kwdefaults__,
            obj.__doc__,
            dict(obj.__annotations__),
            dict(obj.__dict__),
        )
    assert isinstance(obj, type)
    members = dict(vars(obj))
    functions = [saved_state(f) for member in members.values() for f in functions_of(member)]
    cells = [
        (cell, cell.cell_contents)
        for member in members.values()
        for f in functions_of(member)
        for cell in f.__closure__ or ()
        if _has_contents(cell)
    ]
    return (obj, members, functions, cells)


def restore_state(state: tuple) -> None:
    obj = state[0]
    if type(obj) is FunctionType:
        _, code, defaults, kwdefaults, doc, annotations, attributes = state
        obj.__code__ = code
        obj.__defaults__ = defaults
        obj.__kwdefaults__ = kwdefaults
        obj.__doc__ = doc
        obj.__annotations__ = annotations
        obj.__dict__.clear()
        obj.__dict__.update(attributes)
        return
    _, members, functions, cells = state
    for key in [k for k in vars(obj) if k not in _CLASS_INTERNALS and k not in members]:
        delattr(obj, key)
    for key, value in members.items():
        if key not in _CLASS_INTERNALS and vars(obj).get(key) is not value:
            type.__setattr__(obj, key, value)
    for function_state in functions:
        restore_state(function_state)
    for cell, contents in cells:
        cell.cell_contents = contents


def _has_contents(cell) -> bool:
    try:
        cell.cell_contents  # noqa: B018
    except ValueError:
        return False
    return True


def shift_lines(value: object, delta: int, filename: str) -> None:
    """A statement that did not run moved by ``delta`` lines: its functions' and classes'
    code says where they sit now (tracebacks, ``inspect.getsource``)."""
    seen: set[int] = set()
    stack = [value]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        if type(current) is FunctionType:
            if current.__code__.co_filename == filename:
                current.__code__ = _shifted(current.__code__, delta)
            wrapped = current.__dict__.get("__wrapped__")
            if wrapped is not None:
                stack.append(wrapped)
        elif isinstance(current, type):
            if "__firstlineno__" in vars(current):
                type.__setattr__(
                    current, "__firstlineno__", vars(current)["__firstlineno__"] + delta
                )
            for member in vars(current).values():
                if isinstance(member, type) and member.__module__ == current.__module__:
                    stack.append(member)
                else:
                    stack.extend(functions_of(member))


def _shifted(code, delta: int):
    from types import CodeType

    consts = tuple(
        _shifted(const, delta) if isinstance(const, CodeType) else const for const in code.co_consts
    )
    return code.replace(co_firstlineno=code.co_firstlineno + delta, co_consts=consts)
