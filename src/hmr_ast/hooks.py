"""Where the engine tells the lifecycle API and the undo of built-in side effects what it
is about to do: the seam between the engine and ``hmr_ast.lifecycle``.

The engine calls these at fixed points of a batch; nothing else does. Statements are named
by the lines they had when they last ran (a statement registers what it does while it runs,
and a frame knows its line, not its statement).
"""

from __future__ import annotations

from collections.abc import Iterable


def before_batch(modules: set[str]) -> None:
    """A batch is about to rerun ``modules`` (and what depends on them)."""


def after_batch(outcome: object | None) -> None:
    """A batch ended: its ``engine.Outcome``, or None when it raised."""


def mark() -> int:
    """A point in time: registrations made before it and since it can be told apart (a
    statement-level rerun's new lines overlap the old lines of statements that did not run)."""
    return 0


def dispose_lines(
    module: str,
    spans: Iterable[tuple[int, int]],
    *,
    before: int | None = None,
    since: int | None = None,
) -> None:
    """The statements of ``module`` that ran at these (first, last) lines are about to run
    again or are gone: undo what they registered (only what was registered ``before`` a
    mark, or ``since`` one, when given)."""


def move_lines(module: str, moves: Iterable[tuple[int, int, int]], *, before: int) -> None:
    """Statements that did not run moved: ``(first, last, delta)`` in their old lines, for
    what was registered before mark ``before``."""


def dispose_module(module: str) -> None:
    """The whole of ``module`` is about to run again, or it is gone."""


def restart_reason(modules: set[str]) -> str | None:
    """Why an edit to ``modules`` must restart the program instead (``restart_on_change``)."""
    return None


def restart(reason: str) -> None:
    """Replace the process with a fresh run of the same command, saying ``reason``."""
    raise NotImplementedError(reason)
