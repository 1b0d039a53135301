"""What project code hands to the standard library's singletons, recorded so it can be undone.

A statement that adds a ``logging`` handler, an ``atexit`` function, a signal handler, a
warnings filter, a ``sys.path`` entry or a codec contributes to an owner that hmr-ast cannot
rerun: run again, it would add a second one and leave the old one in place. So the few
functions that make such contributions are wrapped (each wrapper adds one frame and, only
when called, a look up the stack for the project statement calling it), and ``sys.path``
and ``sys.meta_path`` are compared with a snapshot at the points where hmr-ast gets
control: the ``import`` and ``exec`` audit events and the engine's hooks. Each contribution
becomes a ``disposal`` registration of its statement, undone before the statement reruns or
goes.

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
from types import CodeType, FrameType

from . import disposal, own_writes, runtime

_MISSING = object()
_installed = False


def install() -> None:
    """Wrap the registering functions and start watching the import path; idempotent."""
    global _installed, _path_seen, _meta_seen
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
    _path_seen, _meta_seen = list(sys.path), list(sys.meta_path)
    # runtime's audit hook (installed with the import hook) dispatches events by name
    # through this table: a hook of our own would cost ~80 ns on every audit event (id() is
    # one: ~13,000 in a 200-module start-up), these two entries nothing on the others.
    own_writes.EVENTS["import"] = _on_import
    own_writes.EVENTS["exec"] = _on_exec


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
    undo: Callable[[], object], what: str, frame: FrameType | None, owner: str = ""
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
    disposal.register_here(undo, what, frame)


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

        _record(undo, f"warnings filter {item[:3]!r}", _caller(), warnings.__file__)

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
            what = f"logging handler {_name(type(hdlr))} on logger {self.name!r}"
            _record(lambda: self.removeHandler(hdlr), what, _caller(), _logging_files)

    return addHandler


def _add_filter(original: Callable) -> Callable:
    def addFilter(self, filter):  # noqa: N802, A002 - logging's names
        present = filter in self.filters
        original(self, filter)
        if not present:
            what = f"logging filter {_name(filter)}"
            _record(lambda: self.removeFilter(filter), what, _caller(), _logging_files)

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


# --- sys.path and sys.meta_path --------------------------------------------------------------

_path_seen: list[str] = []
_meta_seen: list[object] = []
#: The code object whose ``exec`` was seen last.
_last_exec: object = None
_paths: tuple[int, dict[str, str]] = (-1, {})
_observing = False


def _on_exec(args: tuple) -> None:
    """A code object is about to run (a module body, a statement rerun, any ``exec``)."""
    global _last_exec
    _look_at_path()
    _last_exec = args[0]  # whose it is is looked up only when the path changed


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
    _look_at_path()


def _look_at_path() -> None:
    """From an audit event: the frame that raised it is 3 up (this, the event's handler,
    runtime's audit hook)."""
    global _observing
    if _observing or _importing:
        return
    if len(sys.path) != len(_path_seen) or len(sys.meta_path) != len(_meta_seen):
        _observing = True
        try:
            _observe(sys._getframe(3))
        finally:
            _observing = False


def _module_of_path(path: str) -> str | None:
    global _paths
    generation, by_path = _paths
    if generation != runtime.generation:
        by_path = {record.path: record.name for record in list(runtime.records.values())}
        _paths = (runtime.generation, by_path)
    return by_path.get(path)


def observe() -> None:
    """Compare the import path with its snapshot, from one of the engine's hooks: what was
    added since belongs to the project code executed last."""
    global _observing
    if len(sys.path) == len(_path_seen) and len(sys.meta_path) == len(_meta_seen):
        return
    _observing = True
    try:
        _observe(None)
    finally:
        _observing = False


def _observe(frame: FrameType | None) -> None:
    """Tie what was added to the import path since the snapshot to the project statement
    that added it, seen from ``frame`` (the code running now), or None."""
    global _path_seen, _meta_seen
    path, meta = sys.path, sys.meta_path
    remaining = list(_path_seen)
    added_paths = []
    for entry in path:
        if entry in remaining:
            remaining.remove(entry)
        else:
            added_paths.append(entry)
    seen_ids = {id(finder) for finder in _meta_seen}
    added_finders = [finder for finder in meta if id(finder) not in seen_ids]
    _path_seen, _meta_seen = list(path), list(meta)
    if not added_paths and not added_finders:
        return
    where = _statement_changing_path(frame)
    if where is None:
        return
    module, line = where
    for entry in added_paths:
        disposal.register(module, line, _path_remover(entry), f"sys.path entry {entry!r}")
    for finder in added_finders:
        what = f"sys.meta_path finder {_name(type(finder))}"
        disposal.register(module, line, _finder_remover(finder), what)


def _path_remover(entry: str) -> Callable[[], None]:
    def undo() -> None:
        global _path_seen
        if entry in sys.path:
            sys.path.remove(entry)
        _path_seen = list(sys.path)

    return undo


def _finder_remover(finder: object) -> Callable[[], None]:
    def undo() -> None:
        global _meta_seen
        for index, current in enumerate(sys.meta_path):
            if current is finder:
                del sys.meta_path[index]
                break
        _meta_seen = list(sys.meta_path)

    return undo


_PATH_NAMES = ("path", "meta_path")


def _statement_changing_path(frame: FrameType | None) -> tuple[str, int] | None:
    """The project statement that changed the import path, as it is seen (at an audit event
    or a hook, maybe a few statements later): the last statement using ``sys.path`` or
    ``sys.meta_path`` (by its static facts) that ran in the module body running now, then
    in the project code executed last, else the statement running now. None for a
    library's own import-time code."""
    while frame is not None and frame.f_code.co_name != "<module>":
        if frame.f_code.co_filename.startswith(disposal.OURS):
            frame = None  # hmr-ast's own code runs: a rerun's statement ran before it
            break
        frame = frame.f_back
    running = None
    if frame is not None:
        record = runtime.record_for(frame.f_globals)
        if record is None:
            return None
        first = next((line for _, _, line in frame.f_code.co_lines() if line), 1)
        line = _touching_line(record, first, frame.f_lineno)
        if line is not None:
            return record.name, line
        running = (record.name, frame.f_lineno)
    code = _last_exec
    module = _module_of_path(code.co_filename) if isinstance(code, CodeType) else None
    if module is not None:
        lines = [line for _, _, line in code.co_lines() if line]
        first, last = (min(lines), max(lines)) if lines else (code.co_firstlineno,) * 2
        line = _touching_line(runtime.records[module], first, last)
        if line is not None:
            return module, line
        if running is None:
            return module, first
    return running


def _touching_line(record: runtime.ModuleRecord, low: int, high: int) -> int | None:
    """The first line of the last statement in ``low..high`` that uses ``sys.path`` or
    ``sys.meta_path``, by its static facts."""
    from . import static

    facts = record.meta.get("static") or {}
    best = None
    for unit in facts.get("units", ()):
        first = unit[static.FIRST]
        if first > high or unit[static.LAST] < low:
            continue
        for chain in unit[static.READS]:
            if (len(chain) > 1 and chain[0] == "sys" and chain[1] in _PATH_NAMES) or (
                chain[0] in _PATH_NAMES
            ):
                best = first
                break
    return best


def _caller() -> FrameType:
    """The frame that called the wrapper calling this."""
    return sys._getframe(2)
