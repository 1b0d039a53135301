"""What project code hands to the standard library's singletons, recorded so it can be undone.

A statement that adds a ``logging`` handler, an ``atexit`` function, a signal handler, a
warnings filter, a codec or a ``copyreg`` reducer contributes to an owner that hmr-ast
cannot rerun: run again, it would add a second one and leave the old one in place. So the
few functions that make such contributions are wrapped (each wrapper adds one frame and,
only when called, a look up the stack for the project statement calling it), and each
contribution becomes a ``disposal`` registration of its statement, undone before the
statement reruns or goes. ``sys.path`` and ``sys.meta_path`` entries: ``import_path_effects``.

``logging`` and ``mimetypes`` are not imported at start-up (``logging`` alone costs ~3.5 ms):
they are wrapped when the program first imports them, from the ``import`` audit event.
"""

from __future__ import annotations

import atexit
import codecs
import copyreg
import os
import signal
import sys
import threading
import warnings
from collections.abc import Callable
from types import FrameType

from . import disposal, import_path_effects, own_writes, runtime

#: Taken at import: a program (attrs' own tests) may delete ``sys._getframe`` while
#: project code still registers things.
_GETFRAME = sys._getframe

_MISSING = object()
_installed = False


def install() -> None:
    """Wrap the registering functions and start watching the import path; idempotent."""
    global _installed
    if _installed:
        return
    _installed = True
    _wrap(atexit, "register", _atexit_register)
    _wrap(signal, "signal", _signal_signal)
    _wrap(warnings, "_add_filter", _warnings_add_filter)
    _wrap(copyreg, "pickle", _copyreg_pickle)
    _wrap(codecs, "register", _codecs_register)
    for name in _LAZY:
        module = sys.modules.get(name)
        if module is not None and not _initializing(module):
            _LAZY[name]()
    import_path_effects.install()
    own_writes.EVENTS["import"] = _on_import  # dispatched by runtime's audit hook


def _wrap(owner: object, name: str, make: Callable[[Callable], Callable]) -> None:
    original = getattr(owner, name)
    wrapper = make(original)
    for attribute in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            setattr(wrapper, attribute, getattr(original, attribute))
        except (AttributeError, TypeError):
            pass
    wrapper.__wrapped__ = original  # type: ignore[attr-defined]
    setattr(owner, name, wrapper)


def _name(obj: object) -> str:
    return getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None) or repr(obj)


def _record(
    undo: Callable[[], object],
    what: str | Callable[[], str],
    frame: FrameType | None,
    owner: str = "",
) -> None:
    """Register ``undo`` for the project statement running, if the project made the call:
    its caller (past the owner's own frames: ``basicConfig`` adds a handler for the
    program) is project code. What the standard library or a package registers for itself
    (``weakref.finalize``'s one ``atexit`` function, pytest's warnings filters) stays."""
    while frame is not None and (
        (owner and frame.f_code.co_filename.startswith(owner))
        or frame.f_code.co_filename == __file__  # our wrapper of basicConfig
    ):
        frame = frame.f_back
    if frame is None or runtime.record_for(frame.f_globals) is None:
        return
    # (described only now: pytest adds and removes logging handlers for every test phase)
    disposal.register_here(undo, what() if callable(what) else what, frame)


# --- atexit, signal, warnings, copyreg, codecs ----------------------------------------------


def _atexit_register(original: Callable) -> Callable:
    def register(func, /, *args, **kwargs):
        result = original(func, *args, **kwargs)
        _record(lambda: atexit.unregister(func), f"atexit.register({_name(func)})", _caller())
        return result

    return register


def _signal_signal(original: Callable) -> Callable:
    getsignal = signal.getsignal

    def install_handler(signalnum, handler):
        previous = original(signalnum, handler)

        def undo() -> None:
            if getsignal(signalnum) is not handler or previous is None:
                return  # replaced since (the newer handler stays), or set from C before
            if threading.current_thread() is not threading.main_thread():
                print(
                    f"[hmr-ast] the handler of signal {signalnum} cannot be restored from this "
                    "thread (only the main thread may set signal handlers); it stays",
                    file=sys.stderr,
                )
                return
            original(signalnum, previous)

        _record(undo, f"signal.signal({signalnum}, {_name(handler)})", _caller())
        return previous

    return install_handler


def _warnings_add_filter(original: Callable) -> Callable:
    def add_filter(*item, append):
        present = item in warnings.filters
        original(*item, append=append)
        if present:
            return  # moved to the front at most: a fresh run has it too

        def undo() -> None:
            try:
                warnings.filters.remove(item)
            except ValueError:
                return
            mutated = getattr(warnings, "_filters_mutated", None) or getattr(
                warnings, "_filters_mutated_lock_held", None
            )
            if mutated is not None:
                mutated()

        _record(undo, lambda: f"warnings filter {item[:3]!r}", _caller(), warnings.__file__)

    return add_filter


