"""``hmr-ast uvicorn MODULE:ATTR [uvicorn's options]``: one uvicorn server, apps swapped in place.

uvicorn runs in this process, as the session's entry on the main thread, serving the front
(``asgi.AppFront``). MODULE is imported through the hook like any project module, so an
edit reruns what it affects; after each batch, if ``MODULE:ATTR`` is a new object (or, with
``--factory``, after any rerun) the front starts it and hands it the traffic. Each batch is
applied between requests (``boundary.RequestBoundary``, one of the engine's batch gates):
the watcher thread applies it while uvicorn's loop serves on the main thread, so the plain
requests in flight drain first (up to ``--drain-timeout``) and new ones wait for the batch
and the new app. The command line is uvicorn's own: its click options are reused, so every
flag users type still works.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from typing import Any

try:
    import click
    import uvicorn
    from uvicorn.config import LOGGING_CONFIG, Config
    from uvicorn.main import main as uvicorn_main
except ImportError as missing:  # pragma: no cover - only without the extra
    sys.exit(f"hmr-ast uvicorn needs uvicorn ({missing}): pip install 'hmr-ast[asgi]'")

from .. import errors
from ..cli import _exit_now
from ..config import scope_for
from ..engine import Outcome
from ..session import Entry, Session
from .asgi import AppFront, ASGIApp
from .boundary import RequestBoundary
from .refresh import Refresher

#: uvicorn's own reloader and process manager: hmr-ast replaces the first, has no use for
#: the second.
_RELOAD_OPTIONS = ("reload", "reload_dirs", "reload_includes", "reload_excludes", "reload_delay")


class HotServer(uvicorn.Server):
    """uvicorn's server, telling the front which loop it runs on and when it stops."""

    def __init__(self, config: Config, front: AppFront) -> None:
        super().__init__(config)
        self.front = front

    async def startup(self, sockets=None) -> None:
        self.front.attach(asyncio.get_running_loop())
        await super().startup(sockets)

    async def shutdown(self, sockets=None) -> None:
        self.front.closing()
        await super().shutdown(sockets)


class Runner:
    """Imports the app, serves it, and swaps in each new one the engine produces."""

    def __init__(self, target: str, options: dict[str, Any], ours: dict[str, Any]) -> None:
        self.target = target
        self.module, _, attr = target.partition(":")
        self.attrs = attr.split(".")
        self.options = options
        self.factory = bool(options.pop("factory", False))
        self.interface = options.pop("interface", "auto")
        verbosity = 1 if ours["verbose"] else -1 if ours["quiet"] else 0
        root = os.path.realpath(options.get("app_dir") or ".")
        scope = scope_for([root], list(ours["include"]), list(ours["exclude"]))
        self.session = Session(Entry(call=self.serve), [], scope, verbosity)
        self.boundary = RequestBoundary(
            drain_seconds=ours["drain_timeout"], explain=self.session.explain
        )
        self.front = AppFront(
            target,
            lifespan=options.get("lifespan", "auto"),
            close_on_reload=ours["close_on_reload"],
            refresher=Refresher() if ours["refresh"] else None,
            log=self.session.log,
            explain=self.session.explain,
            boundary=self.boundary,
        )
        self._offered: object = None

    def serve(self) -> int:
        """The session's entry: runs on the main thread until Ctrl-C."""
        config = _config(self.front, self.options)  # loads --env-file before the app imports
        try:
            source = self._load()
        except Exception as error:
            # As ``hmr-ast run`` does with a broken entry: keep going, serve the error, and
            # load the app once an edit fixes it.
            errors.show(error)
            self.session.log(f"could not load {self.target}; serving the error until it loads")
            self._offered = None
            self.front.serve_first(error, not_loaded(self.target, error))
        else:
            self._offered = source
            self.front.serve_first(source, self._asgi(source))
        self.session.engine.after_batch.append(self._after_batch)
        self.session.engine.batch_gates.append(self.boundary.gate)
        server = HotServer(config, self.front)
        try:
            server.run()
        except KeyboardInterrupt:  # uvicorn passes Ctrl-C on after its clean shutdown
            pass
        finally:
            if config.uds and os.path.exists(config.uds):
                os.remove(config.uds)
        return 0 if server.started else 3  # uvicorn's STARTUP_FAILURE

    def _resolve(self) -> object:
        module = sys.modules.get(self.module) or importlib.import_module(self.module)
        value: object = module
        for attr in self.attrs:
            value = getattr(value, attr)
        return value

    def _load(self) -> object:
        value = self._resolve()
        return value() if self.factory else value

    def _asgi(self, app: Any) -> ASGIApp:
        """``app`` as an ASGI 3 callable, by uvicorn's rules for ``--interface``."""
        interface = self.interface
        if interface == "auto":
            if inspect.isclass(app):
                asgi3 = hasattr(app, "__await__")
            elif inspect.isfunction(app):
                asgi3 = inspect.iscoroutinefunction(app)
            else:
                asgi3 = callable(app) and inspect.iscoroutinefunction(app.__call__)
            interface = "asgi3" if asgi3 else "asgi2"
        if interface == "wsgi":
            from uvicorn.middleware.wsgi import WSGIMiddleware

            return WSGIMiddleware(app)
        if interface == "asgi2":
            from uvicorn.middleware.asgi2 import ASGI2Middleware

            return ASGI2Middleware(app)
        return app

    def _after_batch(self, outcome: Outcome) -> None:
        """On the thread that applied the batch: no other batch can change MODULE meanwhile."""
        if self._offered is None:
            self._first_load()
            return
        if not outcome.reran:
            return
        try:
            source = self._resolve()
            if self.factory:
                if outcome.failed:
                    return
                source = source()  # type: ignore[operator]
        except Exception as error:
            self.session.log(
                f"{self.target}: {type(error).__name__}: {error}; still serving the previous app"
            )
            if not isinstance(error, AttributeError):
                errors.show(error)
            return
        current = self.front.current
        if source is self._offered and (current is None or current.source is source):
            # The same object, already serving: its code may have been patched in place.
            if not outcome.failed:
                self.front.reloaded()
            return
        # A new object, or the same one whose start failed before (a statement-level rerun
        # patched its lifespan in place): start it and serve it.
        self._offered = source
        self.front.offer(source, self._asgi(source))

    def _first_load(self) -> None:
        """The app failed to load at start: try again after each batch."""
        importlib.invalidate_caches()
        try:
            source = self._load()
        except Exception as error:
            self.front.offer(error, not_loaded(self.target, error))
            self.session.log(f"{self.target} still does not load: {type(error).__name__}: {error}")
            return
        self.session.log(f"{self.target} loaded")
        self._offered = source
        self.front.offer(source, self._asgi(source))


