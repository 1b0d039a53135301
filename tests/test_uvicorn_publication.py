"""Under ``hmr-ast uvicorn``, edits are applied between requests: none sees two versions.

The server tests run the real command on 127.0.0.1 against a copy of
``fixtures/asgi_publication`` (a plain ASGI app: no framework to import, so each server is
up in about a second); the ``RequestBoundary`` tests drive the boundary with real threads
and a real event loop. The whole file takes about 7 s on a loaded 2-core machine.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
import time

from websockets.sync.client import connect

from harness import TIMEOUT, copy_fixture, make_project, write
from hmr_ast.integrations.boundary import RequestBoundary
from web_harness import get, open_stream, serve, wait_until


def set_both(project, version: int) -> None:
    write(project / "cfg.py", f"A = {version}\nB = {version}\n")


class Readers:
    """``clients`` threads sending ``GET /`` back to back on kept-alive connections, each
    recording the ``(a, b)`` it was served, in order."""

    def __init__(self, port: int, clients: int) -> None:
        self.port = port
        self.served: list[list[tuple[int, int]]] = [[] for _ in range(clients)]
        self.failures: list[str] = []
        self._seen = threading.Condition()
        self._stop = threading.Event()
        self._threads = [
            threading.Thread(target=self._run, args=(self.served[n],), daemon=True)
            for n in range(clients)
        ]

    def __enter__(self) -> Readers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT)

    def wait_for_version(self, version: int) -> None:
        """Until every client has been served ``version`` whole (both settings new)."""
        with self._seen:
            done = self._seen.wait_for(
                lambda: (
                    all((version, version) in served for served in self.served) or self.failures
                ),
                timeout=TIMEOUT,
            )
        assert done and not self.failures, (version, self.failures, self.served)

    @property
    def torn(self) -> list[tuple[int, int]]:
        return [pair for served in self.served for pair in served if pair[0] != pair[1]]

    def _run(self, served: list[tuple[int, int]]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
        deadline = time.monotonic() + 120  # bounded, whatever happens to the test
        try:
            while not self._stop.is_set() and time.monotonic() < deadline:
                connection.request("GET", "/")
                answer = json.loads(connection.getresponse().read())
                with self._seen:
                    served.append((answer["a"], answer["b"]))
                    self._seen.notify_all()
        except Exception as error:
            with self._seen:
                self.failures.append(f"{type(error).__name__}: {error}")
                self._seen.notify_all()
        finally:
            connection.close()


def test_no_request_sees_two_versions_while_edits_land_between_requests(tmp_path):
    project = copy_fixture("asgi_publication", tmp_path)
    hot, port = serve(project, "-v")
    with hot:
        with Readers(port, clients=4) as readers:
            readers.wait_for_version(1)
            for version in range(2, 6):
                set_both(project, version)
                readers.wait_for_version(version)
        assert readers.failures == []
        assert readers.torn == [], readers.served
        for served in readers.served:  # a request held back by a batch got the new version
            versions = [a for a, _ in served]
            assert versions == sorted(versions), served
        hot.err.drain()
        assert any("the reload waited" in line for line in hot.err.seen), hot.err.seen


def test_streams_events_and_websockets_do_not_hold_a_reload_back(tmp_path):
    """With a drain bound far beyond the test's timeout, a reload held back by any of them
    would never be seen."""
    project = copy_fixture("asgi_publication", tmp_path)
    hot, port = serve(project, "-v", "--drain-timeout", "600")
    with hot, connect(f"ws://127.0.0.1:{port}/echo", open_timeout=TIMEOUT) as websocket:
        stream_connection, stream = open_stream(port, "/stream")
        stream.wait_for("^a=1$")
        events_connection, events = open_stream(port, "/events")  # started, no byte of body
        websocket.send("before")
        assert websocket.recv(timeout=TIMEOUT) == "echo before"
        set_both(project, 2)
        stream.wait_for("^a=2$")  # the batch applied while all three stay open
        assert get(port) == (200, '{"a": 2, "b": 2}')
        websocket.send("after")
        assert websocket.recv(timeout=TIMEOUT) == "echo after"
        write(project / "release", "")
        events.wait_for("^data: 2$")
        hot.err.drain()
        assert not [line for line in hot.err.seen if "in flight" in line], hot.err.seen
        stream_connection.close()
        events_connection.close()


def test_a_request_slower_than_the_bound_lets_the_reload_go_and_says_so(tmp_path):
    project = copy_fixture("asgi_publication", tmp_path)
    hot, port = serve(project, "-v", "--drain-timeout", "0.5")
    with hot:
        answers: list[tuple[int, str]] = []
        slow = threading.Thread(target=lambda: answers.append(get(port, "/slow")))
        slow.start()
        hot.out.wait_for("^slow request waiting$")
        set_both(project, 2)
        hot.err.wait_for(
            r"1 request still in flight after 0\.5 s: reloading anyway "
            r"\(they may see both the old and the new code\)$"
        )
        wait_until(lambda: get(port) == (200, '{"a": 2, "b": 2}'), "the new version")
        write(project / "release", "")
        slow.join(TIMEOUT)
        assert answers == [(200, '{"a": 1, "b": 2}')]  # what the log warned about


NEW_APP_OBJECT = """\
import asyncio
import os

