"""The WSGI front of ``hmr-ast flask`` and ``hmr-ast django``: one server, whichever app is current.

The framework's own development server (werkzeug's, Django's) is given this front once and
never restarted, so the listening socket stays open. Each request goes to the application
that is current when it enters; edits are applied between requests
(``boundary.RequestBoundary``, one of the engine's batch gates): a batch waits for the plain
requests in flight (bounded by ``drain_seconds``), new requests wait for the batch, and the
integration swaps in the new application inside the batch (an ``after_batch`` listener runs
inside the gates), so no request sees half an edit.

A request counts from the call until its response iterable is exhausted or closed, as WSGI
servers close it; a ``text/event-stream`` response stops counting when it starts, as it may
last for ever (the bound caps any other long response).

While the last batch failed, ``failing`` (if the integration set one) answers instead: the
framework's debug page for the error, which the developer sees in the browser until an edit
fixes it. Without one, the previous code keeps serving.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .boundary import RequestBoundary, Ticket

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


class WSGIFront:
    """A WSGI application that dispatches each request to the current one."""

    def __init__(
        self,
        app: WSGIApp,
        boundary: RequestBoundary | None = None,
        *,
        refresher: Any = None,
    ) -> None:
        self.current = app
        self.boundary = boundary
        self.refresher = refresher  # wsgi_refresh.ThreadRefresher, for --refresh
        self.failing: WSGIApp | None = None  # answers while the last batch failed
        self.swaps = 0
        self._lock = threading.Lock()

    # --- on the thread that applies a batch (inside its gate) ------------------------

    def swap(self, app: WSGIApp) -> None:
        """Serve ``app`` from the next request on."""
        with self._lock:
            self.current = app
            self.failing = None
            self.swaps += 1
        if self.refresher is not None:
            self.refresher.reload()

    def reloaded(self) -> None:
        """Code changed in place (same application object): recover, refresh pages."""
        with self._lock:
            self.failing = None
        if self.refresher is not None:
            self.refresher.reload()

    def fail(self, failing: WSGIApp | None) -> None:
        """The last batch failed: ``failing`` shows why until the next good one."""
        with self._lock:
            self.failing = failing

    # --- on the server's threads -----------------------------------------------------

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        __traceback_hide__ = True  # noqa: F841 - werkzeug's debugger leaves this frame out
        refresher = self.refresher
        if refresher is not None and refresher.handles(environ):
            return refresher.events(environ, start_response)
        ticket = self.boundary.enter() if self.boundary is not None else None
        try:
            app = self.failing or self.current  # read after the wait: the new version
            if ticket is not None:
                start_response = _streams_leave(start_response, ticket)
            if refresher is not None:
                result = refresher.injecting(app, environ, start_response)
            else:
                result = app(environ, start_response)
        except BaseException:
            if ticket is not None:
                ticket.leave()
            raise
        if ticket is None:
            return result
        return _Counted(result, ticket)


def _streams_leave(start_response: StartResponse, ticket: Ticket) -> StartResponse:
    """``start_response`` that stops counting a ``text/event-stream`` response."""

    def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        for name, value in headers:
            if name.lower() == "content-type" and value.split(";")[0].strip() == (
                "text/event-stream"
            ):
                ticket.leave()
        if exc_info is None:
            return start_response(status, headers)
        return start_response(status, headers, exc_info)

    return start


class _Counted:
    """A response iterable that stops counting its request once it is done or closed."""

    def __init__(self, result: Iterable[bytes], ticket: Ticket) -> None:
        self.result = result
        self.ticket = ticket

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self.result
        finally:
            self.ticket.leave()

    def close(self) -> None:
        try:
            close = getattr(self.result, "close", None)
            if close is not None:
                close()
        finally:
            self.ticket.leave()


def raising(error: BaseException) -> WSGIApp:
    """An application that raises ``error`` on every request, for a debugger to show."""

    def app(environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        __traceback_hide__ = True  # noqa: F841 - the page starts at the error itself
        raise error

    return app
