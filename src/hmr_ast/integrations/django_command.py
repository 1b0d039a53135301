"""``hmr-ast django [manage.py's arguments]``: ``runserver`` served hot, other commands as is.

``DJANGO_SETTINGS_MODULE`` is found as ``manage.py`` finds it: the environment first, else
the default ``manage.py`` (in the current folder) sets with ``os.environ.setdefault``; the
current folder goes first on ``sys.path``, as ``python manage.py`` puts it there.

``runserver`` runs Django's own command (its checks, its banner, its options, the static
files handler) in this process, as the session's entry, without its autoreloader: the
project's modules are imported through the hook, and the server Django builds is given a
front (``wsgi.WSGIFront``) that applies edits between requests. What an edit does to a
running Django is ``django_reload``'s business: most apply in place; settings, models,
migrations and ``apps.py`` restart the process, on the same listening socket (handed to the
new process), so a request sent meanwhile waits for the new server instead of failing.

Any other command (``migrate``, ``shell``, ``test``...) runs exactly as ``python manage.py``
would run it, without the hook.
"""

from __future__ import annotations

import ast
import os
import socket
import sys
import time
from threading import Event
from typing import Any

try:
    import django
    from django.core.management import execute_from_command_line
except ImportError as missing:  # pragma: no cover - only without the extra
    sys.exit(f"hmr-ast django needs Django ({missing}): pip install 'hmr-ast[django]'")

from .. import lifecycle
from ..config import scope_for
from ..engine import Outcome
from ..session import Entry, Session
from . import django_reload
from .boundary import RequestBoundary
from .options import HELP, OurOptions, split_ours
from .wsgi import WSGIFront
from .wsgi_refresh import ThreadRefresher

#: The listening socket's descriptor, handed to the process a restart replaces us with.
LISTEN_FD = "HMR_AST_DJANGO_LISTEN_FD"


def settings_from_manage_py(folder: str) -> str | None:
    """The settings module ``manage.py`` in ``folder`` sets as its default, if any."""
    path = os.path.join(folder, "manage.py")
    try:
        with open(path, encoding="utf-8") as source:
            tree = ast.parse(source.read(), path)
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "setdefault"
            and len(node.args) == 2
            and all(isinstance(arg, ast.Constant) for arg in node.args)
            and node.args[0].value == "DJANGO_SETTINGS_MODULE"  # type: ignore[attr-defined]
        ):
            return str(node.args[1].value)  # type: ignore[attr-defined]
    return None


