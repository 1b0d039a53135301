"""The ASGI front of ``hmr-ast uvicorn``: one server, whichever application is current.

uvicorn is given this front once and never restarted, so the listening socket stays open.
Each new request or websocket goes to the current application; one already in flight
finishes on the application it started on. A new application's lifespan starts before it
takes traffic; the previous one's shuts down after its last request. Long-lived responses
(streams, server-sent events, websockets) never hold a reload back; with
``close_on_reload`` they are ended when their application is replaced.

Publication at request boundaries (``boundary.RequestBoundary``): a batch of edits waits
for the plain requests in flight (bounded), and new requests wait for the batch and for the
new application it produced to start, so no plain request sees two versions of the program.
Which requests count, from the ASGI messages the application sends:

- an HTTP request counts from the moment uvicorn hands it over until its response is
  complete, however long it awaits before answering (the bound caps that);
- it stops counting once it sends a body chunk with ``more_body=True``, or starts a
  ``text/event-stream`` response: from then on it is a stream, which may last for ever (a
  plain body sent in several chunks is let go at its first one: its data is read by then);
- a websocket counts until it is accepted or closed (its handshake is a request; the
  connection after it is long-lived).
"""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

from .boundary import RequestBoundary, Ticket
from .lifespan import Lifespan
from .refresh import Refresher

