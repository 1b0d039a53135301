"""Files the program itself writes: their change events are its own doing, not edits.

A program that writes a file it also reads (a cache, a log, an upload folder, a sqlite
database, a test suite's scratch files) must not reload or restart itself. Python's audit
events name every path the process opens for writing, creates, renames or removes; a change
event for such a path (or a path below it) within ``WINDOW`` seconds is the program's own.
A file kept open for writing (a log handler, a sqlite connection) changes long after it was
opened: on Linux the open file table tells which files are held so, at the moment a change
arrives.

Imported by ``runtime`` at start-up: standard library only, and each audit event costs one
dictionary lookup unless it names a write.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

#: How long after the process touched a path its change events count as its own (seconds).
WINDOW = 2.0

#: Absolute path -> (when it was last touched, by what), for paths the process wrote.
touched: dict[str, tuple[float, str]] = {}


def _note(path: object, what: str) -> None:
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str):
        touched[os.path.abspath(path)] = (time.monotonic(), what)


def opened(args: tuple) -> bool:
    """For an ``open`` event: note the path if it is opened for writing; say whether it was."""
    path, mode, flags = args
    if mode is None:
        writes = bool(flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
    else:
        writes = isinstance(mode, str) and any(letter in mode for letter in "wax+")
    if writes and not isinstance(path, int):
        _note(path, "opened for writing")
    return writes


def _first(what: str) -> Callable[[tuple], None]:
    return lambda args: _note(args[0], what)


def _both(what: str) -> Callable[[tuple], None]:
    def note(args: tuple) -> None:
        _note(args[0], what)
        _note(args[1], what)

    return note


def _sqlite(args: tuple) -> None:
    database = args[0]
    if isinstance(database, (str, bytes, os.PathLike)) and os.fspath(database) not in (
        ":memory:",
        b":memory:",
        "",
    ):
        path = os.fspath(database)
        for suffix in ("", "-journal", "-wal", "-shm"):
            _note(path + (suffix if isinstance(path, str) else suffix.encode()), "sqlite")


#: Audit event (but ``open``, which ``runtime`` reads first) -> what it says of its paths.
EVENTS: dict[str, Callable[[tuple], None]] = {
    "os.remove": _first("removed"),
    "os.rmdir": _first("removed"),
    "os.mkdir": _first("created"),
    "os.truncate": _first("truncated"),
    "os.utime": _first("touched"),
    "os.chmod": _first("changed its mode"),
    "os.rename": _both("renamed"),
    "os.link": _both("linked"),
    "os.symlink": _both("linked"),
    "shutil.rmtree": _first("removed"),
    "shutil.move": _both("moved"),
    "shutil.copyfile": _both("copied"),
    "tempfile.mkstemp": _first("created"),
    "tempfile.mkdtemp": _first("created"),
    "sqlite3.connect": _sqlite,
}


def why_own(path: str, now: float | None = None) -> str | None:
    """Why a change to ``path`` is the program's own doing, or None if it is not."""
    now = time.monotonic() if now is None else now
    current = os.path.abspath(path)
    while True:
        seen = touched.get(current)
        if seen is not None and now - seen[0] <= WINDOW:
            where = "" if current == os.path.abspath(path) else f" ({current})"
            return f"the program {seen[1]} it{where} {now - seen[0]:.2f} s before"
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if os.path.abspath(path) in held_for_writing():
        return "the program holds it open for writing"
    return None


def held_for_writing() -> set[str]:
    """Files this process has open for writing now (Linux; elsewhere none are known)."""
    held: set[str] = set()
    try:
        descriptors = os.listdir("/proc/self/fd")
    except OSError:
        return held
    for fd in descriptors:
        try:
            with open(f"/proc/self/fdinfo/{fd}", "rb") as info:
                flags = next(
                    (int(line.split()[1], 8) for line in info if line.startswith(b"flags:")), 0
                )
            if flags & (os.O_WRONLY | os.O_RDWR):
                held.add(os.readlink(f"/proc/self/fd/{fd}"))
        except (OSError, ValueError):
            continue
    return held
