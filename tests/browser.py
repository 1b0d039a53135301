"""A real headless Chromium, driven over the DevTools protocol (a websocket, no driver).

Debian's ``chromium`` package; ``.ci/run`` installs it. Offline: every flag that makes the
browser phone home is off, and the profile is a fresh folder.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import urllib.request
from pathlib import Path

from harness import TIMEOUT, Stream

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
)


class Browser:
    """One Chromium with one page; ``evaluate`` runs JavaScript in it."""

    def __init__(self, profile: Path) -> None:
        assert CHROMIUM is not None
        self.process = subprocess.Popen(
            [CHROMIUM, *_FLAGS, f"--user-data-dir={profile}", "about:blank"],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.log = Stream(self.process.stderr)
        found = self.log.wait_for(r"DevTools listening on ws://([\d.]+:\d+)/", timeout=TIMEOUT)
        with urllib.request.urlopen(f"http://{found.group(1)}/json/list", timeout=TIMEOUT) as r:
            page = next(t for t in json.load(r) if t["type"] == "page")
        from websockets.sync.client import connect

        self._closing = contextlib.ExitStack()
        self.socket = self._closing.enter_context(
            connect(page["webSocketDebuggerUrl"], max_size=None, open_timeout=TIMEOUT)
        )
        self._ids = itertools.count(1)

    def call(self, method: str, **params) -> dict:
        """One DevTools command; events that arrive meanwhile are skipped."""
        number = next(self._ids)
        self.socket.send(json.dumps({"id": number, "method": method, "params": params}))
        while True:
            reply = json.loads(self.socket.recv(timeout=TIMEOUT))
            if reply.get("id") == number:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})

    def evaluate(self, expression: str) -> object:
        result = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        return result.get("result", {}).get("value")

    def open(self, url: str) -> None:
        self.call("Page.navigate", url=url)

    def close(self) -> None:
        try:
            self._closing.close()
        finally:
            self.process.kill()
            self.process.wait(timeout=TIMEOUT)

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
