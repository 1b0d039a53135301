"""The lifecycle API: what a program says about its own reloads (``from hmr_ast import ...``).

Every function is a harmless no-op when the program runs without hmr-ast (``python app.py``),
so the calls can stay in production code: ``on_dispose`` and the reload hooks are never
called, ``data`` is a plain dict, ``keep`` computes its value once, ``restart_on_change``
does nothing and ``is_active`` is False.

Under hmr-ast a registration belongs to the top-level statement whose execution made it (the
statement found from the calling frame, as for the built-in side effects): when that
statement runs again, or is removed, or its whole module reruns, the registration is taken
back first, so it is never made twice. Importing this module costs nothing more than
``sys`` and ``os``, which every program has.
"""

from __future__ import annotations

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    T = TypeVar("T")
    F = TypeVar("F", bound=Callable[[], object])

__all__ = (
    "after_reload",
    "before_reload",
    "cache_across_reloads",
    "data",
    "is_active",
    "keep",
    "on_dispose",
    "post_reload",
    "pre_reload",
    "restart_on_change",
)


def is_active() -> bool:
    """Whether hmr-ast reloads this process: True under ``hmr-ast run``, ``hmr-ast uvicorn``
    and ``hmr-ast pytest``; False under plain ``python`` and in a forked child (which never
    reloads)."""
    hooks = sys.modules.get("hmr_ast.hooks")
    return hooks is not None and getattr(hooks, "PID", None) == os.getpid()


#: The kind of registration a restart runs (the others a new process does not need undone).
ON_DISPOSE = "on_dispose"


def _register(
    undo: Callable[[], object], what: str, frame, kind: str = "lifecycle", module: str | None = None
) -> None:
    """Tie ``undo`` to the statement the registering call runs for; a call made outside
    any module body (a thread, a request), or for another ``module`` (a name or a file),
    ties it to that module as a whole: it goes when any statement of it runs again."""
    from . import disposal, runtime

    if module is None:
        if disposal.register_here(undo, what, frame, kind):
            return
        record = runtime.record_for(frame.f_globals)
    else:
        record = runtime.records.get(module) or next(
            (r for r in list(runtime.records.values()) if _same_file(r.path, module)), None
        )
    if record is not None:
        disposal.register(record.name, None, undo, what, kind)


def _same_file(path: str, other: str) -> bool:
    try:
        return os.path.samefile(path, other)
    except OSError:
        return False


# ``types``' own names, without importing it (a plain start-up may not have).
FunctionType = type(is_active)
CodeType = type(is_active.__code__)
ModuleType = type(sys)


def _describe(function: object) -> str:
    return getattr(function, "__qualname__", None) or repr(function)


# --- on_dispose ---------------------------------------------------------------------------


def on_dispose(callback: F, module: str | None = None) -> F:
    """Call ``callback()`` just before the statement that registered it runs again or is
    removed, or before its whole module reruns: close what the statement opened (a
    connection, a thread, a file) so that the rerun starts as a fresh run would. With
    ``module`` (a module name or file, as hmr's ``__file__`` argument), before any part of
    that module runs again. Returns ``callback``, so it also works as a decorator."""
    if is_active():
        what = f"on_dispose({_describe(callback)})"
        _register(callback, what, sys._getframe(1), ON_DISPOSE, module)
    return callback


# --- data -----------------------------------------------------------------------------------

_data: dict[str, dict[str, Any]] = {}


def data(module: str | None = None) -> dict[str, Any]:
    """A dict of ``module``'s (by default the calling module's) that survives its reruns,
    like Vite's ``import.meta.hot.data``: what one run leaves there, the next one finds.
    Without hmr-ast it is an empty dict that lives as long as the process."""
    if module is None:
        module = sys._getframe(1).f_globals.get("__name__", "__main__")
    found = _data.get(module)
    if found is None:
        found = _data.setdefault(module, {})
    return found


# --- keep / cache_across_reloads -------------------------------------------------------------

_PLAIN = (int, float, complex, str, bytes, bool, type(None))
_MISSING = object()
_kept: dict[tuple[str, str], tuple[tuple, object]] = {}
_kept_lock = _thread.RLock()


class Kept:
    """A zero-argument function whose value is computed on first call and kept across
    reloads, until the function's code, defaults, or the globals it reads change."""

    def __init__(self, function: Callable[[], T]) -> None:
        self.__wrapped__ = function
        for name in ("__module__", "__name__", "__qualname__", "__doc__"):
            setattr(self, name, getattr(function, name, None))
        self._key = (getattr(function, "__module__", None) or "?", _describe(function))
        self._shape = _function_shape(function)
        self._names = _global_names(function.__code__) if hasattr(function, "__code__") else ()

    def __call__(self) -> T:
        with _kept_lock:
            stamp = (self._shape, _global_values(self.__wrapped__, self._names))
            found = _kept.get(self._key)
            if found is not None and _same_stamp(found[0], stamp):
                return found[1]  # type: ignore[return-value]
            value = self.__wrapped__()
            _kept[self._key] = (stamp, value)
            return value

    def __repr__(self) -> str:
        return f"<kept {self.__qualname__}>"