VERSION = 1


class App:
    \"\"\"An app whose object is made anew when VERSION is edited; its startup waits for a
    file named release, as a slow database connection would.\"\"\"

    def __init__(self, version):
        self.version = version

    async def __call__(self, scope, receive, send):
        if scope["type"] == "lifespan":
            while True:
                kind = (await receive())["type"].rpartition(".")[2]
                if kind == "startup" and self.version > 1:
                    print(f"starting v{self.version}", flush=True)
                    while not os.path.exists("release"):
                        await asyncio.sleep(0.01)
                await send({"type": f"lifespan.{kind}.complete"})
                if kind == "shutdown":
                    return
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": f"v{self.version}".encode()})


app = App(VERSION)
"""


def test_a_request_held_back_by_a_reload_is_served_by_the_new_app_once_it_started(tmp_path):
    project = make_project(tmp_path / "app", {"main.py": NEW_APP_OBJECT})
    hot, port = serve(project)
    with hot:
        assert get(port) == (200, "v1")
        write(project / "main.py", NEW_APP_OBJECT.replace("VERSION = 1", "VERSION = 2"))
        hot.out.wait_for("^starting v2$")  # the batch is applied; the new app is starting
        answers: list[tuple[int, str]] = []
        request = _in_thread(lambda: answers.append(get(port)))
        request.join(0.3)  # not a timing test: v1 served meanwhile would fail it, never v2
        assert answers == []
        write(project / "release", "")
        request.join(TIMEOUT)
        assert answers == [(200, "v2")]


# --- the boundary itself, as Flask, Django and notebook cells will use it ----------------


def _in_thread(target) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread


def test_a_batch_waits_for_requests_in_flight_and_new_requests_wait_for_the_batch():
    said: list[str] = []
    boundary = RequestBoundary(drain_seconds=TIMEOUT, explain=said.append)
    ticket = boundary.enter()  # a request in flight on this thread
    in_gate, release_gate, entered = threading.Event(), threading.Event(), threading.Event()

    def batch() -> None:
        with boundary.gate():
            in_gate.set()
            release_gate.wait(TIMEOUT)

    batch_thread = _in_thread(batch)
    wait_until(lambda: boundary.closed, "the batch to close the door")
    assert not in_gate.is_set()  # draining: the request is still in flight
    ticket.leave()
    assert in_gate.wait(TIMEOUT)
    newcomer = _in_thread(lambda: (boundary.enter().leave(), entered.set()))
    assert not entered.wait(0.05)  # held while the batch applies (0.05 s: not a timing test)
    release_gate.set()
    assert entered.wait(TIMEOUT)
    batch_thread.join(TIMEOUT)
    newcomer.join(TIMEOUT)
    assert len(said) == 1 and said[0].startswith("the reload waited "), said
    assert "for 1 request in flight" in said[0]


def test_a_hold_taken_inside_the_batch_keeps_async_requests_waiting_until_released():
    boundary = RequestBoundary()
    order: list[str] = []

    async def scenario() -> None:
        with boundary.gate():
            release = boundary.hold()  # a server starting the new app
        request = asyncio.ensure_future(boundary.enter_async())
        await asyncio.sleep(0)
        assert not request.done()
        order.append("released")
        release()
        release()  # a second call does nothing
        ticket = await asyncio.wait_for(request, TIMEOUT)
        order.append("served")
        ticket.leave()

    asyncio.run(scenario())
    assert order == ["released", "served"]
    assert boundary.in_flight == 0 and not boundary.closed


def test_a_batch_never_waits_for_requests_of_its_own_thread():
    said: list[str] = []
    boundary = RequestBoundary(drain_seconds=TIMEOUT, explain=said.append)
    with boundary.request():
        with boundary.gate():  # would wait TIMEOUT if it counted this thread's request
            with boundary.request():  # nor is this thread held back by its own batch
                pass
    assert said == []
