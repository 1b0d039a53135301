"""Run the entry as ``__main__`` on the main thread and keep it hot while the watcher works.

Threads: the main thread runs the entry (which may never return). The watcher thread applies
changes to imported modules directly while the entry runs, so a loop reading ``a.VALUE``
sees the new value. When the entry itself (or a module whose body is still running on the
main thread) must rerun, the watcher interrupts the main thread with a restart request:
the entry stops at once and runs again, keeping every module that did not change. When the
entry has finished, the main thread applies changes itself, so module code that expects
the main thread (signal handlers, GUI toolkits) gets it.
"""

from __future__ import annotations

import _thread
import builtins
import gc
import os
import queue
import signal
import sys
import threading
from collections.abc import Callable
from importlib.machinery import SourceFileLoader
from types import ModuleType

from . import errors, finder, runtime
from .engine import ENTRY, Engine, Outcome
from .errors import display_path
from .finder import ProjectScope, install, load_instrumented
from .threads import executing_modules
from .watcher import Watcher


class EntryRestart(BaseException):
    """Raised in the main thread to stop a running entry so that it can run again."""


class Entry:
    """What to run: a script path, a module name (``-m``), or a callable that serves.

    A callable (``hmr-ast uvicorn``'s server) runs on the main thread in place of a script,
    and imports the project's modules through the hook; the session ends when it returns,
    with the exit code it returns (or its ``SystemExit``'s).
    """

    def __init__(
        self,
        path: str | None = None,
        module: str | None = None,
        call: Callable[[], int] | None = None,
    ) -> None:
        self.path = path
        self.module = module
        self.call = call