Scope = dict[str, Any]
Message = dict[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class Generation:
    """One application object and what it is serving."""

    def __init__(self, source: object, app: ASGIApp, number: int) -> None:
        self.source = source  # what MODULE:ATTR named (a factory's product with --factory)
        self.app = app  # the same, as an ASGI 3 callable
        self.number = number
        self.state: dict[str, Any] = {}
        self.lifespan: Lifespan | None = None
        self.active = 0
        self.tasks: set[asyncio.Task] = set()  # requests that a reload may close
        self.retired = False
        self.stopping: asyncio.Task | None = None


class AppFront:
    """An ASGI 3 application that dispatches to the current generation."""

    def __init__(
        self,
        name: str,
        *,
        lifespan: str,
        close_on_reload: bool,
        refresher: Refresher | None,
        log: Callable[[str], None],
        explain: Callable[[str], None],
        boundary: RequestBoundary | None = None,
    ) -> None:
        self.name = name
        self.lifespan_mode = lifespan  # uvicorn's --lifespan: auto, on or off
        self.close_on_reload = close_on_reload
        self.refresher = refresher
        self.log = log
        self.explain = explain
        self.boundary = boundary
        self.current: Generation | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self._switching: asyncio.Lock | None = None
        self._live: set[Generation] = set()  # started and not yet stopped
        self._background: set[asyncio.Task] = set()

    # --- called from other threads ---------------------------------------------------

    def serve_first(self, source: object, app: ASGIApp) -> None:
        """The application to start with (before the server runs)."""
        self.current = Generation(source, app, 1)

    def offer(self, source: object, app: ASGIApp) -> None:
        """Serve ``app`` from now on, once it has started (thread-safe). Called inside the
        batch's gate: new requests wait until the switch is done, and go to ``app``."""
        loop = self.loop
        if loop is None:  # not serving yet: nothing started, nothing to hand over
            number = self.current.number + 1 if self.current else 1
            self.current = Generation(source, app, number)
            return
        release = self.boundary.hold() if self.boundary is not None else _nothing
        try:
            loop.call_soon_threadsafe(self._begin_switch, source, app, time.perf_counter(), release)
        except RuntimeError:  # the loop has closed: the server is gone
            release()

    def reloaded(self) -> None:
        """Code changed but the application object did not: pages may still refresh."""
        if self.loop is not None and self.refresher is not None:
            self.loop.call_soon_threadsafe(self.refresher.reload)

    # --- on the event loop ---------------------------------------------------------

    def attach(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self._switching = asyncio.Lock()

    def closing(self) -> None:
        """The server is shutting down: end what hmr-ast itself keeps open."""
        if self.refresher is not None:
            self.refresher.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await self._serve_lifespan(receive, send)
            return
        if self.refresher is not None and kind == "http" and self.refresher.handles(scope):
            await self.refresher.events(receive, send)
            return
        ticket = await self.boundary.enter_async() if self.boundary is not None else None
        generation = self.current  # read after the wait: a held request gets the new app
        assert generation is not None
        generation.active += 1
        scope["state"] = generation.state.copy()
        if ticket is not None:
            send = _InFlight(send, ticket)
        if self.refresher is not None and kind == "http":
            send = self.refresher.injecting(scope, send)
        try:
            if self.close_on_reload:
                await self._closable(generation, scope, receive, send)
            else:
                await generation.app(scope, receive, send)
        finally:
            if ticket is not None:
                ticket.leave()
            generation.active -= 1
            if generation.retired and not generation.active:
                self._stop(generation)

    async def _closable(
        self, generation: Generation, scope: Scope, receive: Receive, send: Send
    ) -> None:
        """Run the request in a task of its own, which a reload may cancel."""
        progress = _Progress(send)
        task = asyncio.ensure_future(generation.app(scope, receive, progress))
        generation.tasks.add(task)
        task.add_done_callback(generation.tasks.discard)
        try:
            await asyncio.wait({task})
        except asyncio.CancelledError:
            task.cancel()  # the server cancelled us: the app goes too
            raise
        if task.cancelled():
            await progress.end(kind=scope["type"])
            return
        task.result()  # the app's own error, for uvicorn to report

    def _begin_switch(
        self, source: object, app: ASGIApp, asked: float, release: Callable[[], None]
    ) -> None:
        """Switch in the background; ``release`` lets the requests held meanwhile in, once
        the switch is done, failed, or was cancelled before it ran (the server stopping)."""
        task = self._spawn(self._switch(source, app, asked))
        task.add_done_callback(lambda _: release())

    async def _switch(self, source: object, app: ASGIApp, asked: float) -> None:
        assert self._switching is not None and self.current is not None
        async with self._switching:
            if self.current.source is source:
                return
            generation = Generation(source, app, self.current.number + 1)
            error = await self._start(generation)
            if error is not None:
                self._report_failed_start(error)
                return
            previous, self.current = self.current, generation
            self._retire(previous)
            self.explain(
                f"serving {self.name} #{generation.number}, "
                f"{(time.perf_counter() - asked) * 1000:.1f} ms after the reload"
            )
            if self.refresher is not None:
                self.refresher.reload()

    async def _start(self, generation: Generation) -> str | None:
        if self.lifespan_mode == "off":
            return None
        generation.lifespan = Lifespan(generation.app, generation.state, self.lifespan_mode == "on")
        try:
            error = await generation.lifespan.startup()
        except Exception as exc:  # a broken app must not take the server down
            error = f"{type(exc).__name__}: {exc}"
        if error is None:
            self._live.add(generation)
        return error

    def _report_failed_start(self, error: str) -> None:
        """The app's own account (often a traceback) first, then one line that sums it up."""
        lines = error.strip().splitlines() or ["its startup failed"]
        if len(lines) > 1:
            sys.stderr.write(error.rstrip() + "\n")
        self.log(f"the new {self.name} did not start: {lines[-1]}; still serving the previous one")

    def _retire(self, generation: Generation) -> None:
        generation.retired = True
        if self.close_on_reload:
            for task in list(generation.tasks):
                task.cancel()
        if not generation.active:
            self._stop(generation)

    def _stop(self, generation: Generation) -> None:
        """Shut ``generation``'s lifespan down, once, in the background."""
        if generation.stopping is None and generation in self._live:
            generation.stopping = self._spawn(self._shutdown(generation))

    async def _shutdown(self, generation: Generation) -> None:
        lifespan = generation.lifespan
        error = await lifespan.shutdown() if lifespan is not None else None
        self._live.discard(generation)
        if error is not None:
            self.log(f"{self.name} #{generation.number} did not shut down cleanly: {error}")
        else:
            self.explain(f"{self.name} #{generation.number} shut down")

    def _spawn(self, coroutine: Awaitable[None]) -> asyncio.Task:
        task = asyncio.ensure_future(coroutine)
        self._background.add(task)
        task.add_done_callback(self._background.discard)
        return task

    async def _serve_lifespan(self, receive: Receive, send: Send) -> None:
        """uvicorn's lifespan for the front: start the first app, stop every app at the end."""
        await receive()  # lifespan.startup
        assert self.current is not None
        error = await self._start(self.current)
        if error is not None:
            await send({"type": "lifespan.startup.failed", "message": error})
            return
        await send({"type": "lifespan.startup.complete"})
        await receive()  # lifespan.shutdown
        for generation in list(self._live):
            self._stop(generation)
        stopping = [g.stopping for g in list(self._live) if g.stopping is not None]
        if stopping:
            await asyncio.wait(stopping)
        await send({"type": "lifespan.shutdown.complete"})


def _nothing() -> None:
    pass


class _InFlight:
    """A ``send`` that stops counting its request once the response is complete or has
    turned out to be a stream (the rule in the module's docstring)."""

    def __init__(self, send: Send, ticket: Ticket) -> None:
        self.send = send
        self.ticket = ticket

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        try:
            await self.send(message)
        finally:
            if kind == "http.response.body" or kind in ("websocket.accept", "websocket.close"):
                self.ticket.leave()  # complete, or a stream's first chunk: not a request
            elif kind == "http.response.start" and _is_event_stream(message):
                self.ticket.leave()


def _is_event_stream(start: Message) -> bool:
    for name, value in start.get("headers") or ():
        if bytes(name).lower() == b"content-type":
            return bytes(value).split(b";")[0].strip().lower() == b"text/event-stream"
    return False


class _Progress:
    """A ``send`` that remembers how far the response got, so a closed one ends cleanly."""

    def __init__(self, send: Send) -> None:
        self.send = send
        self.started = False
        self.finished = False

    async def __call__(self, message: Message) -> None:
        kind = message["type"]
        if kind in ("http.response.start", "websocket.accept"):
            self.started = True
        elif kind == "websocket.close" or (
            kind == "http.response.body" and not message.get("more_body", False)
        ):
            self.finished = True
        await self.send(message)

    async def end(self, kind: str) -> None:
        """End a response cut short by a reload: a complete (truncated) HTTP body, or a
        websocket closed with 1012, "service restart"."""
        if self.finished:
            return
        if kind == "websocket":
            message = {"type": "websocket.close", "code": 1012, "reason": "reloaded"}
            messages = [message]
        elif self.started:
            messages = [{"type": "http.response.body", "body": b"", "more_body": False}]
        else:
            messages = [
                {
                    "type": "http.response.start",
                    "status": 503,
                    "headers": [(b"content-type", b"text/plain"), (b"retry-after", b"0")],
                },
                {"type": "http.response.body", "body": b"reloaded; try again\n"},
            ]
        try:
            for message in messages:
                await self.send(message)
        except Exception:
            pass  # the client is gone already
