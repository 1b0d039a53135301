"""``keep`` (``cache_across_reloads``): an expensive value kept across reloads until what it
was computed from changes.

A kept value is stamped with what the function is (its code, without line numbers, so a
function that only moved keeps its value), the objects its globals name (a module's
attributes it reads too, and a called function's code, which a reload may patch in place),
its defaults and closure, and, under hmr-ast, the state of the files it opened for reading.
A call computes again only when the stamp differs: when a fresh run could compute something
else. Objects are compared by identity, numbers and strings by value.
"""

from __future__ import annotations

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import TypeVar

    T = TypeVar("T")

# ``types``' names, without importing it (a plain start-up may not have).
FunctionType = type(lambda: None)
CodeType = type(FunctionType.__code__)  # type: ignore[attr-defined]
ModuleType = type(sys)

_PLAIN = (int, float, complex, str, bytes, bool, type(None))
_MISSING = object()
#: (module, qualified name) -> (stamp, files read: path -> state, value)
_kept: dict[tuple[str, str], tuple[tuple, dict[str, tuple[int, int]], object]] = {}
_lock = _thread.RLock()


class Kept:
    """A zero-argument function whose value is computed on first call and kept across
    reloads while its stamp holds."""

    def __init__(self, function: Callable[[], T]) -> None:
        self.__wrapped__ = function
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, name, getattr(function, name, None))
        qualname = getattr(function, "__qualname__", None) or repr(function)
        self._key = (getattr(function, "__module__", None) or "?", qualname)
        code = getattr(function, "__code__", None)
        self._shape = _code_shape(code) if code is not None else None
        self._names = _global_names(code) if code is not None else ()

    def __call__(self) -> T:
        with _lock:
            stamp = (self._shape, _inputs(self.__wrapped__, self._names))
            found = _kept.get(self._key)
            if found is not None and _same_stamp(found[0], stamp) and _unchanged(found[1]):
                return found[2]  # type: ignore[return-value]
            with _FilesRead() as files:
                value = self.__wrapped__()
            _kept[self._key] = (stamp, {path: _file_state(path) for path in files}, value)
            return value

    def __repr__(self) -> str:
        return f"<kept {self._key[1]}>"


def keep(function: Callable[[], T]) -> Callable[[], T]:
    """Decorate a zero-argument function computing an expensive value (a model, an index):
    calling it computes the value once; reloads keep it, even when the statement that calls
    it runs again, and compute it anew only when the function's code changes, a global it
    reads is bound to another object (a module's names it reads count too), or a file it
    read changed. Without hmr-ast: computed once per process, like ``functools.cache``."""
    return Kept(function)


def _code_shape(code: CodeType) -> tuple:
    """What a code object does, without where it sits (moving a function keeps its value)."""
    consts = tuple(
        _code_shape(c) if isinstance(c, CodeType) else (type(c), c) for c in code.co_consts
    )
    return (code.co_code, code.co_names, code.co_varnames, code.co_freevars, consts)


def _global_names(code: CodeType) -> tuple[str, ...]:
    names = dict.fromkeys(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names.update(dict.fromkeys(_global_names(const)))
    return tuple(names)


def _inputs(function: Callable[[], object], names: Iterable[str]) -> tuple:
    """(label, object) for what the function computes from, held (not ids: an object freed
    since could have its id reused)."""
    namespace = getattr(function, "__globals__", {})
    values: list[tuple[str, object]] = [
        ("<defaults>", getattr(function, "__defaults__", None)),
        ("<kwdefaults>", getattr(function, "__kwdefaults__", None)),
    ]
    for index, cell in enumerate(getattr(function, "__closure__", None) or ()):
        try:
            values.append((f"<cell {index}>", cell.cell_contents))
        except ValueError:  # an empty cell
            values.append((f"<cell {index}>", _MISSING))
    for name in names:
        value = namespace.get(name, _MISSING)
        if value is _MISSING:
            continue
        values.append((name, value))
        if isinstance(value, ModuleType):
            attributes = value.__dict__
            values.extend(
                (f"{name}.{n}", attributes[n]) for n in names if n in attributes and n != name
            )
        elif isinstance(value, FunctionType):
            values.append((f"{name}.__code__", value.__code__))  # type: ignore[attr-defined]
    return tuple(values)


def _same_stamp(old: tuple, new: tuple) -> bool:
    if old[0] != new[0] or len(old[1]) != len(new[1]):
        return False
    for (old_name, old_value), (new_name, new_value) in zip(old[1], new[1]):
        if old_name != new_name or not _same(old_value, new_value):
            return False
    return True


def _same(old: object, new: object) -> bool:
    if old is new:
        return True
    kind = type(old)
    if kind is not type(new):
        return False
    if kind in _PLAIN:
        return old == new
    if kind is tuple:
        return len(old) == len(new) and all(map(_same, old, new))  # type: ignore[arg-type]
    if kind is dict:  # keyword defaults
        return old.keys() == new.keys() and all(_same(old[k], new[k]) for k in old)  # type: ignore[attr-defined]
    return False


# --- files read while computing (under hmr-ast only: without it nothing reruns) ----------

#: Per thread: the sets collecting the paths opened for reading by the kept computations
#: running (nested ones add to every enclosing one).
_collecting: dict[int, list[set[str]]] = {}
_hooked = False


class _FilesRead:
    def __enter__(self) -> set[str]:
        global _hooked
        files: set[str] = set()
        if not _hooked:
            hooks = sys.modules.get("hmr_ast.hooks")
            if hooks is None or getattr(hooks, "PID", None) != os.getpid():
                return files  # plain python: nothing reruns, no file can make it stale
            sys.addaudithook(_on_audit)  # only once a kept value is computed under hmr-ast
            _hooked = True
        _collecting.setdefault(_thread.get_ident(), []).append(files)
        self._files = files
        return files

    def __exit__(self, *exc: object) -> None:
        stack = _collecting.get(_thread.get_ident())
        if stack and getattr(self, "_files", None) is not None and stack[-1] is self._files:
            stack.pop()


def _on_audit(event: str, args: tuple) -> None:
    if event != "open" or not _collecting:
        return
    stack = _collecting.get(_thread.get_ident())
    if not stack:
        return
    path, mode = args[0], args[1]
    if not isinstance(path, str) or (isinstance(mode, str) and any(c in mode for c in "wax+")):
        return  # a descriptor, or a file opened for writing
    if path.endswith((".py", ".pyc")):
        return  # an import: its module's own edits are seen as code changes
    path = os.path.abspath(path)
    for files in stack:
        files.add(path)


def _file_state(path: str) -> tuple[int, int]:
    try:
        stat = os.stat(path)
    except OSError:
        return (0, -1)
    return (stat.st_mtime_ns, stat.st_size)


def _unchanged(files: dict[str, tuple[int, int]]) -> bool:
    return all(_file_state(path) == state for path, state in files.items())
