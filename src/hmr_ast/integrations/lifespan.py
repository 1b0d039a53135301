"""One ASGI application's lifespan, driven by hand: startup now, shutdown whenever we say.

uvicorn drives the lifespan of the one app it was given (our front); each application the
front serves gets its own, started before it takes traffic and ended after its last request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
ASGIApp = Callable[..., Awaitable[None]]


class Lifespan:
    """The lifespan protocol of ``app``, with ``state`` shared with its requests.

    ``required`` is uvicorn's ``--lifespan on``: an app that does not speak lifespan is then
    an error; otherwise (``auto``) it is simply served without one.
    """

    def __init__(self, app: ASGIApp, state: dict[str, Any], required: bool) -> None:
        self.app = app
        self.state = state
        self.required = required
        self.supported = True
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._replies: asyncio.Queue[Message] = asyncio.Queue()
        self._task: asyncio.Task | None = None

    async def startup(self) -> str | None:
        """Start the app; ``None`` once it is ready, else why it is not."""
        self._task = asyncio.ensure_future(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        reply = await self._replies.get()
        if reply["type"] == "lifespan.startup.complete":
            return None
        if reply["type"] == "lifespan.startup.failed":
            return reply.get("message") or "its startup failed"
        error = reply.get("error")
        if error is not None and self.required:
            return f"its lifespan raised {type(error).__name__}: {error}"
        self.supported = False  # it ended (or raised) without a word: no lifespan support
        return None

    async def shutdown(self) -> str | None:
        """Stop the app; ``None`` once it has shut down, else what went wrong."""
        if not self.supported or self._task is None or self._task.done():
            return None
        await self._inbox.put({"type": "lifespan.shutdown"})
        reply = await self._replies.get()
        if reply["type"] == "lifespan.shutdown.failed":
            return reply.get("message") or "its shutdown failed"
        if reply["type"] == "ended" and reply.get("error") is not None:
            error = reply["error"]
            return f"its lifespan raised {type(error).__name__}: {error}"
        return None

    async def _run(self) -> None:
        scope = {
            "type": "lifespan",
            "asgi": {"version": "3.0", "spec_version": "2.0"},
            "state": self.state,
        }
        try:
            await self.app(scope, self._inbox.get, self._replies.put)
        except asyncio.CancelledError:
            self._replies.put_nowait({"type": "ended", "error": None})
            raise
        except BaseException as error:  # the app's own error, reported by whoever waits
            self._replies.put_nowait({"type": "ended", "error": error})
        else:
            self._replies.put_nowait({"type": "ended", "error": None})