class DjangoRunner:
    """Runs ``runserver`` in this process and keeps it serving the current code."""

    def __init__(self, argv: list[str], ours: OurOptions) -> None:
        self.argv = argv
        self.ours = ours
        scope = scope_for([os.getcwd()], ours.include, ours.exclude)
        self.session = Session(Entry(call=self.main), [], scope, ours.verbosity)
        self.boundary = RequestBoundary(
            drain_seconds=ours.drain_timeout, explain=self.session.explain
        )
        self.front: WSGIFront | None = None
        self.handler: Any = None
        self.httpd: Any = None
        self.restarting = Event()
        self.admin = django_reload.AdminRegistrations()

    def main(self) -> int:
        """The session's entry: Django's runserver, serving through ``serve``."""
        from django.core.management.commands import runserver

        runserver.run = self.serve  # what runserver's inner_run calls (the module's global)
        setup = django.setup

        def setup_then_admin(*args: Any, **kwargs: Any) -> None:
            self._before_setup()
            setup(*args, **kwargs)

        django.setup = setup_then_admin
        argv = ["manage.py", *self.argv]
        if "--noreload" not in argv:
            argv.append("--noreload")
        execute_from_command_line(argv)
        return 0

    def _before_setup(self) -> None:
        """Before Django imports the project's apps: registrations tie to their statements."""
        from django.conf import settings

        if "django.contrib.admin" in settings.INSTALLED_APPS:
            self.admin.install()

    def serve(
        self,
        addr: str,
        port: int,
        wsgi_handler: Any,
        ipv6: bool = False,
        threading: bool = False,
        on_bind: Any = None,
        server_cls: Any = None,
    ) -> None:
        """``django.core.servers.basehttp.run``, serving the front."""
        import socketserver

        from django.core.servers.basehttp import WSGIRequestHandler, WSGIServer

        self.handler = wsgi_handler
        refresher = ThreadRefresher() if self.ours.refresh else None
        self.front = WSGIFront(wsgi_handler, self.boundary, refresher=refresher)
        engine = self.session.engine
        self._restart_before_batches()
        engine.batch_gates.append(self.boundary.gate)
        engine.after_batch.append(self._after_batch)
        templates = django_reload.TemplateWatcher(self._templates_changed)
        templates.start()

        server_cls = server_cls or WSGIServer
        if threading:
            server_cls = type("WSGIServer", (socketserver.ThreadingMixIn, server_cls), {})
        httpd = _server(server_cls, (addr, port), WSGIRequestHandler, ipv6)
        self.httpd = httpd
        if on_bind is not None:
            on_bind(getattr(httpd, "server_port", port))
        if threading:
            httpd.daemon_threads = True
        httpd.set_app(self.front)
        try:
            httpd.serve_forever()
        finally:
            templates.stop()
        if self.restarting.is_set():  # the watcher thread replaces this process
            Event().wait()

    # --- after each batch ------------------------------------------------------------

    def _after_batch(self, outcome: Outcome) -> None:
        """On the thread that applied the batch, inside its gates: no request runs."""
        from django.conf import settings

        front = self.front
        if front is None or not (outcome.reran or outcome.failed):
            return
        failing = [name for name in outcome.failed if name in self.session.engine.failed]
        if failing:
            error = outcome.errors.get(failing[0])
            if settings.DEBUG and error is not None:
                front.fail(django_reload.technical_500(error))
                self.session.log(
                    f"{failing[0]} failed: pages show Django's technical 500 until an edit fixes it"
                )
            else:
                self.session.log(f"{failing[0]} failed: still serving the previous code")
            return
        done = django_reload.refresh_django(self.handler, self.admin)
        front.reloaded()
        patched = sorted(f"{m}.{n}" for m, names in outcome.patched.items() for n in names)
        if patched:
            done.append(f"patched in place: {', '.join(patched)}")
        self.session.explain(
            f"serving the new code ({', '.join(outcome.reran)}): " + "; ".join(done)
        )

    def _templates_changed(self) -> None:
        self.session.log("templates changed: template loaders reset")
        if self.front is not None:
            self.front.reloaded()

    # --- restarts --------------------------------------------------------------------

    def _restart_before_batches(self) -> None:
        """A batch touching settings, models, migrations or apps.py restarts instead.
        (The engine's ``apply`` is wrapped on this engine only: it stays untouched.)"""
        engine = self.session.engine
        apply = engine.apply

        def apply_or_restart(modules: set[str], **options: Any) -> Outcome:
            reason = django_reload.restart_reason(modules)
            if reason is not None:
                self._restart(reason)
            return apply(modules, **options)

        engine.apply = apply_or_restart  # type: ignore[method-assign]

    def _restart(self, reason: str) -> None:
        """Stop accepting (the socket stays open: new connections wait in its backlog), let
        the requests in flight finish, then replace the process, handing it the socket."""
        self.session.log(f"restarting: {reason}")
        httpd = self.httpd
        if httpd is not None:
            self.restarting.set()
            httpd.shutdown()  # returns once the server has stopped accepting
            self._wait_for_requests_in_flight()
            fd = httpd.socket.fileno()
            os.set_inheritable(fd, True)
            os.environ[LISTEN_FD] = str(fd)
        lifecycle.restart_process(reason)

    def _wait_for_requests_in_flight(self) -> None:
        """Until no request has been in flight for a while (one accepted just before the
        server stopped may still be on its way in), bounded by ``--drain-timeout``."""
        deadline = time.monotonic() + self.ours.drain_timeout
        quiet_since = time.monotonic()
        while time.monotonic() < deadline:
            if self.boundary.in_flight:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.1:
                return
            time.sleep(0.005)
        self.session.explain("requests still in flight: restarting anyway")


def _server(server_cls: Any, address: tuple[str, int], handler: Any, ipv6: bool) -> Any:
    """Django's server, on a fresh socket, or on the one a restart handed over."""
    inherited = os.environ.pop(LISTEN_FD, None)
    if inherited is None:
        return server_cls(address, handler, ipv6=ipv6)
    httpd = server_cls(address, handler, ipv6=ipv6, bind_and_activate=False)
    httpd.socket.close()
    httpd.socket = socket.socket(fileno=int(inherited))
    httpd.socket.set_inheritable(False)
    host, port = httpd.socket.getsockname()[:2]
    httpd.server_address = (host, port)
    httpd.server_name = socket.getfqdn(host)
    httpd.server_port = port
    httpd.setup_environ()
    return httpd


def main(argv: list[str]) -> int:
    """``hmr-ast django ...``: returns the exit code."""
    try:
        ours, rest = split_ours(argv, verbosity_is_theirs=True)
    except ValueError as mistake:
        if argv[:1] == ["runserver"] or "runserver" not in argv:
            sys.stderr.write(f"hmr-ast django: {mistake}\n")
            return 2
        ours, rest = OurOptions(), argv
    command = rest[0] if rest else None
    if command != "runserver":  # every argument is Django's, as with manage.py
        rest = argv
    folder = os.getcwd()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    default = settings_from_manage_py(folder)
    if default is not None:
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", default)
    if command != "runserver":
        if command in (None, "help"):
            sys.stdout.write(HELP + "\n")
        execute_from_command_line(["manage.py", *rest])
        return 0
    from ..cli import _exit_now

    code = DjangoRunner(rest, ours).session.run()
    _exit_now(code)
    return code
