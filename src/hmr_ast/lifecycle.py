"""The lifecycle API: what a program says about its own reloads (``from hmr_ast import ...``).

Every function is a harmless no-op when the program runs without hmr-ast (``python app.py``),
so the calls can stay in production code: ``on_dispose`` and the reload hooks are never
called, ``data`` is a plain dict, ``keep`` computes its value once, ``restart_on_change``
does nothing and ``is_active`` is False.

Under hmr-ast a registration belongs to the top-level statement whose execution made it (the
statement found from the calling frame, as for the built-in side effects): when that
statement runs again, or is removed, or its whole module reruns, the registration is taken
back first, so it is never made twice. Importing this module (and ``kept_values``, where
``keep`` lives) costs nothing more than ``sys`` and ``os``, which every program has.
"""

from __future__ import annotations

import os
import sys

from .kept_values import keep

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any, TypeVar

    T = TypeVar("T")
    F = TypeVar("F", bound=Callable[[], object])

#: PyPI ``hmr``'s name for ``keep``.
cache_across_reloads = keep

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


# --- keep / cache_across_reloads: in kept_values ------------------------------------------

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
    calls = "calls" if len(hits) == 1 else "each call"
    return f"{paths} changed, and {calls} hmr_ast.restart_on_change()"


def rerun_restart_reason(module: str) -> str | None:
    """Why ``module``, about to run again for what it reads (not for an edit of its own),
    restarts the program instead, or None."""
    path = _restart_modules.get(module)
    if path is None:
        return None
    from .errors import display_path

    return f"{display_path(path)} would run again for what it reads, and calls " + (
        "hmr_ast.restart_on_change()"
    )


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
