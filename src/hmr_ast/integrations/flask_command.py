"""``hmr-ast flask [flask's own arguments]``: Flask's CLI, with ``run`` served hot.

Flask's click group runs as is, in this process, as the session's entry: every command and
option works as users type it (``--app``, ``--debug``, ``--env-file``, ``run --port``,
``routes``, ``shell``, the project's own commands), and the app's modules are imported
through the hook. ``run`` serves with werkzeug's own server and debugger, but never starts
werkzeug's reloader process: the server gets a front (``wsgi.WSGIFront``) that dispatches to
the current app. After each batch of edits the app is found again as ``run`` found it
(``--app``, ``FLASK_APP``, ``wsgi.py``/``app.py``, a factory called again); a new object is
swapped in, between requests (``boundary.RequestBoundary``). A broken edit shows its error in
werkzeug's debugger page (with the debugger on) or leaves the previous code serving, until
an edit fixes it.

hmr-ast's own options (``--refresh``, ``--drain-timeout``, ``--include``, ``--exclude``,
``-v``, ``-q``) may stand anywhere on the line; the rest is Flask's.
"""

from __future__ import annotations

import os
import sys
from typing import Any

try:
    import click
    import werkzeug.serving
    from flask import cli as flask_cli
except ImportError as missing:  # pragma: no cover - only without the extra
    sys.exit(f"hmr-ast flask needs Flask ({missing}): pip install 'hmr-ast[flask]'")

from .. import errors
from ..config import scope_for
from ..engine import Outcome
from ..session import Entry, Session
from .boundary import RequestBoundary
from .options import HELP, OurOptions, split_ours
from .wsgi import WSGIFront, raising
from .wsgi_refresh import ThreadRefresher