def keep(function: Callable[[], T]) -> Callable[[], T]:
    """Decorate a zero-argument function computing an expensive value (a model, an index):
    calling it computes the value once; reloads keep it, even when the statement that calls
    it runs again, and compute it anew only when the function's code changes or a global it
    reads is bound to another object (a module's names it reads count too). Without
    hmr-ast: computed once per process, like ``functools.cache``."""
    return Kept(function)


#: PyPI ``hmr``'s name for ``keep``.
cache_across_reloads = keep


def _code_shape(code: CodeType) -> tuple:
    """What a code object does, without where it sits (moving a function keeps its value)."""
    consts = tuple(
        _code_shape(c) if isinstance(c, CodeType) else (type(c), c) for c in code.co_consts
    )
    return (code.co_code, code.co_names, code.co_varnames, code.co_freevars, consts)


def _function_shape(function: Callable[[], object]) -> tuple:
    code = getattr(function, "__code__", None)
    if code is None:
        return (id(function),)
    defaults = (getattr(function, "__defaults__", None), getattr(function, "__kwdefaults__", None))
    cells = tuple(cell.cell_contents for cell in getattr(function, "__closure__", None) or ())
    return (_code_shape(code), repr(defaults), tuple(map(id, cells)))


def _global_names(code: CodeType) -> tuple[str, ...]:
    names = dict.fromkeys(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            names.update(dict.fromkeys(_global_names(const)))
    return tuple(names)


def _global_values(function: Callable[[], object], names: Iterable[str]) -> tuple:
    """The objects the function's globals name now (and for a module, the names it reads
    of it; for a function, its code, which a reload may patch in place)."""
    namespace = getattr(function, "__globals__", {})
    values = []
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
            values.append((f"{name}.__code__", value.__code__))
    return tuple(values)


def _same_stamp(old: tuple, new: tuple) -> bool:
    if old[0] != new[0] or len(old[1]) != len(new[1]):
        return False
    for (old_name, old_value), (new_name, new_value) in zip(old[1], new[1]):
        if old_name != new_name:
            return False
        if old_value is new_value:
            continue
        if type(old_value) is type(new_value) and type(old_value) in _PLAIN:
            if old_value == new_value:
                continue
        return False
    return True


# --- before_reload / after_reload ---------------------------------------------------------

_before: dict[tuple[str, str], Callable[[], object]] = {}
_after: dict[tuple[str, str], Callable[[], object]] = {}


def _hook(table: dict, function: F, kind: str, frame) -> F:
    key = (getattr(function, "__module__", None) or "?", _describe(function))
    table[key] = function  # registered again under the same name: replaced, as in hmr

    def undo() -> None:
        if table.get(key) is function:
            del table[key]

    if is_active():
        _register(undo, f"{kind}({key[1]})", frame)
    return function


def before_reload(function: F) -> F:
    """Call ``function()`` before each reload (a batch of edits) is applied."""
    return _hook(_before, function, "before_reload", sys._getframe(1))


def after_reload(function: F) -> F:
    """Call ``function()`` after each reload has been applied (reread a file the reloaded
    code depends on, refresh a window)."""
    return _hook(_after, function, "after_reload", sys._getframe(1))


#: PyPI ``hmr``'s names.
pre_reload = before_reload
post_reload = after_reload


def call_reload_hooks(before: bool) -> None:
    """Run the ``before_reload`` (or ``after_reload``) hooks; one that raises is shown and
    the others still run."""
    from . import errors

    for function in list((_before if before else _after).values()):
        try:
            function()
        except Exception as error:
            kind = "before_reload" if before else "after_reload"
            print(f"[hmr-ast] {kind} hook {_describe(function)} raised:", file=sys.stderr)
            errors.show(error)


# --- restart_on_change ----------------------------------------------------------------------

_restart_modules: dict[str, str] = {}


def restart_on_change() -> None:
    """Call at the top level of a module that cannot be hot-swapped (settings read once at
    start-up, say): an edit to it restarts the program (the same command line) instead
    of reloading, and says why."""
    if not is_active():
        return
    frame = sys._getframe(1)
    namespace = frame.f_globals
    name = namespace.get("__name__", "__main__")
    _restart_modules[name] = namespace.get("__file__") or name

    def undo() -> None:
        _restart_modules.pop(name, None)

    _register(undo, "restart_on_change()", frame)


def restart_reason(modules: Iterable[str]) -> str | None:
    """Why an edit to ``modules`` restarts the program, or None."""
    hits = sorted(name for name in modules if name in _restart_modules)
    if not hits:
        return None
    from .errors import display_path

    paths = ", ".join(display_path(_restart_modules[name]) for name in hits)
    return f"{paths} changed, and calls hmr_ast.restart_on_change()"


def restart_process(reason: str) -> None:
    """Run what the program registered to run at its end (``on_dispose`` callbacks, then
    ``atexit`` functions, as an exit would), then replace the process with a fresh run of
    the same command line."""
    import atexit

    from . import disposal

    disposal.dispose_everything(lambda r: r.kind == ON_DISPOSE)
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:
            pass
    argv = list(getattr(sys, "orig_argv", None) or [sys.executable, *sys.argv])
    os.execv(sys.executable, [sys.executable, *argv[1:]])