class Session:
    def __init__(
        self, entry: Entry, args: list[str], scope: ProjectScope | None, verbosity: int
    ) -> None:
        self.entry = entry
        self.args = args
        self.verbosity = verbosity
        self.scope = scope
        self.engine = Engine(log=self.log, verbose=self.explain, explaining=verbosity > 0)
        self._state = threading.Lock()
        # A SimpleQueue, not an Event: the SIGINT handler may wake the main thread from inside
        # its own wait, and only SimpleQueue is safe to use there (Event.set would deadlock).
        self._wake: queue.SimpleQueue[None] = queue.SimpleQueue()
        self._main_idle = False
        self._entry_running = False
        self._restart_requested = False
        self._interrupted = False
        self._restart_now = False
        self._restart_raised = False
        self._pending_main: set[str] = set()
        self._pending_triggers: list[str] = []
        self._retry: set[str] = set()  # deferred while a callable entry serves
        self._main_thread = threading.main_thread().ident
        self._forked = False  # this process is a fork of the one hmr-ast started
        self._fork_filter: tuple | None = None  # hides the fork warning our thread causes
        self.watcher = Watcher(
            runtime.watched_directories,
            self._on_changes,
            self._on_idle,
            self.log,
            progress=lambda: runtime.generation,
        )
        self._quiet_ticks = (-1, 0)
        self.exit_code = 0
        #: Called on the watcher thread once start-up (or a reload) has settled.
        self.when_settled: list[Callable[[], None]] = []

    # --- messages ------------------------------------------------------------------

    def log(self, message: str) -> None:
        if self.verbosity >= 0:
            sys.stderr.write(f"[hmr-ast] {message}\n")
            sys.stderr.flush()

    def explain(self, message: str) -> None:
        if self.verbosity > 0:
            sys.stderr.write(f"[hmr-ast]   {message}\n")
            sys.stderr.flush()

    def _report(self, triggers: list[str], outcome: Outcome, rerun_entry: bool) -> None:
        if not outcome.reran and not rerun_entry:
            return
        what = ", ".join(sorted(set(triggers))) or "files"
        parts = []
        if outcome.reran:
            parts.append(f"reran {', '.join(outcome.reran)} in {outcome.seconds * 1000:.1f} ms")
        if rerun_entry:
            parts.append("restarting __main__" if self._entry_running else "rerunning __main__")
        self.log(f"reloaded {what}: {', '.join(parts)}")

    # --- set-up --------------------------------------------------------------------

    def _prepare_main(self) -> ModuleType:
        """Make ``__main__`` exactly as ``python app.py`` / ``python -m pkg.mod`` would."""
        main = ModuleType(ENTRY)
        main.__dict__["__builtins__"] = builtins
        main.__dict__["__annotations__"] = {}
        if self.entry.call is not None:
            self._install_hook([os.getcwd()])
            return sys.modules[ENTRY]  # ours; the callable never runs as __main__
        if self.entry.path is not None:
            path = os.path.abspath(self.entry.path)
            sys.path[0] = os.path.dirname(os.path.realpath(path))  # as python: links resolved
            sys.argv[:] = [self.entry.path, *self.args]
            main.__file__ = path
            main.__loader__ = SourceFileLoader(ENTRY, path)
            main.__spec__ = None
            main.__package__ = None
            main.__dict__["__cached__"] = None
            self._install_hook([os.path.dirname(path)])
        else:
            import importlib.util

            sys.path[0] = os.getcwd()
            self._install_hook([os.getcwd()])
            try:
                spec = importlib.util.find_spec(self.entry.module)  # type: ignore[arg-type]
                if spec is not None and spec.submodule_search_locations is not None:
                    spec = importlib.util.find_spec(f"{self.entry.module}.__main__")
            except ImportError:
                spec = None
            if spec is None or spec.origin is None:
                raise SystemExit(f"hmr-ast: no module named {self.entry.module!r}")
            _warn_if_imported_by_its_package(spec.name)
            path = spec.origin
            sys.argv[:] = [path, *self.args]
            main.__file__ = path
            main.__loader__ = spec.loader
            main.__spec__ = spec
            main.__package__ = spec.parent
            main.__dict__["__cached__"] = spec.cached
        main.__doc__ = None
        sys.modules[ENTRY] = main
        return main

    def _install_hook(self, roots: list[str]) -> None:
        if self.scope is None:
            from .config import scope_for

            self.scope = scope_for(roots)
        install(self.scope)
        scope = self.scope
        runtime.is_data_file = lambda path: scope.contains_dir(
            os.path.dirname(os.path.abspath(path))
        )

    # --- the watcher thread --------------------------------------------------------

    def _on_changes(self, paths: set[str] | None) -> None:
        sweep = paths is None
        if sweep:  # what may have changed while nothing watched, less what is as it loaded
            paths = {p for p in runtime.sweep_paths() if not finder.unchanged_since_load(p)}
        modules, paths_that_count, new_file = self.engine.modules_for(paths, quiet=sweep)  # type: ignore[arg-type]
        if not modules and not (new_file and (self.engine.failed or runtime.import_failed)):
            if sweep:  # the watch begins once imports paused: the graph's turn, before an edit
                self._build_graph()
            return  # (a batch with no module still tells a server to load its app again)
        triggers = [display_path(path) for path in paths_that_count]
        self._apply_changes(modules, triggers)

    def _apply_changes(self, modules: set[str], triggers: list[str]) -> None:
        with self._state:
            if not self._entry_running:
                self._pending_main |= modules
                self._pending_triggers += triggers
                self._wake.put(None)
                return
            busy = executing_modules(self._main_thread) if self._main_thread else set()  # type: ignore[arg-type]
        outcome = self.engine.apply(modules, on_main=False, main_busy=busy.__contains__)
        with self._state:
            if outcome.deferred and self._entry_running and self.entry.call is not None:
                # A serving callable is never restarted: a module whose body still runs on
                # its thread (imported by a request) reruns once it has finished.
                self._retry |= outcome.deferred
                for name in sorted(outcome.deferred):
                    self.explain(f"{name}: still executing on the main thread; reruns after")
                deferred_only = True
            elif outcome.deferred and self._entry_running:
                self._pending_main |= outcome.deferred
                self._report(triggers, outcome, True)
                if self._restart_requested:
                    return  # a restart is under way; it takes this work with it
                self._restart_requested = True
                self._restart_now = False
                self._restart_raised = False
                _interrupt_main(self._main_thread)
                threading.Timer(_RESTART_GRACE, self._force_restart).start()
                return
            elif outcome.deferred:
                self._pending_main |= outcome.deferred
                self._wake.put(None)
                deferred_only = False
            else:
                deferred_only = False
        self._report(triggers, outcome, bool(outcome.deferred) and not deferred_only)
        self.watcher.refresh()

    def _build_graph(self) -> None:
        """The graph, and what the names something reads read, off the first edit's path."""
        self.engine.warm_up()
        with self.engine.lock:
            self.engine.graph.reads.settle()

    def _on_idle(self) -> None:
        """Build the graph ahead of the first edit, once start-up has settled (no module
        imported for a whole idle tick, a quarter second), so it rarely competes with it."""
        generation, ticks = self._quiet_ticks
        ticks = ticks + 1 if generation == runtime.generation else 0
        self._quiet_ticks = (runtime.generation, ticks)
        if self._retry:
            with self._state:
                retry, self._retry = self._retry, set()
            self._apply_changes(retry, [])
        if ticks == 1:
            self._build_graph()
            for listener in self.when_settled:
                listener()

    # --- the main thread -----------------------------------------------------------

    def _on_sigint(self, signum, frame) -> None:
        if self._main_idle:
            # Waiting in our own loop: raising here could leave a lock half-updated (Python's
            # threading code is not signal-safe), so just wake the loop and say why.
            if self._restart_requested:
                self._restart_requested = False  # the entry finished first; the work is queued
            else:
                self._interrupted = True
            self._wake.put(None)
            return
        if self._restart_requested:
            if self._restart_now or frame is None or sys.gettrace() is not None:
                self._restart_raised = True
                raise EntryRestart
            _raise_at_next_line(frame, self._restart_was_raised)  # not in mid-print
            return
        self._interrupted = True  # even if the program catches it, hmr-ast ends after it
        raise KeyboardInterrupt

    def _restart_was_raised(self) -> None:
        self._restart_raised = True

    def _force_restart(self) -> None:
        """The entry reached no new line in time (it blocks in a call): stop it there.
        Not once the restart is raised: the entry's clean-up (``finally:``) runs in peace."""
        with self._state:
            if self._restart_requested and self._entry_running and not self._restart_raised:
                self._restart_now = True
                _interrupt_main(self._main_thread)

    def run(self) -> int:
        main = self._prepare_main()
        # hmr-ast's own objects (and the modules it imported) live as long as the process:
        # out of the collector's way, they do not make the program's collections slower
        # (allocation-heavy code ran ~1.18x slower with them tracked, 1.005x frozen).
        gc.freeze()
        signal.signal(signal.SIGINT, self._on_sigint)
        if hasattr(os, "register_at_fork"):
            os.register_at_fork(before=self._before_fork, after_in_child=self._after_fork_in_child)
        self.watcher.start()
        rerun_entry = True
        try:
            while True:
                try:
                    if rerun_entry:
                        rerun_entry = False
                        self._main_idle = False
                        self._run_entry(main)
                        if self.entry.call is not None:
                            return self.exit_code
                        if self._forked:  # a child ends with its entry, as it would in python
                            return 1 if ENTRY in self.engine.failed else 0
                        if self._interrupted:
                            return 130
                    self._main_idle = True
                    try:
                        self._wake.get(timeout=0.25)
                    except queue.Empty:
                        pass
                    if self._interrupted:
                        return 130
                    with self._state:
                        work, self._pending_main = self._pending_main, set()
                        triggers, self._pending_triggers = self._pending_triggers, []
                        _drain(self._wake)
                    if work or triggers:
                        self._main_idle = False
                        outcome = self._apply_on_main(work)
                        self._main_idle = True
                        rerun_entry = ENTRY in work or ENTRY in outcome.deferred
                        self._report(triggers, outcome, rerun_entry)
                        self.watcher.refresh()
                except EntryRestart:  # asked for just as the entry finished: the work is queued
                    with self._state:
                        self._restart_requested = False
                        self._wake.put(None)
        except KeyboardInterrupt:
            return 130
        finally:
            self.watcher.stop()

    def _before_fork(self) -> None:
        """From 3.12, ``os.fork()`` in a process with several threads warns that the child
        may deadlock. hmr-ast's watcher is a thread, so a program with no thread of its own
        would see a warning plain python never shows: exactly that warning is hidden while
        the program has no thread of its own, and shown again once it has (3.13 warns after
        the fork hooks, so the filter is set before each fork and left in place)."""
        import warnings

        current = threading.current_thread()
        own_threads = any(
            thread is not current and not thread.name.startswith("hmr-ast")
            for thread in threading.enumerate()
        )
        entry = self._fork_filter
        if own_threads and entry is not None:
            if entry in warnings.filters:
                warnings.filters.remove(entry)
                warnings._filters_mutated()  # type: ignore[attr-defined]
            self._fork_filter = None
        elif not own_threads and (entry is None or entry not in warnings.filters):
            warnings.filterwarnings("ignore", _FORK_WARNING, DeprecationWarning)
            self._fork_filter = warnings.filters[0]

    def _after_fork_in_child(self) -> None:
        """A forked child (``os.fork``, multiprocessing's fork context, gunicorn or celery
        workers) has no watcher thread: it never reloads, and it ends when its code ends
        instead of waiting for edits. The parent goes on watching and reloading."""
        self._forked = True

    def run_once(self) -> None:
        """Run the entry to its end under the hook, without watching (``graph --runtime``)."""
        main = self._prepare_main()
        try:
            self._first_run(main)
        except (KeyboardInterrupt, SystemExit, EntryRestart):
            pass

    def _apply_on_main(self, work: set[str]) -> Outcome:
        """Apply queued work here, on the main thread; the entry itself runs after it (the
        engine defers it, and first makes again what it adds to in other modules)."""
        return self.engine.apply(work, on_main=True, main_busy=lambda _: False)

    def _run_entry(self, main: ModuleType) -> None:
        """Run (or rerun) the entry; restart it whenever the watcher asks."""
        while True:
            with self._state:
                self._entry_running = True
            try:
                try:
                    if self.entry.call is not None:
                        self.exit_code = self.entry.call()
                    elif ENTRY not in runtime.records:
                        self._first_run(main)
                    else:
                        self.engine.run_entry()
                except KeyboardInterrupt:
                    if not self._restart_requested:
                        raise
                    raise EntryRestart from None
                finally:
                    with self._state:
                        self._entry_running = False
                    signal.signal(signal.SIGINT, self._on_sigint)
            except EntryRestart:
                with self._state:
                    work, self._pending_main = self._pending_main, set()
                    self._pending_triggers = []
                    self._restart_requested = False
                outcome = self._apply_on_main(work)
                if outcome.reran:
                    self._report([], outcome, False)
                continue
            except SystemExit as exit:
                if self._forked:
                    raise
                if self.entry.call is not None:
                    self.exit_code = _exit_code(exit)
                    return
                self.explain(f"__main__ exited ({exit.code}); watching for changes")
            return

    def _first_run(self, main: ModuleType) -> None:
        path = main.__file__
        try:
            with open(path, "rb") as file:  # type: ignore[arg-type]
                data = file.read()
            code, meta, digest = load_instrumented(path, data)  # type: ignore[arg-type]
        except (OSError, SyntaxError, ValueError) as error:
            errors.show(error)
            self.log(f"could not run {path}; watching for changes")
            record = runtime.register(ENTRY, path, b"", {})  # type: ignore[arg-type]
            runtime.bind(record, main.__dict__)
            self.engine.failed[ENTRY] = path  # type: ignore[assignment]
            return
        record = runtime.register(ENTRY, path, digest, meta, code)  # type: ignore[arg-type]
        runtime.bind(record, main.__dict__)
        try:
            exec(code, main.__dict__)
        except (KeyboardInterrupt, EntryRestart, SystemExit):
            raise
        except BaseException as error:
            errors.show(error)
            self.engine.failed[ENTRY] = path  # type: ignore[assignment]
            self.log("__main__ raised; watching for changes")


