"""Watch the directories that hold the program's project files; report batches of changes.

Only the directories of loaded project modules and data files are watched, one level deep,
so churn in ``.venv``, ``node_modules`` or ``__pycache__`` is never even seen. watchfiles'
default 50 ms quiet period is our latency floor, so we wait 10 ms instead. When the set of
directories grows (a new module in a new folder), the watch restarts, and a sweep of
content hashes catches anything saved while no watch was in place: edits made during
start-up, before the first watch existed, are not lost either.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

STEP_MS = 10
_IDLE_MS = 250


class Watcher(threading.Thread):
    def __init__(
        self,
        directories: Callable[[], set[str]],
        on_changes: Callable[[set[str] | None], None],
        on_idle: Callable[[], None],
        log: Callable[[str], None],
    ) -> None:
        super().__init__(name="hmr-ast-watcher", daemon=True)
        self._directories = directories
        self._on_changes = on_changes
        self._on_idle = on_idle
        self._log = log
        self._stop = threading.Event()
        self._restart = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stop.set()
        self._restart.set()

    def refresh(self) -> None:
        """The directory set may have grown: restart the watch with the new set."""
        if self._directories() != self._watching:
            self._restart.set()

    _watching: set[str] = set()

    def run(self) -> None:
        import watchfiles  # imported here: start-up of the user's program does not wait

        while not self._stop.is_set():
            self._restart.clear()
            self._watching = self._directories()
            directories = sorted(d for d in self._watching if os.path.isdir(d))
            if not directories:
                self._stop.wait(0.1)
                continue
            swept = False
            try:
                for changes in watchfiles.watch(
                    *directories,
                    watch_filter=None,
                    step=STEP_MS,
                    debounce=1_000,
                    stop_event=self._restart,
                    rust_timeout=_IDLE_MS,
                    yield_on_timeout=True,
                    recursive=False,
                    raise_interrupt=False,
                ):
                    if not swept:
                        swept = True
                        self.ready.set()
                        self._on_changes(None)  # sweep: anything saved before this watch began
                    if changes:
                        self._on_changes({path for _, path in changes})
                    else:
                        self._on_idle()
                    if self._directories() != self._watching:
                        break
            except Exception as error:  # a watched folder vanished, or the OS said no
                if self._stop.is_set():
                    return
                self._log(f"watcher restarting after: {error}")
                self._stop.wait(0.1)
