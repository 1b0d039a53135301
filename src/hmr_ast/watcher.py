"""Watch the directories that hold the program's project files; report batches of changes.

Only the directories of loaded project modules and data files are watched, one level deep,
so churn in ``.venv``, ``node_modules`` or ``__pycache__`` is never even seen. The native
watcher sleeps a step, and reports once a step has passed with no new event: a save reaches
us one to two steps after it happened. watchfiles' default 50 ms step would be our latency
floor; 4 ms still gathers the events of one save (an editor's write and rename come within a
millisecond) and costs 0.4% of a core while idle (0.2% at 10 ms, which was 10-20 ms of every
edit's latency). When the set of directories grows (a new module in a new folder), the watch
restarts, and a sweep of content hashes catches anything saved while no watch was in place:
edits made during start-up, before the first watch existed, are not lost either.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable

STEP_MS = 4
_IDLE_MS = 250
#: Watching begins once the program has imported nothing for this long (or after _LATEST_MS):
#: loading the native watcher holds the GIL for milliseconds, and each step of a watch takes
#: it back, which made start-up ~3.5 ms slower. An edit saved before the watch began is
#: found by the sweep that starts it.
_PAUSE_MS = 40
_LATEST_MS = 1_000


class Watcher(threading.Thread):
    def __init__(
        self,
        directories: Callable[[], set[str]],
        on_changes: Callable[[set[str] | None], None],
        on_idle: Callable[[], None],
        log: Callable[[str], None],
        progress: Callable[[], object] | None = None,
    ) -> None:
        super().__init__(name="hmr-ast-watcher", daemon=True)
        self._directories = directories
        self._on_changes = on_changes
        self._on_idle = on_idle
        self._log = log
        self._progress = progress  # changes while the program imports (start-up)
        self._stopping = threading.Event()  # not _stop: Thread._stop() is threading's own
        self._restart = threading.Event()
        self.ready = threading.Event()

    def stop(self) -> None:
        self._stopping.set()
        self._restart.set()

    def refresh(self) -> None:
        """The directory set may have grown: restart the watch with the new set."""
        if self._directories() != self._watching:
            self._restart.set()

    _watching: set[str] = set()

    def _wait_for_a_pause(self) -> None:
        """Until ``progress`` stays the same for _PAUSE_MS (start-up has paused or ended)."""
        if self._progress is None:
            return
        waited = 0
        seen = self._progress()
        while waited < _LATEST_MS and not self._stopping.wait(_PAUSE_MS / 1000):
            waited += _PAUSE_MS
            now = self._progress()
            if now == seen:
                return
            seen = now

    def run(self) -> None:
        self._wait_for_a_pause()
        if self._stopping.is_set():
            return
        rust_notify = load_rust_notify()
        while not self._stopping.is_set():
            self._restart.clear()
            self._watching = self._directories()
            directories = sorted(d for d in self._watching if os.path.isdir(d))
            if not directories:
                self._stopping.wait(0.1)
                continue
            try:
                self._watch(rust_notify(directories, False, False, 300, False, False))
            except Exception as error:  # a watched folder vanished, or the OS said no
                if self._stopping.is_set():
                    return
                self._log(f"watcher restarting after: {error}")
                self._stopping.wait(0.1)

    def _watch(self, notify) -> None:
        try:
            # The watch is in place once ``notify`` exists: what changes during the sweep is
            # reported by the first step (sweeping after the first step waited _IDLE_MS).
            self.ready.set()
            self._on_changes(None)  # sweep: anything saved before this watch began
            while not self._restart.is_set():
                result = notify.watch(1_000, STEP_MS, _IDLE_MS, self._restart)
                if result == "stop":
                    return
                if isinstance(result, set):
                    self._on_changes({path for _, path in result})
                else:
                    self._on_idle()
                if self._directories() != self._watching:
                    return
        finally:
            notify.close()


def load_rust_notify():
    """watchfiles' native watcher, loaded without the ``watchfiles`` package around it.

    The package's ``__init__`` pulls in anyio, subprocess, multiprocessing and ``ast``
    (~20 ms, during the user's start-up); the extension alone loads in ~1 ms. Its interface
    is the one typed in watchfiles' ``_rust_notify.pyi``. Falls back to a normal import.
    """
    import importlib.machinery
    import importlib.util

    try:
        spec = importlib.util.find_spec("watchfiles")
        folder = spec.submodule_search_locations[0]  # type: ignore[union-attr,index]
        name = "watchfiles._rust_notify"
        for suffix in importlib.machinery.EXTENSION_SUFFIXES:
            path = os.path.join(folder, f"_rust_notify{suffix}")
            if os.path.exists(path):
                loader = importlib.machinery.ExtensionFileLoader(name, path)
                native_spec = importlib.util.spec_from_file_location(name, path, loader=loader)
                module = importlib.util.module_from_spec(native_spec)  # type: ignore[arg-type]
                loader.exec_module(module)
                return module.RustNotify
    except (ImportError, OSError, AttributeError, TypeError):
        pass
    from watchfiles._rust_notify import RustNotify

    return RustNotify
