"""``--refresh``: HTML pages reload themselves in the browser after each successful reload.

A small script is appended to every HTML response; it listens to server-sent events on
``/__hmr_ast__/events``, which the front serves itself on the same port, and reloads the
page when a ``reload`` event arrives. Appending (after ``</html>``, where browsers still run
a script) keeps streamed HTML streaming: nothing is buffered, only ``content-length`` grows.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

EVENTS = "/__hmr_ast__/events"

_SCRIPT = (
    "\n<script>/* hmr-ast --refresh */(function(){"
    "var s=new EventSource(%s);"
    's.addEventListener("reload",function(){s.close();location.reload();});'
    "})();</script>\n"
)

Message = dict[str, Any]
Send = Callable[[Message], Awaitable[None]]
Receive = Callable[[], Awaitable[Message]]


class Refresher:
    """Tells every open page when to reload."""

    def __init__(self) -> None:
        self.reloads = 0
        self._event = asyncio.Event()
        self._closed = False

    def reload(self) -> None:
        """Tell every listening page to reload (on the event loop)."""
        self.reloads += 1
        self._event.set()
        self._event = asyncio.Event()

    def close(self) -> None:
        """End every event stream (the server is shutting down)."""
        self._closed = True
        self._event.set()

    def handles(self, scope: dict[str, Any]) -> bool:
        path = scope.get("path", "")
        return path == EVENTS or path == scope.get("root_path", "") + EVENTS

    async def events(self, receive: Receive, send: Send) -> None:
        """The event stream one page listens to, until it goes away or the server stops."""
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [
                    (b"content-type", b"text/event-stream"),
                    (b"cache-control", b"no-cache"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"retry: 500\n\n", "more_body": True})
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            while not self._closed:
                changed = asyncio.ensure_future(self._event.wait())
                done, _ = await asyncio.wait({changed, gone}, return_when=asyncio.FIRST_COMPLETED)
                changed.cancel()
                if gone in done:
                    return
                if self._closed:
                    break
                body = f"event: reload\ndata: {self.reloads}\n\n".encode()
                await send({"type": "http.response.body", "body": body, "more_body": True})
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            gone.cancel()

    def injecting(self, scope: dict[str, Any], send: Send) -> Send:
        """``send``, appending the script to an HTML response's last body message."""
        if scope.get("method") == "HEAD":
            return send
        script = (_SCRIPT % json.dumps(scope.get("root_path", "") + EVENTS)).encode()
        html = False

        async def inject(message: Message) -> None:
            nonlocal html
            kind = message["type"]
            if kind == "http.response.start":
                headers = list(message.get("headers", ()))
                if _is_plain_html(headers) and message.get("status", 200) not in (204, 304):
                    html = True
                    message = {**message, "headers": _longer(headers, len(script))}
            elif kind == "http.response.body" and html and not message.get("more_body", False):
                message = {**message, "body": bytes(message.get("body", b"")) + script}
                html = False
            await send(message)

        return inject


def _is_plain_html(headers: list[tuple[bytes, bytes]]) -> bool:
    """HTML, and not compressed (a script appended to gzip would break it)."""
    kinds = {bytes(name).lower(): bytes(value).lower() for name, value in headers}
    return kinds.get(b"content-type", b"").startswith(b"text/html") and (
        kinds.get(b"content-encoding", b"identity") == b"identity"
    )


def _longer(headers: list[tuple[bytes, bytes]], extra: int) -> list[tuple[bytes, bytes]]:
    return [
        (name, str(int(value) + extra).encode())
        if bytes(name).lower() == b"content-length"
        else (name, value)
        for name, value in headers
    ]


async def _disconnected(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