#: What 3.12+ says when a process with threads forks (``os.fork``'s own warning).
_FORK_WARNING = r"This process \(pid=\d+\) is multi-threaded, use of fork\(\) may lead to deadlocks"

#: How long a running entry may take to reach its next line before it is stopped anyway.
_RESTART_GRACE = 0.05


def _warn_if_imported_by_its_package(name: str) -> None:
    """``python -m pkg.mod`` warns when importing ``pkg`` imported ``pkg.mod`` already (it
    then runs twice, once as ``__main__``): the same warning, from the same place."""
    package = name.rpartition(".")[0]
    existing = sys.modules.get(name)
    if not package or existing is None or hasattr(existing, "__path__"):
        return
    import runpy
    import warnings

    message = (
        f"{name!r} found in sys.modules after import of package {package!r}, but prior to "
        f"execution of {name!r}; this may result in unpredictable behaviour"
    )
    line = 0
    try:  # frozen or not, its warning names runpy.py's line
        with open(runpy.__file__, encoding="utf-8") as source:
            line = next(
                n for n, text in enumerate(source, 1) if "warn(RuntimeWarning(msg))" in text
            )
    except (OSError, StopIteration, TypeError):
        pass
    frozen = getattr(runpy.__spec__, "origin", None) == "frozen"  # from 3.11
    where = "<frozen runpy>" if frozen else runpy.__file__
    warnings.warn_explicit(message, RuntimeWarning, where, line, module="runpy")


def _raise_at_next_line(frame, raised) -> None:
    """Stop the entry at its next line boundary, so no line of output is left half-written."""

    def tracer(current, event, arg):
        if event in ("line", "call", "return"):
            sys.settrace(None)
            frame.f_trace = None
            raised()
            raise EntryRestart
        return tracer

    frame.f_trace = tracer
    sys.settrace(tracer)


def _interrupt_main(thread_id: int | None) -> None:
    if hasattr(signal, "pthread_kill") and thread_id is not None:
        signal.pthread_kill(thread_id, signal.SIGINT)
    else:
        _thread.interrupt_main()


def _exit_code(exit: SystemExit) -> int:
    """What the process would exit with for ``exit``, as the interpreter decides it."""
    if exit.code is None or isinstance(exit.code, int):
        return exit.code or 0
    sys.stderr.write(f"{exit.code}\n")
    return 1


def _drain(wake: queue.SimpleQueue[None]) -> None:
    """Forget wake-ups already queued: the work they announced is being taken now."""
    try:
        while True:
            wake.get_nowait()
    except queue.Empty:
        pass
