"""``sys.path`` and ``sys.meta_path`` entries the project adds, tied to the statement that
added them so that they are removed before it reruns or goes.

Lists cannot be wrapped without being replaced (which a program would see), so they are
compared with a snapshot where hmr-ast gets control anyway: the ``import`` and ``exec``
audit events (an insertion is usually followed by the import it is for) and the engine's
hooks. What was added is tied to the last statement using ``sys.path`` or ``sys.meta_path``
(by its static facts) in the module body running then, else in the project code executed
last, else to the statement running.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import CodeType, FrameType

from . import disposal, own_writes, runtime

#: Taken at import: a program (attrs' own tests) may delete ``sys._getframe`` while
#: project code still registers things.
_GETFRAME = sys._getframe

_path_seen: list[str] = []
_meta_seen: list[object] = []
#: The code object whose ``exec`` was seen last.
_last_exec: object = None
_paths: tuple[int, dict[str, str]] = (-1, {})
_observing = False


def install() -> None:
    """Take the first snapshot and look again at each ``exec`` (and, from builtin_effects,
    ``import``) audit event, which runtime's audit hook dispatches by name through
    ``own_writes.EVENTS``: a hook of our own would cost ~80 ns on every audit event (id()
    is one: ~13,000 in a 200-module start-up), an entry there nothing on the others."""
    global _path_seen, _meta_seen
    _path_seen, _meta_seen = list(sys.path), list(sys.meta_path)
    own_writes.EVENTS["exec"] = _on_exec


def _on_exec(args: tuple) -> None:
    """A code object is about to run (a module body, a statement rerun, any ``exec``)."""
    global _last_exec
    look_from_event()
    _last_exec = args[0]  # whose it is is looked up only when the path changed


def look_from_event() -> None:
    """Called by an audit event's handler: the frame that raised the event is 3 up (this,
    the handler, runtime's audit hook)."""
    global _observing
    if _observing:
        return
    if len(sys.path) != len(_path_seen) or len(sys.meta_path) != len(_meta_seen):
        _observing = True
        try:
            _observe(_GETFRAME(3))
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
        what = f"sys.meta_path finder {type(finder).__qualname__}"
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
