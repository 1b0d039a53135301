"""``--refresh`` for WSGI servers: HTML pages reload themselves after each successful reload.

The same page script as ``refresh.py`` (the ASGI one), served from threads: every HTML
response gets the script appended, and ``/__hmr_ast__/events`` is a server-sent event
stream that says ``reload`` after each swap. Each open page holds one server thread while
it listens, so it needs a threaded server (the default of both development servers).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from .refresh import _SCRIPT, EVENTS

#: How often an idle event stream sends a comment, so a closed page frees its thread.
KEEP_ALIVE_SECONDS = 10.0


class ThreadRefresher:
    """Tells every open page when to reload."""

    def __init__(self) -> None:
        self.reloads = 0
        self._changed = threading.Condition()
        self._closed = False

    def reload(self) -> None:
        with self._changed:
            self.reloads += 1
            self._changed.notify_all()

    def close(self) -> None:
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def handles(self, environ: dict[str, Any]) -> bool:
        path = environ.get("PATH_INFO", "")
        return path == EVENTS

    def events(
        self, environ: dict[str, Any], start_response: Callable[..., Any]
    ) -> Iterable[bytes]:
        start_response(
            "200 OK", [("Content-Type", "text/event-stream"), ("Cache-Control", "no-cache")]
        )
        return self._stream()

    def _stream(self) -> Iterator[bytes]:
        yield b"retry: 500\n\n"
        seen = self.reloads
        while True:
            with self._changed:
                self._changed.wait_for(
                    lambda seen=seen: self._closed or self.reloads != seen,
                    timeout=KEEP_ALIVE_SECONDS,
                )
                closed, now = self._closed, self.reloads
            if closed:
                return
            if now == seen:
                yield b": still here\n\n"  # a page that went away fails this write
                continue
            seen = now
            yield f"event: reload\ndata: {now}\n\n".encode()

    def injecting(
        self, app: Callable[..., Iterable[bytes]], environ: dict[str, Any], start_response: Any
    ) -> Iterable[bytes]:
        """Run ``app``, appending the script to an HTML response."""
        if environ.get("REQUEST_METHOD") == "HEAD":
            return app(environ, start_response)
        script = (_SCRIPT % json.dumps(environ.get("SCRIPT_NAME", "") + EVENTS)).encode()
        html = False

        def start(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            nonlocal html
            kinds = {name.lower(): value.lower() for name, value in headers}
            html = (
                kinds.get("content-type", "").startswith("text/html")
                and kinds.get("content-encoding", "identity") == "identity"
                and status[:3] not in ("204", "304")
            )
            if html:
                headers = [
                    (name, str(int(value) + len(script)))
                    if name.lower() == "content-length"
                    else (name, value)
                    for name, value in headers
                ]
            if exc_info is None:
                return start_response(status, headers)
            return start_response(status, headers, exc_info)

        result = app(environ, start)
        return _Appended(result, lambda: script if html else b"")


class _Appended:
    """A response iterable with ``tail()`` appended after its last chunk."""

    def __init__(self, result: Iterable[bytes], tail: Callable[[], bytes]) -> None:
        self.result = result
        self.tail = tail

    def __iter__(self) -> Iterator[bytes]:
        yield from self.result
        tail = self.tail()
        if tail:
            yield tail

    def close(self) -> None:
        close = getattr(self.result, "close", None)
        if close is not None:
            close()