def _copyreg_pickle(original: Callable) -> Callable:
    def pickle(ob_type, pickle_function, constructor_ob=None):
        previous = copyreg.dispatch_table.get(ob_type, _MISSING)
        original(ob_type, pickle_function, constructor_ob)

        def undo() -> None:
            if copyreg.dispatch_table.get(ob_type) is not pickle_function:
                return
            if previous is _MISSING:
                del copyreg.dispatch_table[ob_type]
            else:
                copyreg.dispatch_table[ob_type] = previous

        _record(undo, f"copyreg.pickle({_name(ob_type)})", _caller())

    return pickle


def _codecs_register(original: Callable) -> Callable:
    def register(search_function):
        original(search_function)
        undo = getattr(codecs, "unregister", None)  # 3.10+
        if undo is not None:
            _record(
                lambda: undo(search_function),
                f"codecs.register({_name(search_function)})",
                _caller(),
            )

    return register


# --- logging and mimetypes, wrapped when imported ------------------------------------------


_logging_files = ""  # the logging package's folder, once it is imported


def _wrap_logging() -> None:
    global _logging_files
    import logging

    _logging_files = os.path.dirname(logging.__file__) + os.sep
    _wrap(logging.Logger, "addHandler", _logger_add_handler)
    _wrap(logging.Filterer, "addFilter", _add_filter)
    _wrap(logging, "basicConfig", _basic_config)


def _logger_add_handler(original: Callable) -> Callable:
    def addHandler(self, hdlr):  # noqa: N802 - logging's name
        present = hdlr in self.handlers
        original(self, hdlr)
        if not present:
            _record(
                lambda: self.removeHandler(hdlr),
                lambda: f"logging handler {_name(type(hdlr))} on logger {self.name!r}",
                _caller(),
                _logging_files,
            )

    return addHandler


def _add_filter(original: Callable) -> Callable:
    def addFilter(self, filter):  # noqa: N802, A002 - logging's names
        present = filter in self.filters
        original(self, filter)
        if not present:
            _record(
                lambda: self.removeFilter(filter),
                lambda: f"logging filter {_name(filter)}",
                _caller(),
                _logging_files,
            )

    return addFilter


def _basic_config(original: Callable) -> Callable:
    def basicConfig(**kwargs):  # noqa: N802 - logging's name
        import logging

        root = logging.root
        level = root.level
        original(**kwargs)  # its handlers are recorded by addHandler
        if root.level != level:
            chosen = root.level

            def undo() -> None:
                if root.level == chosen:
                    root.setLevel(level)

            _record(undo, "logging.basicConfig level", _caller(), _logging_files)

    return basicConfig


def _wrap_mimetypes() -> None:
    import mimetypes

    _wrap(mimetypes, "add_type", _mimetypes_add_type)


def _mimetypes_add_type(original: Callable) -> Callable:
    def add_type(type, ext, strict=True):  # noqa: A002 - mimetypes' name
        import mimetypes

        if not mimetypes.inited:
            mimetypes.init()  # what add_type does first anyway: not ours to undo
        database = mimetypes._db  # type: ignore[attr-defined]
        types, inverse = database.types_map[strict], database.types_map_inv[strict]
        previous_type = types.get(ext, _MISSING)
        previous_exts = list(inverse[type]) if type in inverse else None
        original(type, ext, strict)

        def undo() -> None:
            if previous_type is _MISSING:
                types.pop(ext, None)
            else:
                types[ext] = previous_type
            if previous_exts is None:
                inverse.pop(type, None)
            else:
                inverse[type] = previous_exts

        _record(undo, f"mimetypes.add_type({type!r}, {ext!r})", _caller(), mimetypes.__file__)

    return add_type


_LAZY: dict[str, Callable[[], None]] = {"logging": _wrap_logging, "mimetypes": _wrap_mimetypes}
_importing = False


def _initializing(module: object) -> bool:
    return bool(getattr(getattr(module, "__spec__", None), "_initializing", False))


def _import_wrapped(name: str) -> None:
    """Import ``name`` now (an ``import`` event for it is under way; the import machinery
    then finds it in ``sys.modules``) and wrap it before the program gets it."""
    global _importing
    _importing = True
    try:
        __import__(name)
        _LAZY.pop(name)()
    except Exception:
        pass  # the program's own import of it reports the error as plain python would
    finally:
        _importing = False


def _on_import(args: tuple) -> None:
    """A module not yet in ``sys.modules`` is about to be imported."""
    if _LAZY and not _importing:
        name = args[0]
        wanted = name.partition(".")[0] if isinstance(name, str) else None
        for lazy in list(_LAZY):
            module = sys.modules.get(lazy)
            if module is None and lazy == wanted:
                _import_wrapped(lazy)
            elif module is not None and not _initializing(module):
                _LAZY.pop(lazy)()  # imported by another thread (or before we looked)
    if not _importing:
        import_path_effects.look_from_event()


def _caller() -> FrameType:
    """The frame that called the wrapper calling this."""
    return _GETFRAME(2)
