"""The keys ``pytest --hmr`` answers to while it watches: ``a`` run all, ``f`` run failed,
``q`` quit.

Read on a thread of their own so that the main thread (which runs pytest) only ever waits on
its event queue; each key arrives there as ``("key", key)``, beside the watcher's batches.
"""

from __future__ import annotations

import os
import queue
import threading

KEYS_HELP = "keys: a = run all, f = run failed, q = quit"


class KeyReader:
    """Keys typed on ``fd`` (a copy of the terminal's stdin, or ``None``: no keys)."""

    def __init__(self, fd: int | None, events: queue.SimpleQueue[tuple[str, object]]) -> None:
        self.fd = fd
        self.events = events
        self._saved_terminal: list | None = None

    def start(self) -> None:
        """Keys as they are typed (cbreak mode, set here so that a key typed right after
        "watching" is not lost), read on a thread; ``stop`` gives the terminal back."""
        if self.fd is None:
            return
        self._saved_terminal = None
        try:
            import termios
            import tty
        except ImportError:  # no termios (Windows): keys arrive line by line
            pass
        else:
            try:
                self._saved_terminal = termios.tcgetattr(self.fd)
                tty.setcbreak(self.fd, termios.TCSANOW)
            except (OSError, termios.error):
                self._saved_terminal = None
        threading.Thread(target=self._read, name="hmr-ast-keys", daemon=True).start()

    def stop(self) -> None:
        saved = self._saved_terminal
        if saved is not None and self.fd is not None:
            import termios

            try:
                termios.tcsetattr(self.fd, termios.TCSADRAIN, saved)
            except (OSError, termios.error):
                pass

    def _read(self) -> None:
        fd = self.fd
        assert fd is not None
        while True:
            try:
                data = os.read(fd, 1)
            except OSError:
                return
            if not data:
                return
            key = data.decode(errors="ignore").lower()
            if key in ("a", "f", "q"):
                self.events.put(("key", key))