def not_loaded(target: str, error: BaseException) -> ASGIApp:
    """What is served while the app cannot be imported: its error, as a 500 (as a web
    framework's debug page would), so the browser shows why."""
    where = errors.location(error, "")
    text = f"hmr-ast: {target} failed to load ({where}): {type(error).__name__}: {error}\n"
    body = text.encode()

    async def app(scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                kind = message["type"].rpartition(".")[2]
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        if scope["type"] != "http":
            return  # a websocket is refused (closed before accepting)
        headers = [(b"content-type", b"text/plain; charset=utf-8")]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    return app


def _config(front: AppFront, options: dict[str, Any]) -> Config:
    """uvicorn's Config for the front, from uvicorn's own options (as ``uvicorn.main`` does)."""
    settings = dict(options)
    if settings.get("log_config") is None:
        settings["log_config"] = LOGGING_CONFIG
    settings["headers"] = [header.split(":", 1) for header in settings.get("headers") or ()]
    app_dir = settings.pop("app_dir", None)
    if app_dir is not None:
        sys.path.insert(0, app_dir)
    accepted = inspect.signature(Config).parameters
    settings = {name: value for name, value in settings.items() if name in accepted}
    return Config(front, **settings)


def _command() -> click.Command:
    """uvicorn's command line, plus ours, calling ``_serve``."""
    ours = [
        click.Option(
            ["--refresh"],
            is_flag=True,
            help="[hmr-ast] Reload HTML pages in the browser after each successful reload.",
        ),
        click.Option(
            ["--close-on-reload"],
            is_flag=True,
            help="[hmr-ast] End streams and websockets of the previous app when it is replaced.",
        ),
        click.Option(
            ["--drain-timeout"],
            type=click.FloatRange(min=0),
            default=2.0,
            show_default=True,
            metavar="SECONDS",
            help="[hmr-ast] How long a reload waits for the requests in flight to finish "
            "before it applies anyway (streams and websockets never hold it back).",
        ),
        click.Option(
            ["--include"],
            multiple=True,
            metavar="GLOB",
            help="[hmr-ast] Also reload files matching GLOB (outside --app-dir).",
        ),
        click.Option(
            ["--exclude"], multiple=True, metavar="GLOB", help="[hmr-ast] Never reload these."
        ),
        click.Option(["-v", "--verbose"], is_flag=True, help="[hmr-ast] Explain every decision."),
        click.Option(["-q", "--quiet"], is_flag=True, help="[hmr-ast] Print nothing of our own."),
    ]
    return click.Command(
        "uvicorn",
        params=[*uvicorn_main.params, *ours],
        callback=_serve,
        context_settings={"auto_envvar_prefix": "UVICORN"},
        help="Serve MODULE:ATTR with uvicorn; edits swap the app in place, socket kept.",
    )


def _serve(app: str, **options: Any) -> int:
    ours = {name: options.pop(name) for name in _OURS}
    if ":" not in app:
        raise click.UsageError(f"{app!r}: give the app as MODULE:ATTR (for example main:app)")
    if options.get("workers") not in (None, 1):
        raise click.UsageError("hmr-ast uvicorn serves from one process: drop --workers")
    options.pop("workers", None)
    if options.get("reload"):
        sys.stderr.write("[hmr-ast] --reload: that is what hmr-ast does; ignoring the flag\n")
    for name in _RELOAD_OPTIONS:
        options.pop(name, None)
    return Runner(app, options, ours).session.run()


_OURS = ("refresh", "close_on_reload", "drain_timeout", "include", "exclude", "verbose", "quiet")


def main(argv: list[str]) -> int:
    """``hmr-ast uvicorn ...``: returns the exit code, or leaves at once after Ctrl-C."""
    try:
        code = _command().main(args=argv, prog_name="hmr-ast uvicorn", standalone_mode=False)
    except click.ClickException as error:  # a usage mistake: click's message, not a traceback
        error.show()
        return error.exit_code
    except click.Abort:
        return 1
    code = code if isinstance(code, int) else 0
    _exit_now(code)
    return code
