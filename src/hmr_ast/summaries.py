"""What using a value may read: static function summaries resolved into name nodes.

Function bodies are not instrumented. When module code reads a project function (or a class,
or an instance of a project class) it may call it, and the call reads whatever the function's
code reads: the ``global.attr`` chains ``bytecode.summarize`` found, looked up in the
function's own globals. A name node such as ``util:load`` gets an edge to each of those, so
``m`` -> ``util:load`` -> ``config:PATH`` says that ``m`` depends on ``config.PATH``.
"""

from __future__ import annotations

import functools
from types import BuiltinFunctionType, CodeType, FunctionType, MethodType, ModuleType

from . import runtime
from .graph import Deferred

_MAX_DEPTH = 4


def node(module: str, name: str) -> str:
    return f"{module}:{name}"


def _summary(code: CodeType, record: runtime.ModuleRecord) -> tuple[tuple[str, ...], ...]:
    functions = record.meta.get("functions", {})
    chains = functions.get((code.co_name, code.co_firstlineno))
    if chains is None:
        chains = _dynamic_summary(code)
    return chains


@functools.lru_cache(maxsize=4096)
def _dynamic_summary(code: CodeType) -> tuple[tuple[str, ...], ...]:
    """For code the transform never saw (``exec``-made functions such as dataclass methods)."""
    from .bytecode import chains as _chains

    chains: set[tuple[str, ...]] = set()
    _chains(code, chains)
    return tuple(sorted(chains))


def function_reads(function: FunctionType, into: set[str]) -> None:
    """Add the name nodes ``function``'s code (nested code included) may read."""
    namespace = function.__globals__
    record = runtime.record_for(namespace)
    if record is None:
        return  # not project code
    for chain in _summary(function.__code__, record):
        root = chain[0]
        into.add(node(record.name, root))
        value = namespace.get(root)
        for attribute in chain[1:]:
            target = runtime.project_module_name(value)
            if target is None:
                break
            into.add(node(target, attribute))
            value = value.__dict__.get(attribute)  # type: ignore[union-attr]


def _project_class(cls: type) -> bool:
    module = runtime.records.get(getattr(cls, "__module__", None))  # type: ignore[arg-type]
    return module is not None and module.namespace is not None


def value_reads(value: object) -> Deferred:
    """Name nodes that calling or using ``value`` may read (empty for plain data), worked
    out when the graph needs them: most names of a large project are never read by another
    module, and working all of them out made the first edit wait (``graph.Deferred``)."""
    return Deferred(functools.partial(reads_now, value))


def reads_now(value: object) -> set[str]:
    """``value_reads``, worked out now."""
    into: set[str] = set()
    _collect(value, into, set(), 0)
    return into


_BEHAVIOUR = (
    FunctionType,
    MethodType,
    staticmethod,
    classmethod,
    property,
    functools.partial,
    type,
)
# Types of most module globals, answered without a look at the project (the graph asks
# for every global of every module once): exact types, so project subclasses still count.
_PLAIN = frozenset(
    {str, int, float, bool, bytes, tuple, list, dict, set, frozenset, type(None), ModuleType}
    | {BuiltinFunctionType}
)


def is_behaviour(value: object) -> bool:
    kind = type(value)
    if kind in _PLAIN:
        return False
    return isinstance(value, _BEHAVIOUR) or _project_class(kind) or wraps(value) is not None


def wraps(value: object) -> FunctionType | None:
    """The function a wrapper object holds (``functools.cache``, ``lru_cache``,
    ``hmr_ast.keep``, ``functools.wraps`` on a class instance), looked up without running
    the object's own ``__getattr__`` (a proxy's would)."""
    try:
        attributes = object.__getattribute__(value, "__dict__")
    except (AttributeError, TypeError):
        return None
    wrapped = attributes.get("__wrapped__") if isinstance(attributes, dict) else None
    return wrapped if isinstance(wrapped, FunctionType) else None


def _collect(value: object, into: set[str], seen: set[int], depth: int) -> None:
    if depth > _MAX_DEPTH or id(value) in seen or isinstance(value, ModuleType):
        return
    seen.add(id(value))
    if isinstance(value, FunctionType):
        function_reads(value, into)
        for cell in value.__closure__ or ():
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            if isinstance(contents, (FunctionType, type)):
                _collect(contents, into, seen, depth + 1)
        wrapped = getattr(value, "__wrapped__", None)
        if wrapped is not None:
            _collect(wrapped, into, seen, depth + 1)
    elif isinstance(value, (MethodType, staticmethod, classmethod)):
        _collect(value.__func__, into, seen, depth + 1)
    elif isinstance(value, property):
        for part in (value.fget, value.fset, value.fdel):
            if part is not None:
                _collect(part, into, seen, depth + 1)
    elif isinstance(value, functools.partial):
        _collect(value.func, into, seen, depth + 1)
    elif isinstance(value, type):
        if not _project_class(value):
            return
        for cls in value.__mro__:
            if cls is value or _project_class(cls):
                for item in vars(cls).values():
                    if isinstance(item, (FunctionType, staticmethod, classmethod, property, type)):
                        _collect(item, into, seen, depth + 1)
    elif _project_class(type(value)):
        _collect(type(value), into, seen, depth + 1)
    else:
        wrapped = wraps(value)  # functools.lru_cache and friends
        if wrapped is not None:
            _collect(wrapped, into, seen, depth + 1)
