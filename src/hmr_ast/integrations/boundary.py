"""Request boundaries: a batch of edits is applied between requests, never during one.

A server counts its plain requests in flight (``enter`` on a thread, ``enter_async`` on an
event loop; each gives a ``Ticket`` to ``leave``). The engine enters ``gate()`` around every
batch (``Engine.batch_gates``): new requests wait, those in flight drain, bounded by
``drain_seconds`` (then the batch applies anyway and says so), the batch applies, and new
requests go on. A server that must finish something after the batch before it serves again
(starting the new app) takes a ``hold()`` inside the gate and releases it when done, so a
request that waited is served by the new version.

Framework-neutral and thread-safe: the ASGI front (``asgi.AppFront``) uses it today; a
threaded WSGI server or a notebook cell can wrap each request or cell in ``request()``.
A thread never waits for its own requests (a gate entered on the thread that serves them
would wait for ever), nor is held back by the batch it applies.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Ticket:
    """One request in flight; ``leave`` (idempotent, any thread) stops counting it."""

    __slots__ = ("_boundary", "_thread", "_left")

    def __init__(self, boundary: RequestBoundary, thread: int) -> None:
        self._boundary = boundary
        self._thread = thread
        self._left = False

    def leave(self) -> None:
        boundary = self._boundary
        with boundary._condition:
            if self._left:
                return
            self._left = True
            boundary._in_flight[self._thread] -= 1
            if not boundary._in_flight[self._thread]:
                del boundary._in_flight[self._thread]
            if boundary._closed:
                boundary._condition.notify_all()


class RequestBoundary:
    """Counts requests in flight and closes the door to new ones while a batch applies."""

    def __init__(
        self,
        *,
        drain_seconds: float = 2.0,
        explain: Callable[[str], None] = lambda message: None,
    ) -> None:
        self.drain_seconds = drain_seconds
        self.explain = explain  # said under -v: when a batch waited, when the bound expired
        self._condition = threading.Condition()
        self._in_flight: Counter[int] = Counter()  # thread ident -> requests it serves
        self._closed = 0  # batches applying + holds not yet released
        self._appliers: Counter[int] = Counter()  # threads inside gate()
        self._waiting: list[tuple[asyncio.AbstractEventLoop, asyncio.Future]] = []

    @property
    def in_flight(self) -> int:
        with self._condition:
            return sum(self._in_flight.values())

    @property
    def closed(self) -> bool:
        """New requests wait now: a batch applies, or a hold is not yet released."""
        with self._condition:
            return bool(self._closed)

    # --- requests ------------------------------------------------------------------

    def enter(self) -> Ticket:
        """Count a request on this thread, first waiting while a batch applies."""
        me = threading.get_ident()
        with self._condition:
            self._condition.wait_for(lambda: not self._closed or me in self._appliers)
            return self._count(me)

    async def enter_async(self) -> Ticket:
        """``enter`` for a request on a running event loop: waits without blocking it."""
        loop = asyncio.get_running_loop()
        me = threading.get_ident()
        while True:
            with self._condition:
                if not self._closed or me in self._appliers:
                    return self._count(me)
                waiter = loop.create_future()
                self._waiting.append((loop, waiter))
            await waiter  # woken on the loop once the door opens; then look again

    @contextmanager
    def request(self) -> Iterator[None]:
        """Around one request (or notebook cell) served on this thread."""
        ticket = self.enter()
        try:
            yield
        finally:
            ticket.leave()

    def _count(self, thread: int) -> Ticket:
        self._in_flight[thread] += 1
        return Ticket(self, thread)

    # --- batches -------------------------------------------------------------------

    @contextmanager
    def gate(self) -> Iterator[None]:
        """Around one batch: close the door, let requests in flight drain (bounded), apply."""
        me = threading.get_ident()
        with self._condition:
            self._closed += 1
            self._appliers[me] += 1

            def others() -> int:  # this thread's own requests cannot finish while it waits
                return sum(self._in_flight.values()) - self._in_flight.get(me, 0)

            waited_for = others()
            started = time.perf_counter()
            if waited_for:
                self._condition.wait_for(lambda: not others(), timeout=self.drain_seconds)
            left = others()
        try:
            if left:
                self.explain(
                    f"{_requests(left)} still in flight after {self.drain_seconds:g} s: "
                    "reloading anyway (they may see both the old and the new code)"
                )
            elif waited_for:
                waited = time.perf_counter() - started
                self.explain(
                    f"the reload waited {waited * 1000:.0f} ms for {_requests(waited_for)} "
                    "in flight; new requests wait for it"
                )
            yield
        finally:
            with self._condition:
                self._appliers[me] -= 1
                if not self._appliers[me]:
                    del self._appliers[me]
                self._open()

    def hold(self) -> Callable[[], None]:
        """Keep new requests waiting after the batch, until the returned ``release`` is
        called (once; later calls do nothing; any thread)."""
        with self._condition:
            self._closed += 1
        released = False

        def release() -> None:
            nonlocal released
            with self._condition:
                if released:
                    return
                released = True
                self._open()

        return release

    def _open(self) -> None:
        """One reason to keep the door closed is gone (called with the lock held)."""
        self._closed -= 1
        if self._closed:
            return
        self._condition.notify_all()
        waiting, self._waiting = self._waiting, []
        for loop, waiter in waiting:
            try:
                loop.call_soon_threadsafe(_wake, waiter)
            except RuntimeError:
                pass  # its loop is closed: nobody is waiting any more


def _wake(waiter: asyncio.Future) -> None:
    if not waiter.done():  # a request cancelled while it waited (client gone)
        waiter.set_result(None)


def _requests(count: int) -> str:
    return f"{count} request{'s' if count != 1 else ''}"
