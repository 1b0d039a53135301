"""What each statement of the program registered that must be undone before it runs again.

A statement that hands something to an owner hmr-ast cannot rerun (a handler to a ``logging``
logger, a function to ``atexit``, a callback to ``on_dispose``) leaves it there when it runs
again, unless it is taken back first. Each such registration is kept here with the module
and line of the statement that made it, and a stamp of the clock, so that the engine can undo
exactly what a statement registered before it reruns or goes: the lines a statement had when
it ran name it, and the stamp tells a new statement on overlapping lines from the old one.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Callable, Iterable
from types import FrameType

from . import errors, runtime


class Registration:
    """One thing a statement registered, and how to take it back."""

    __slots__ = ("line", "stamp", "undo", "what", "kind")

    def __init__(
        self, line: int | None, stamp: int, undo: Callable[[], object], what: str, kind: str
    ) -> None:
        self.line = line  # None: made outside the module's body; goes with any rerun of it
        self.stamp = stamp
        self.undo = undo
        self.what = what  # for messages: ``atexit.register(close)``
        self.kind = kind


OURS = os.path.dirname(os.path.abspath(__file__)) + os.sep
_by_module: dict[str, list[Registration]] = {}
_clock = 0
_lock = threading.Lock()


def mark() -> int:
    """A new point in time: what is registered from now on carries a stamp >= the result."""
    global _clock
    with _lock:
        _clock += 1
        return _clock


def calling_statement(frame: FrameType | None) -> tuple[str, int] | None:
    """(module, line) of the project statement whose execution made a call, from its frame
    up: the first ``<module>`` frame, if it is a project module's body. A library's own
    import-time code (the first module frame is not the project's) registers for itself,
    and so does hmr-ast (a call straight from our own code)."""
    if frame is not None and frame.f_code.co_filename.startswith(OURS):
        return None
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            record = runtime.record_for(frame.f_globals)
            return (record.name, frame.f_lineno) if record is not None else None
        frame = frame.f_back
    return None


def register(
    module: str, line: int | None, undo: Callable[[], object], what: str, kind: str = "effect"
) -> Registration:
    """Keep ``undo`` for the statement of ``module`` at ``line`` (None: the module's own)."""
    with _lock:
        registration = Registration(line, _clock, undo, what, kind)
        _by_module.setdefault(module, []).append(registration)
    return registration


def register_here(
    undo: Callable[[], object], what: str, frame: FrameType | None, kind: str = "effect"
) -> bool:
    """Register ``undo`` for the project statement that ``frame`` (the registering call)
    runs for; False when none does (a thread's code, a library's import)."""
    where = calling_statement(frame)
    if where is None:
        return False
    register(where[0], where[1], undo, what, kind)
    return True


def _take(module: str, chosen: Callable[[Registration], bool]) -> list[Registration]:
    with _lock:
        registrations = _by_module.get(module)
        if not registrations:
            return []
        taken = [r for r in registrations if chosen(r)]
        if taken:
            _by_module[module] = [r for r in registrations if not chosen(r)]
        return taken


def dispose_lines(
    module: str,
    spans: Iterable[tuple[int, int]],
    before: int | None = None,
    since: int | None = None,
) -> None:
    """Undo what the statements at these (first, last) lines of ``module`` registered
    (only before mark ``before``, or since mark ``since``, when given)."""
    spans = list(spans)
    if not spans:
        return

    def chosen(r: Registration) -> bool:
        if (before is not None and r.stamp >= before) or (since is not None and r.stamp < since):
            return False
        # What the module registered outside its body (a thread, a request) goes with any
        # statement of it that runs again: no statement made it, and the module changed.
        return r.line is None or any(first <= r.line <= last for first, last in spans)

    undo_all(module, _take(module, chosen))


def dispose_module(module: str) -> None:
    """Undo everything ``module`` registered."""
    undo_all(module, _take(module, lambda r: True))


def dispose_everything(only: Callable[[Registration], bool]) -> None:
    """Undo, in every module, the registrations ``only`` chooses (a restart's clean-up)."""
    for module in list(_by_module):
        undo_all(module, _take(module, only))


def move_lines(module: str, moves: Iterable[tuple[int, int, int]], before: int) -> None:
    """Registrations (made before mark ``before``) of statements that moved without
    running: ``(first, last, delta)`` in their old lines."""
    moves = list(moves)
    if not moves:
        return
    with _lock:
        for r in _by_module.get(module, ()):
            if r.line is None or r.stamp >= before:
                continue
            for first, last, delta in moves:
                if first <= r.line <= last:
                    r.line += delta
                    break


#: Where to say what was taken back (the engine's ``-v`` output), or None.
explain: Callable[[str], None] | None = None


def undo_all(module: str, registrations: list[Registration]) -> None:
    """Undo, newest first, as a stack: each finds the state it left behind."""
    for registration in reversed(registrations):
        if explain is not None:
            where = f"line {registration.line}" if registration.line is not None else "module"
            verb = "calling" if registration.kind == "on_dispose" else "taking back"
            explain(f"{module}: {where}: {verb} {registration.what}")
        try:
            registration.undo()
        except Exception as error:
            print(
                f"[hmr-ast] {registration.what} (registered by {module}, line "
                f"{registration.line}) raised while being undone:",
                file=sys.stderr,
            )
            errors.show(error)
