"""What a patch in place changed in a function or a class: only code, or more.

When only code changed, the tests that ran the old code rerun (their records, from
``probed_code``), not every test whose static reads reach the name. A member added or
removed, a class attribute, a default or a docstring changed leaves the decision to the
static reads. ``shape`` is taken before the batch and after it; ``changed_code`` compares.
"""

from __future__ import annotations

from types import CodeType, FunctionType

from ...changes import same_code
from ...patching import functions_of
from .test_definitions import same_data


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