class FlaskRunner:
    """Runs Flask's CLI; when ``run`` serves, keeps serving the current app."""

    def __init__(self, argv: list[str], ours: OurOptions) -> None:
        self.argv = argv
        self.ours = ours
        scope = scope_for([os.getcwd()], ours.include, ours.exclude)
        self.session = Session(Entry(call=self.main), [], scope, ours.verbosity)
        self.boundary = RequestBoundary(
            drain_seconds=ours.drain_timeout, explain=self.session.explain
        )
        self.front: WSGIFront | None = None
        self.info: flask_cli.ScriptInfo | None = None
        self.debugger = False
        self.loaded = True  # False while the app does not load (since start)

    def main(self) -> int:
        """The session's entry: Flask's CLI, with ``run_simple`` replaced by ``serve``."""
        flask_cli.run_simple = self.serve  # what ``flask run`` calls (flask.cli's global)
        # As in werkzeug's reloader process: an app that does not load at start is served as
        # its error (``run`` answers every request by raising it) instead of ending the
        # command; flask.cli reads this to choose, and to skip its banner (said in ``serve``).
        flask_cli.is_running_from_reloader = lambda: True
        code = flask_cli.cli.main(args=self.argv, prog_name="hmr-ast flask")
        return code if isinstance(code, int) else 0

    def serve(self, hostname: str, port: int, application: Any, **options: Any) -> None:
        """``werkzeug.serving.run_simple`` as ``flask run`` calls it, without the reloader."""
        self.info = click.get_current_context().ensure_object(flask_cli.ScriptInfo)
        if options.pop("use_reloader", False):
            self.session.explain("werkzeug's reloader is off: hmr-ast reloads in this process")
        for name in ("extra_files", "exclude_patterns", "reloader_interval", "reloader_type"):
            options.pop(name, None)
        self.debugger = bool(options.get("use_debugger"))
        refresher = ThreadRefresher() if self.ours.refresh else None
        self.front = WSGIFront(application, self.boundary, refresher=refresher)
        self._banner()
        if "run_command" in getattr(application, "__qualname__", ""):
            # run's stand-in that raises the load error (it printed the traceback)
            self.loaded = False
            self.session.log("the app does not load; serving its error until an edit fixes it")
        engine = self.session.engine
        engine.batch_gates.append(self.boundary.gate)
        engine.after_batch.append(self._after_batch)
        served: Any = self.front
        if options.pop("use_debugger", False):
            served = _debugged(self.front, hostname, options.pop("use_evalex", True))
        try:
            werkzeug.serving.run_simple(hostname, port, served, use_reloader=False, **options)
        finally:
            if refresher is not None:
                refresher.close()

    def _banner(self) -> None:
        """What ``flask run`` says first (``show_server_banner``, which skips it in a
        reloader's process, as flask.cli now believes this is)."""
        debug = flask_cli.get_debug_flag()
        assert self.info is not None
        if self.info.app_import_path is not None:
            click.echo(f" * Serving Flask app '{self.info.app_import_path}'")
        click.echo(f" * Debug mode: {'on' if debug else 'off'}")

    def _load(self) -> Any:
        """The app, found again exactly as ``flask run`` found it at start."""
        info = self.info
        assert info is not None
        fresh = flask_cli.ScriptInfo(
            app_import_path=info.app_import_path,
            create_app=info.create_app,
            set_debug_flag=info.set_debug_flag,
        )
        return fresh.load_app()

    def _after_batch(self, outcome: Outcome) -> None:
        """On the thread that applied the batch, inside its gates: no request runs."""
        front = self.front
        if front is None or not (outcome.reran or outcome.failed or not self.loaded):
            return
        failing = [name for name in outcome.failed if name in self.session.engine.failed]
        if failing:  # (a module that failed, then ran well later in the batch, recovered)
            self._failed(failing[0], outcome)
            return
        try:
            app = self._load()
        except Exception as error:
            errors.show(error)
            front.fail(raising(errors.strip_our_frames(error)) if self.debugger else None)
            self.session.log(f"the app does not load: {type(error).__name__}: {error}")
            return
        if not self.loaded:
            self.loaded = True
            self.session.log("the app loads now")
        if app is front.current:
            front.reloaded()
            patched = sorted(f"{m}.{n}" for m, names in outcome.patched.items() for n in names)
            self.session.explain(
                "same app object, kept"
                + (f"; patched in place: {', '.join(patched)}" if patched else "")
            )
            return
        front.swap(app)
        self.session.explain(
            f"serving a new app object (#{front.swaps + 1}): "
            f"{', '.join(outcome.reran)} ran again and made it"
        )

    def _failed(self, module: str, outcome: Outcome) -> None:
        assert self.front is not None
        error = outcome.errors.get(module)
        if self.debugger and error is not None:
            self.front.fail(raising(errors.strip_our_frames(error)))
            self.session.log(
                f"{module} failed: the debugger page shows the error until an edit fixes it"
            )
        else:
            self.session.log(f"{module} failed: still serving the previous code")


def _debugged(front: WSGIFront, hostname: str, evalex: bool) -> Any:
    """werkzeug's debugger around the front, as ``run_simple`` would wrap it, saying its PIN
    (werkzeug says it only in a reloader's child process, and there is none here)."""
    from werkzeug._internal import _log
    from werkzeug.debug import DebuggedApplication

    debugged = DebuggedApplication(front, evalex=evalex)
    debugged.trusted_hosts.append(hostname)
    _log("warning", " * Debugger is active!")
    if debugged.pin is None:
        _log("warning", " * Debugger PIN disabled. DEBUGGER UNSECURED!")
    else:
        _log("info", " * Debugger PIN: %s", debugged.pin)
    return debugged


def main(argv: list[str]) -> int:
    """``hmr-ast flask ...``: returns the exit code."""
    try:
        ours, rest = split_ours(argv)
    except ValueError as mistake:
        sys.stderr.write(f"hmr-ast flask: {mistake}\n")
        return 2
    if "--help" in rest:
        sys.stdout.write(HELP + "\n")
    from ..cli import _exit_now

    code = FlaskRunner(rest, ours).session.run()
    _exit_now(code)
    return code
