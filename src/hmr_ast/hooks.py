"""Where the engine tells the lifecycle API and the undo of built-in side effects what it
is about to do: the seam between the engine and ``hmr_ast.lifecycle``.

The engine calls these at fixed points of a batch; nothing else does. Statements are named
by the lines they had when they last ran (a statement registers what it does while it runs,
and a frame knows its line, not its statement). The work is done elsewhere: ``disposal``
keeps what each statement registered, ``builtin_effects`` records what project code hands
to the standard library, ``lifecycle`` is the program's own API (imported by the program
when it uses it: until then it has registered nothing).

Importing this module (the engine does, before any project code runs) installs the
recorders of built-in side effects, and marks this process as one hmr-ast reloads.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable

from . import builtin_effects, disposal, import_path_effects

#: The process hmr-ast reloads (a forked child has another pid, and never reloads).
PID = os.getpid()

builtin_effects.install()


def set_explain(explain: Callable[[str], None] | None) -> None:
    """Where to say (under ``-v``) what is taken back before a statement reruns."""
    disposal.explain = explain


def before_batch(modules: set[str]) -> None:
    """A batch is about to rerun ``modules`` (and what depends on them)."""
    import_path_effects.observe()
    lifecycle = sys.modules.get("hmr_ast.lifecycle")  # not imported: no hook to call
    if lifecycle is not None:
        lifecycle.call_reload_hooks(before=True)


def after_batch(outcome: object | None) -> None:
    """A batch ended: its ``engine.Outcome``, or None when it raised."""
    import_path_effects.observe()
    lifecycle = sys.modules.get("hmr_ast.lifecycle")
    if outcome is not None and lifecycle is not None:
        lifecycle.call_reload_hooks(before=False)


def mark() -> int:
    """A point in time: registrations made before it and since it can be told apart (a
    statement-level rerun's new lines overlap the old lines of statements that did not run)."""
    import_path_effects.observe()
    return disposal.mark()


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
    spans = list(spans)
    import_path_effects.observe()
    if spans:
        _restart_instead(module)
    disposal.dispose_lines(module, spans, before=before, since=since)


def move_lines(module: str, moves: Iterable[tuple[int, int, int]], *, before: int) -> None:
    """Statements that did not run moved: ``(first, last, delta)`` in their old lines, for
    what was registered before mark ``before``."""
    import_path_effects.observe()
    disposal.move_lines(module, moves, before)


def dispose_module(module: str) -> None:
    """The whole of ``module`` is about to run again, or it is gone."""
    import_path_effects.observe()
    _restart_instead(module)
    disposal.dispose_module(module)


def restart_reason(modules: set[str]) -> str | None:
    """Why an edit to ``modules`` must restart the program instead (``restart_on_change``)."""
    lifecycle = sys.modules.get("hmr_ast.lifecycle")
    return lifecycle.restart_reason(modules) if lifecycle is not None else None


def _restart_instead(module: str) -> None:
    """A module that cannot be hot-swapped (``restart_on_change``) is about to run again
    because what it reads changed: restart the program instead (an edit of its own
    restarted it before the batch began)."""
    lifecycle = sys.modules.get("hmr_ast.lifecycle")
    reason = lifecycle.rerun_restart_reason(module) if lifecycle is not None else None
    if reason is None:
        return
    if _interactive_shell():
        print(
            f"[hmr-ast] {reason}: it runs again in place (an IPython shell or kernel is not "
            "restarted: restart it to start afresh)",
            file=sys.stderr,
            flush=True,
        )
        return
    print(f"[hmr-ast] restarting: {reason}", file=sys.stderr, flush=True)
    restart(reason)


def _interactive_shell() -> bool:
    """An IPython shell or kernel runs here: replacing its process would lose the user's
    variables (and a kernel's connection) without a word."""
    ipython = sys.modules.get("IPython")
    get_ipython = getattr(ipython, "get_ipython", None)
    return get_ipython is not None and get_ipython() is not None


def restart(reason: str) -> None:
    """Replace the process with a fresh run of the same command, saying ``reason``."""
    from . import lifecycle

    lifecycle.restart_process(reason)
