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

#: Absolute path -> (when it was last touched, by what, whether what lies below it counts:
#: a folder removed, created or renamed, not one merely opened, as ``O_TMPFILE`` opens /tmp).
touched: dict[str, tuple[float, str, bool]] = {}

#: What the process did to a path that covers everything below it.
_WHOLE_TREE = frozenset({"removed", "created", "renamed", "moved", "copied"})


def _note(path: object, what: str) -> None:
    if isinstance(path, os.PathLike):
        path = os.fspath(path)
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if isinstance(path, str):
        touched[os.path.abspath(path)] = (time.monotonic(), what, what in _WHOLE_TREE)


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


def _path(
    what: str, index: int = 0, dir_fd: int | None = None, new_only: bool = False
) -> Callable[[tuple], None]:
    """A handler noting ``args[index]``; a relative path with a folder descriptor
    (``args[dir_fd]``, as ``shutil.rmtree`` removes what is inside) is left to the event
    that names the folder. ``new_only``: the event comes before the call, which fails (and
    creates nothing) when the path exists (``os.makedirs(..., exist_ok=True)``)."""

    def note(args: tuple) -> None:
        path = args[index]
        fd = args[dir_fd] if dir_fd is not None and dir_fd < len(args) else None
        relative_to_fd = isinstance(fd, int) and fd >= 0
        if relative_to_fd and isinstance(path, (str, bytes)) and not os.path.isabs(path):
            return
        if new_only and isinstance(path, (str, bytes, os.PathLike)) and os.path.exists(path):
            return
        _note(path, what)

    return note


def _both(what: str, dir_fds: tuple[int, int] | None = None) -> Callable[[tuple], None]:
    first = _path(what, 0, dir_fds[0] if dir_fds else None)
    second = _path(what, 1, dir_fds[1] if dir_fds else None)

    def note(args: tuple) -> None:
        first(args)
        second(args)

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
            _note(path + (suffix if isinstance(path, str) else suffix.encode()), "uses")


#: Audit event (but ``open``, which ``runtime`` reads first) -> what it says of its paths.
EVENTS: dict[str, Callable[[tuple], None]] = {
    "os.remove": _path("removed", dir_fd=1),
    "os.rmdir": _path("removed", dir_fd=1),
    "os.mkdir": _path("created", dir_fd=2, new_only=True),
    "os.truncate": _path("truncated"),
    "os.utime": _path("touched", dir_fd=3),
    "os.chmod": _path("changed the mode of", dir_fd=2),
    "os.rename": _both("renamed", (2, 3)),
    "os.link": _both("linked", (2, 3)),
    "os.symlink": _path("linked", 1, dir_fd=2),
    "shutil.rmtree": _path("removed", dir_fd=1),
    "shutil.move": _both("moved"),
    "shutil.copyfile": _path("copied", 1),
    "tempfile.mkstemp": _path("created"),
    "tempfile.mkdtemp": _path("created"),
    "sqlite3.connect": _sqlite,
}


def why_own(
    path: str,
    now: float | None = None,
    held: Callable[[], set[str]] = lambda: held_for_writing(),
    ever: bool = False,
) -> str | None:
    """Why a change to ``path`` is the program's own doing, or None if it is not.

    ``held``: the files held open for writing (a batch reads them once, when a path needs it).
    ``ever``: for a sweep after no watch was in place, a change is the program's own if it
    ever wrote the path (a change it made then is not seen as an event at all)."""
    now = time.monotonic() if now is None else now
    window = float("inf") if ever else WINDOW
    path = current = os.path.abspath(path)
    while True:
        seen = touched.get(current)
        if seen is not None and now - seen[0] <= window and (current == path or seen[2]):
            what = "it" if current == path else f"{current}"
            return f"the program {seen[1]} {what} {now - seen[0]:.2f} s before"
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    if path in held():
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
