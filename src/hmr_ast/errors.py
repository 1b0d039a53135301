"""Show the user's exceptions exactly as plain Python would, without hmr-ast's frames.

The traceback (and every ``__cause__``/``__context__`` in its chain) is rebuilt without our
frames, importlib's (CPython hides those too) and whatever ran below one of our frames until
the user's code appears again (``ast.parse`` under the transform, say). Then the exception
goes through ``sys.excepthook``, so carets, "Did you mean" hints and a user's own hook all
behave as they do without hmr-ast.
"""

from __future__ import annotations

import os
import sys
from types import TracebackType

_HMR_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
_IMPORTLIB = ("<frozen importlib._bootstrap", "importlib/_bootstrap")


def _ours(filename: str) -> bool:
    return filename.startswith(_HMR_DIR)


def user_frames(tb: TracebackType | None) -> list[TracebackType]:
    kept = []
    below_ours = False
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if _ours(filename):
            below_ours = True
        elif any(marker in filename for marker in _IMPORTLIB):
            pass
        elif below_ours and not _users(filename):
            pass
        else:
            below_ours = False
            kept.append(tb)
        tb = tb.tb_next
    return kept


def _users(filename: str) -> bool:
    from . import runtime

    return any(record.path == filename for record in list(runtime.records.values()))


def _rebuild(frames: list[TracebackType]) -> TracebackType | None:
    tb = None
    for frame in reversed(frames):
        tb = TracebackType(tb, frame.tb_frame, frame.tb_lasti, frame.tb_lineno)
    return tb


def strip_our_frames(error: BaseException) -> BaseException:
    """Remove hmr-ast's frames from ``error`` and the exceptions chained to it (in place)."""
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        current.__traceback__ = _rebuild(user_frames(current.__traceback__))
        pending += [current.__cause__, current.__context__]
    return error


def show(error: BaseException) -> None:
    """Print ``error`` to stderr as Python prints an uncaught exception."""
    strip_our_frames(error)
    sys.stderr.flush()
    try:
        sys.excepthook(type(error), error, error.__traceback__)
    except Exception:
        sys.__excepthook__(type(error), error, error.__traceback__)
    sys.stderr.flush()


def location(error: BaseException, fallback: str) -> str:
    """``file, line N`` where ``error`` happened in the user's code."""
    if isinstance(error, SyntaxError) and error.filename:
        return f"{error.filename}, line {error.lineno}"
    frames = user_frames(error.__traceback__)
    if frames:
        code = frames[-1].tb_frame.f_code
        return f"{code.co_filename}, line {frames[-1].tb_lineno}"
    return fallback


def display_path(path: str) -> str:
    """``path`` relative to the current folder when it lies below it, else as given."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative
