"""The hot-reload session of an IPython shell or a Jupyter kernel: cells instead of an entry.

It is ``hmr-ast run``'s ``Session`` (the hook, the watcher, how changed files become modules
to rerun, warm-up when idle), with the notebook's policy for when a batch applies:

- by default, just before the next cell runs (IPython's ``pre_run_cell``), on the thread that
  runs cells, after a look at the loaded modules' files (a stat of each), so a save made a
  moment before the cell, which the watcher may not have reported yet, is never missed, as
  ``%autoreload`` checks before each cell;
- with ``%hmr_ast live``, at once on the watcher thread, as ``hmr-ast run`` does while its
  entry runs: a module whose body is still executing in the running cell reruns once the
  cell has finished.

After each batch, names the cells took with ``from m import X`` follow ``m.X``
(``cell_imports``). A failed rerun shows one traceback of the user's code, keeps the
previous module, and the cell runs anyway.
"""

from __future__ import annotations

import os
import sys
import threading
import traceback
from importlib.util import source_hash

from ... import errors, own_writes, runtime
from ...engine import Outcome
from ...errors import display_path
from ...finder import ProjectScope, installed, uninstall
from ...session import Entry, Session
from ...threads import executing_modules
from .cell_imports import CellImports
from .takeover import modules_to_take_over, take_over


def _never_called() -> int:  # pragma: no cover - a notebook session has no entry to run
    raise AssertionError("a notebook session runs cells, not an entry")


class NotebookSession(Session):
    """One shell's session: started by ``%load_ext hmr_ast``, stopped by ``%unload_ext``."""

    def __init__(self, shell, scope: ProjectScope) -> None:
        super().__init__(Entry(call=_never_called), [], scope, verbosity=0)
        self.shell = shell
        self.live = False
        self.quiet = False
        self.cell_imports = CellImports(shell.user_ns)
        self.taken_over: list[str] = []
        self.last_errors: dict[str, str] = {}  # module -> what its last rerun raised
        self.reloads = 0
        self.last_reload = ""  # its line, for %hmr_ast status (live mode prints it mid-cell)
        self._engine_lock = threading.RLock()  # one detection or batch at a time
        self._cell_running = False
        self._cell_thread = threading.get_ident()
        self._started = False
        self._file_states: dict[str, tuple[int, int]] = {}  # as the last cell found them

    # --- lifecycle ---------------------------------------------------------------------

    def start(self) -> None:
        """Install the hook, take over what was imported before, listen to cells, watch."""
        loaded = getattr(self.shell.extension_manager, "loaded", ())
        if {"autoreload", "IPython.extensions.autoreload"} & set(loaded):
            self.log(
                "%autoreload is loaded too: both would reload the same modules; "
                "turn it off with %autoreload 0"
            )
        self._install_hook([os.getcwd()])
        # A session loaded again (``%reload_ext``) has a new engine: its graph must take in
        # the modules an earlier one knew.
        runtime.mark_changed({n for n, r in runtime.records.items() if r.namespace is not None})
        self._take_over()
        self._remember_files()
        events = self.shell.events
        events.register("pre_run_cell", self.pre_run_cell)
        events.register("post_run_cell", self.post_run_cell)
        self.watcher.start()
        self._started = True

    def stop(self) -> None:
        """Stop watching and instrumenting; modules keep their current code."""
        if not self._started:
            return
        self._started = False
        events = self.shell.events
        for name, callback in (
            ("pre_run_cell", self.pre_run_cell),
            ("post_run_cell", self.post_run_cell),
        ):
            try:
                events.unregister(name, callback)
            except ValueError:
                pass
        self.watcher.stop()
        uninstall()

    def set_scope(self, scope: ProjectScope) -> None:
        """Another project scope (``%hmr_ast scope``): later imports follow it, and loaded
        modules now inside it are taken over."""
        self.scope = scope
        self._install_hook([os.getcwd()])
        self._take_over()
        self.watcher.refresh()

    def _take_over(self) -> None:
        finder = installed()
        modules = modules_to_take_over(self.scope) if finder is not None else {}  # type: ignore[arg-type]
        if not modules:
            return
        self.cell_imports.scan(_history(self.shell), also=set(modules))
        result = take_over(modules, finder)  # type: ignore[arg-type]
        taken = [name for name in modules if name not in result.failed]
        self.taken_over += taken
        for name, error in result.failed.items():
            self.log(
                f"could not take over {name} ({type(error).__name__}: {error}); "
                "it stays as it is, without reloads"
            )
        rebound, removed = self.cell_imports.rebind(result.changed)
        if taken:
            note = f"; rebound {', '.join(rebound)} in the notebook" if rebound else ""
            self.log(
                f"took over {len(taken)} module{'s' if len(taken) != 1 else ''} imported before "
                f"hmr_ast loaded (ran again under the hook): {', '.join(taken)}{note}"
            )

    # --- IPython's events ----------------------------------------------------------------

    def pre_run_cell(self, info=None) -> None:
        """Apply what changed since the last cell, before this one runs."""
        self._cell_thread = threading.get_ident()
        try:
            self._check_saves()
            self._apply_pending(on_main=True)
        except Exception as error:  # the cell runs anyway
            self._internal_error(error)
        finally:
            self._cell_running = True

    def post_run_cell(self, result=None) -> None:
        """Note the names the cell from-imported; in live mode, apply what waited for it."""
        self._cell_running = False
        try:
            info = getattr(result, "info", None)
            raw = getattr(info, "raw_cell", None)
            if raw:
                self.cell_imports.scan([self.shell.transform_cell(raw)])
            self.watcher.refresh()  # the cell may have imported modules in new folders
            self._remember_files()
            if self.live:
                self._check_saves()
                self._apply_pending(on_main=True)
        except Exception as error:
            self._internal_error(error)

    # --- batches -----------------------------------------------------------------------

    def _check_saves(self) -> None:
        """Find the saves the watcher has not reported yet (one made just before the cell),
        as its sweep would, but looking only at the files whose state changed: the sweep
        resolves and hashes each file it looks at (5 ms a cell with 200 modules), a stat
        of each costs a tenth of that."""
        _forget_writes_to_sources()
        changed = self._files_changed()
        if not changed:
            return
        with self._engine_lock:
            modules, counted, new_file = self.engine.modules_for(changed, quiet=True)
            if modules or (new_file and self.engine.failed):
                self._apply_changes(modules, [display_path(path) for path in counted])

    def _files_changed(self) -> set[str]:
        """The loaded modules' files, and the data files they read, whose modification time
        or size changed since the last look (a file never looked at counts as changed)."""
        changed = set()
        states = self._file_states
        for path in runtime.sweep_paths():
            state = runtime.file_state(path)
            if states.get(path) != state:
                states[path] = state
                changed.add(path)
        return changed

    def _remember_files(self) -> None:
        """Note the state of the modules that appeared (just imported), once their file is
        seen to hold what ran: an edit after that changes the state. One saved between
        the import and now holds something else, stays unnoted, and the next cell's look
        takes it as changed (the sweep then reads it)."""
        states = self._file_states
        for record in list(runtime.records.values()):
            path = record.path
            if record.namespace is None or path in states:
                continue
            state = runtime.file_state(path)  # first: a save after it changes it
            try:
                with open(path, "rb") as file:
                    data = file.read()
            except OSError:
                continue
            if source_hash(data) == record.source_hash:
                states[path] = state

    def _on_changes(self, paths: set[str] | None) -> None:
        with self._engine_lock:
            super()._on_changes(paths)

    def _apply_changes(self, modules: set[str], triggers: list[str]) -> None:
        """Called with each batch of changed modules the watcher (or a sweep) found."""
        with self._state:
            self._pending_main |= modules
            self._pending_triggers += triggers
        if self.live:
            self._apply_pending(on_main=threading.get_ident() == self._cell_thread)

    def _apply_pending(self, on_main: bool) -> None:
        with self._engine_lock:
            with self._state:
                work, self._pending_main = self._pending_main, set()
                triggers, self._pending_triggers = self._pending_triggers, []
            if not work and not triggers:
                return
            work = self._without_restarts(work)
            busy: set[str] = set()
            if not on_main and self._cell_running:
                busy = executing_modules(self._cell_thread)
            hook = sys.excepthook
            sys.excepthook = sys.__excepthook__  # Python's own short traceback, not IPython's
            try:
                outcome = self.engine.apply(work, on_main=on_main, main_busy=busy.__contains__)
            finally:
                sys.excepthook = hook
            if outcome.deferred:
                with self._state:
                    self._pending_main |= outcome.deferred
            rebound, removed = self.cell_imports.rebind(outcome.changed)
            self._note_errors(outcome)
            self._say_reloaded(triggers, outcome, rebound, removed)
            self.watcher.refresh()

    def _without_restarts(self, work: set[str]) -> set[str]:
        """Modules that call ``hmr_ast.restart_on_change()`` would restart the process:
        a kernel replaced under the notebook's feet loses every variable without a word, so
        their edit is not applied, and the user is told to restart the kernel."""
        from ... import hooks

        restarts = {name for name in work if hooks.restart_reason({name})}
        if restarts:
            self.log(
                f"{hooks.restart_reason(restarts)}: restart the kernel (or the shell) to "
                "apply this edit; it was not applied"
            )
        return work - restarts

    def _note_errors(self, outcome: Outcome) -> None:
        for name in outcome.reran:
            self.last_errors.pop(name, None)
        for name, error in outcome.errors.items():
            where = errors.location(error, "")
            self.last_errors[name] = f"{where}: {type(error).__name__}: {error}"
        for name in list(self.last_errors):
            if name not in self.engine.failed:
                del self.last_errors[name]

    # --- messages ----------------------------------------------------------------------

    def _say_reloaded(
        self, triggers: list[str], outcome: Outcome, rebound: list[str], removed: list[str]
    ) -> None:
        if not outcome.reran and not rebound and not removed:
            return
        self.reloads += 1
        what = ", ".join(sorted(set(triggers))) or "files"
        parts = []
        if outcome.reran:
            parts.append(f"reran {', '.join(outcome.reran)} in {outcome.seconds * 1000:.1f} ms")
        if rebound:
            parts.append(f"rebound {', '.join(rebound)} in the notebook")
        if removed:
            parts.append(f"removed {', '.join(removed)} from the notebook (no longer defined)")
        if outcome.deferred:
            parts.append(f"{', '.join(sorted(outcome.deferred))} after this cell")
        self.last_reload = f"reloaded {what}: {'; '.join(parts)}"
        if not self.quiet:
            self.log(self.last_reload)

    def set_verbosity(self, verbosity: int) -> None:
        self.verbosity = verbosity
        self.engine.explaining = verbosity > 0

    def _internal_error(self, error: Exception) -> None:
        self.log(f"internal error, please report it: {type(error).__name__}: {error}")
        traceback.print_exception(type(error), error, error.__traceback__, file=sys.stderr)


def _history(shell) -> list[str]:
    """The cells run so far, as Python (magics already translated)."""
    manager = getattr(shell, "history_manager", None)
    return list(getattr(manager, "input_hist_parsed", ()) or ())


def _forget_writes_to_sources() -> None:
    """A cell that writes a loaded module's source (``%%writefile m.py``) edits it: unlike
    ``hmr-ast run``'s program writing its own files, a notebook's writes are the user's."""
    written = [path for path in list(own_writes.touched) if path.endswith(".py")]
    if not written:
        return
    sources = {os.path.abspath(record.path) for record in list(runtime.records.values())}
    for path in written:
        if path in sources:
            own_writes.touched.pop(path, None)
