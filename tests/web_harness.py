"""Drive a real ``hmr-ast uvicorn`` process on 127.0.0.1: start it, request it, hammer it.

Every wait polls for an expected state with a generous timeout; nothing sleeps and hopes.
"""

from __future__ import annotations

import http.client
import io
import json
import shutil
import socket
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from harness import FIXTURES, TIMEOUT, HotProcess, Stream, clean_env


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def fastapi_project(into: Path, slow_model: bool = False) -> Path:
    """A copy of ``fixtures/fastapi_app``; its model loads at once unless ``slow_model``."""
    project = into / "app"
    shutil.copytree(FIXTURES / "fastapi_app", project)
    if not slow_model:
        model = project / "model.py"
        model.write_text(model.read_text().replace("time.sleep(2)", "pass"))
    return project


def serve(project: Path, *options: str, target: str = "main:app") -> tuple[HotProcess, int]:
    """``hmr-ast uvicorn TARGET --port P OPTIONS`` in ``project``, once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "hmr_ast", "uvicorn", target, "--port", str(port), *options]
    hot = HotProcess(command, project, env=clean_env())
    wait_until(lambda: _answers(port) or hot.process.poll() is not None, "the server to answer")
    assert hot.process.poll() is None, "the server exited:\n" + "\n".join(hot.err.drain())
    return hot, port


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


def wait_until(condition: Callable[[], object], what: str, timeout: float = TIMEOUT) -> object:
    """Poll ``condition`` every 10 ms until it is true; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.01)


def get(port: int, path: str = "/") -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def message(port: int) -> str:
    """What ``GET /`` of the fixture app says now."""
    status, body = get(port)
    assert status == 200, (status, body)
    return json.loads(body)["message"]


def open_stream(port: int, path: str) -> tuple[http.client.HTTPConnection, Stream]:
    """A long-lived response, read line by line on a thread."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
    connection.request("GET", path)
    response = connection.getresponse()
    assert response.status == 200
    return connection, Stream(_Lines(io.TextIOWrapper(response, encoding="utf-8")))


class _Lines:
    """A response's lines; a connection cut (the test ending) ends them too, quietly."""

    def __init__(self, text: io.TextIOWrapper) -> None:
        self.text = text

    def readline(self) -> str:
        try:
            return self.text.readline()
        except (OSError, ValueError, AttributeError, http.client.HTTPException):
            return ""


class Hammer:
    """Threads sending ``GET /`` back to back until stopped, counting every failure.

    One thread keeps its connection alive across requests, one opens a new connection for
    each: a reload must fail neither.
    """

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests = 0
        self.failures: list[str] = []
        self.latest = ""  # the last message the keep-alive client saw
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(target=self._run, args=(keep_alive,), daemon=True)
            for keep_alive in (True, False)
        ]

    def __enter__(self) -> Hammer:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=TIMEOUT)

    def _run(self, keep_alive: bool) -> None:
        connection = None
        deadline = time.monotonic() + 60  # bounded, whatever happens to the test
        while not self._stop.is_set() and time.monotonic() < deadline:
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
            try:
                connection.request("GET", "/")
                response = connection.getresponse()
                body = response.read().decode()
                if response.status != 200:
                    raise RuntimeError(f"status {response.status}: {body}")
                seen = json.loads(body)["message"]
            except Exception as error:
                with self._lock:
                    self.failures.append(f"{type(error).__name__}: {error}")
                connection.close()
                connection = None
                continue
            with self._lock:
                self.requests += 1
                if keep_alive:
                    self.latest = seen
            if not keep_alive:
                connection.close()
                connection = None
        if connection is not None:
            connection.close()
