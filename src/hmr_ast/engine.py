"""Rerun changed modules and exactly what depends on them, deep to shallow, transactionally.

A rerun executes the module's new code in its existing namespace (so other threads never see
a name go missing), then keeps every function or class that came out the same as before,
deletes the names this run did not bind, and works out which names really changed. Only
modules that read a changed name (directly, or through a function they read) rerun next.
An exception leaves the module exactly as it was and stops the propagation.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from importlib.util import source_hash

from . import errors, hooks, own_writes, runtime
from . import namespace as namespace_
from .errors import display_path
from .finder import load_instrumented
from .namespace import ENTRY
from .threads import executing_modules, running_statement

#: How often one module may rerun in one batch (import cycles whose values never settle).
_MAX_RERUNS = 3
#: How often one module may ask for the objects it adds to to be made again, in one batch.
_MAX_OWNER_ROUNDS = 20
_EMPTY_FILE_GRACE = 0.2
_MISSING = object()
_EMPTY_HASH = source_hash(b"")
_ESCAPES = 12  # static.ESCAPES, without importing static at start-up


class RerunFailed(Exception):
    """A module's new code did not run; its previous namespace was kept."""


class Outcome:
    """What one batch of changes did."""

    def __init__(self) -> None:
        self.reran: list[str] = []
        self.failed: list[str] = []
        self.deferred: set[str] = set()  # must run on the main thread
        self.changed: dict[str, set[str]] = {}  # module -> names whose value changed
        self.errors: dict[str, BaseException] = {}  # module -> why it failed (for reports)
        #: module -> names whose function or class took the new code in place (a subset of
        #: ``changed``): references held anywhere run the new code, nothing was replaced.
        self.patched: dict[str, set[str]] = {}
        #: id of each class patched in place -> its members the edit changed; ids of every
        #: function and class patched (``class_calls`` follows code to them)
        self.patched_members: dict[int, frozenset[str]] = {}
        self.patched_objects: set[int] = set()
        self.seconds = 0.0


class Engine:
    """Holds the graph and applies batches of changed files."""

    def __init__(
        self, log: Callable[[str], None], verbose: Callable[[str], None], explaining: bool = False
    ) -> None:
        self._log = log
        self._verbose = verbose
        self.explaining = explaining
        self._held: list[tuple[Callable[[str], None], str]] | None = None
        self._loaded: dict[str, tuple] = {}  # read before a batch runs
        self._from_disk: set[str] = set()  # their file changed since their code was read
        self._scheduled: dict[str, bytes] = {}  # source hash a rerun was last asked for
        self._read_ahead: dict[str, bytes] = {}  # bytes whose hash said "changed"
        self.lock = threading.RLock()
        self.failed: dict[str, str] = {}  # module -> error location
        # Called after every batch, on the thread that applied it, outside the lock: what
        # builds on the engine (a server swapping its app, a test runner) reacts here.
        self.after_batch: list[Callable[[Outcome], None]] = []
        # Entered around every batch before it takes the lock, and left after
        # ``after_batch``: a server holds new requests back there and lets those in flight
        # finish (bounded), so that no request sees two versions of the program.
        self.batch_gates: list[Callable[[], contextlib.AbstractContextManager]] = []
        self.missing: set[str] = set()
        self._graph = None
        self._graph_lock = threading.Lock()
        self._index: tuple[int, tuple] = (-1, ({}, {}))
        self._real_paths: dict[str, str] = {}  # a file's path as imported -> its real path
        self._batch = None  # statements.Batch while a batch runs (imported on the first edit)
        self._triggered: set[str] = set()
        self._source_states: dict[str, tuple[int, int]] = {}  # (mtime, size) when it matched
        self._sources: dict[str, bytes] = {}  # read ahead of a batch (possible dependents)
        self._uncached: dict[str, tuple] = {}  # ran in part: (path, digest, meta) to cache
        self._statements_result = None
        self._said_own: set[tuple[str, str]] = set()  # (path, why) told under -v
        hooks.set_explain(self.verbose)  # what is taken back before a statement reruns

    # --- messages: held while a batch runs (writing would let other threads in) ---

    def log(self, message: str) -> None:
        self._say(self._log, message)

    def verbose(self, message: str) -> None:
        self._say(self._verbose, message)

    def _say(self, sink: Callable[[str], None], message: str) -> None:
        if self._held is not None:
            self._held.append((sink, message))
        else:
            sink(message)

    def _release_messages(self) -> None:
        held, self._held = self._held, None
        self._release_messages_from(held)

    @staticmethod
    def _release_messages_from(held: list | None) -> None:
        for sink, message in held or ():
            sink(message)

    # --- the graph -----------------------------------------------------------------

    @property
    def graph(self):
        """Built on first use (in the background once start-up settles), never during it."""
        with self._graph_lock:
            if self._graph is None:
                from .graph import DependencyGraph

                self._graph = DependencyGraph()
            graph = self._graph
        self._sync_graph(graph)
        return graph

    def _sync_graph(self, graph) -> None:
        """Bring in the modules that ran since the graph last looked. Modules still executing
        (a long-running entry, start-up under way) keep adding reads: they stay pending."""
        running = set()
        for thread_id in sys._current_frames():
            running |= executing_modules(thread_id)
        for name in runtime.take_changed() | running:
            record = runtime.records.get(name)
            if record is not None and record.namespace is not None:
                self._update_graph(graph, record)
        runtime.mark_changed(running)

    def _update_graph(self, graph, record: runtime.ModuleRecord) -> None:
        """Replace what the graph knows of ``record``'s module: its reads, and what each of
        its names' values reads when used."""
        from .summaries import is_behaviour, node

        namespace = record.namespace
        assert namespace is not None
        recorded = tuple(record.reads)  # other threads may be adding to it
        reads = {node(module, name) for module, name in recorded}
        depends_on = {module for module, _ in recorded} | set(tuple(record.imports))
        own = record.name
        for name in record.meta.get("refs", ()):
            value = namespace.get(name, _MISSING)
            if value is not _MISSING and is_behaviour(value):
                reads.add(node(own, name))
        for unit in (record.meta.get("static") or {}).get("units", ()):
            for name in unit[_ESCAPES]:  # ``f(module)``: the module itself escapes
                target = runtime.project_module_name(namespace.get(name))
                if target is not None and target != own:
                    reads.add(node(target, runtime.ANY))
                    depends_on.add(target)
        graph.set_module(own, reads, {m for m in depends_on if m in runtime.records})
        graph.set_names(own, namespace)  # what each name's value reads: worked out when needed

    def warm_up(self) -> None:
        """Build the graph ahead of the first edit (the watcher calls this when idle)."""
        if self._graph is None:
            with self.lock:
                self.graph.rank(ENTRY)

    # --- which modules a batch touches ---------------------------------------------

    def modules_for(
        self, paths: Iterable[str], quiet: bool = False
    ) -> tuple[set[str], list[str], bool]:
        """Modules whose source or data files are among ``paths``, the paths that count, and
        whether an unknown file appeared (maybe what a failed import was waiting for)."""
        by_path, by_data = self._file_index()
        modules: set[str] = set()
        triggers: list[str] = []
        new_file = False
        held = functools.cache(own_writes.held_for_writing)  # once a batch, if needed
        for path in paths:
            own = own_writes.why_own(path, held=held, ever=quiet)
            if own is not None:
                # Once per file and rule: with -v writing into a file the program holds
                # open in the project (``2> err.txt``), each message would announce itself.
                if not quiet and (path, own) not in self._said_own:
                    self._said_own.add((path, own))
                    self.verbose(f"{display_path(path)} changed: {own}; not an edit")
                continue
            real = os.path.realpath(path)
            if real in by_path:
                changed = {
                    name
                    for name in by_path[real]
                    if runtime.records[name].namespace is not None
                    and self._source_changed(name, quiet)
                }
                if changed:
                    modules |= changed
                    triggers.append(path)
            elif real in by_data:
                readers = {name for name, data in by_data[real] if self._data_counts(name, data)}
                modules |= readers
                if readers:
                    triggers.append(path)
            elif path.endswith(".py") or os.path.isdir(path):
                new_file = True  # named only if it makes failed modules retry
                if self.failed or runtime.import_failed:
                    triggers.append(path)
        self._from_disk |= modules
        return modules, triggers, new_file

    def _data_counts(self, name: str, path: str) -> bool:
        """Whether module ``name`` reruns for its data file ``path``, which changed.

        Not when every read of it was made by the top-level statement the module is executing
        now (a server's loop, a test run, a request handler): that code reads the file again
        when it needs it, and its reads are not inputs of an import. Reads made by
        statements that have finished (a config loaded at start-up) are.
        """
        record = runtime.records[name]
        running = running_statement(record)
        lines = record.data_lines.get(path, ())
        if running is not None and lines and all(running[0] <= n <= running[1] for n in lines):
            self.verbose(
                f"{name}: {display_path(path)} changed, but only its running statement "
                f"(lines {running[0]}-{running[1]}) read it, and reads it again; not rerun"
            )
            return False
        self.verbose(f"{name}: reads {display_path(path)}, which changed")
        return True

    def _file_index(self) -> tuple[dict[str, list[str]], dict[str, list[tuple[str, str]]]]:
        """Real path -> modules (with the path as each read it), for sources and data files;
        rebuilt when files appear."""
        generation, index = self._index
        if generation != runtime.generation:
            generation = runtime.generation
            by_path: dict[str, list[str]] = {}
            by_data: dict[str, list[tuple[str, str]]] = {}
            real = self._real_paths
            for record in list(runtime.records.values()):
                path = record.path
                if path not in real:  # realpath costs a few stat calls: ~0.1 ms a module
                    real[path] = os.path.realpath(path)
                by_path.setdefault(real[path], []).append(record.name)
                for data in list(record.data_files):
                    if data not in real:
                        real[data] = os.path.realpath(data)
                    by_data.setdefault(real[data], []).append((record.name, data))
            index = (by_path, by_data)
            self._index = (generation, index)
        return index

    def _source_changed(self, name: str, quiet: bool) -> bool:
        record = runtime.records[name]
        state = runtime.file_state(record.path)
        if quiet and state == self._source_states.get(name):
            return False  # a sweep: unchanged since it was last read and hashed
        try:
            data = _read_settled(record.path, record.source_hash != _EMPTY_HASH)
        except OSError:
            return name not in self.missing
        digest = source_hash(data)
        if digest == record.source_hash:
            self._source_states[name] = state
        # A failed module retries on any saved edit, but not on the start-up sweep.
        changed = digest != record.source_hash or (name in self.failed and not quiet)
        if changed and digest == self._scheduled.get(name):
            changed = False  # the same save seen twice: its rerun is under way, or failed
        if changed:
            self._scheduled[name] = digest
            self._read_ahead[name] = data  # its rerun compiles these bytes, not a second read
        elif not quiet:
            self.verbose(f"{name}: saved without changes, nothing to do")
        return changed or name in self.missing

    # --- applying a batch ----------------------------------------------------------

    def apply(
        self, modules: set[str], *, on_main: bool, main_busy: Callable[[str], bool]
    ) -> Outcome:
        """Rerun ``modules`` and, to a fixed point, whatever reads what really changed.

        Modules for which ``main_busy`` is true (the entry while it runs, or a module whose
        body is still executing on the main thread) are not run here but returned as
        ``deferred``, unless ``on_main``.
        """
        reason = hooks.restart_reason(modules)
        if reason is not None:
            self.log(f"restarting: {reason}")
            hooks.restart(reason)
        with contextlib.ExitStack() as gates:
            for gate in list(self.batch_gates):
                gates.enter_context(gate())
            hooks.before_batch(modules)
            outcome: Outcome | None = None
            try:
                outcome = self._apply_batch(modules, on_main, main_busy)
                self.notify(outcome)
            finally:
                hooks.after_batch(outcome)
        self._cache_facts()
        assert outcome is not None
        return outcome

    def _apply_batch(self, modules: set[str], on_main: bool, main_busy) -> Outcome:
        started = time.perf_counter()
        outcome = Outcome()
        with self.lock:
            importlib.invalidate_caches()
            self.graph  # noqa: B018 - brings the graph up to date, once per batch
            pending = set(modules) | set(self.failed)
            self._triggered = set(modules)  # by their own file (source or data), not a read
            # Read every changed file first: then the reruns below do no I/O of their own,
            # and with a long switch interval another thread (a running entry's loop) sees
            # the batch applied whole, not one module new and its dependent still old.
            for name in pending:
                if name in runtime.records and name != ENTRY:  # the entry runs after the batch
                    self._loaded[name] = self._load(runtime.records[name])
                    self._from_disk.discard(name)
            # And the sources of every module that may rerun for them, so that a statement
            # rerun of a dependent reads no file mid-batch either (a read lets threads in).
            self._sources = self._read_sources(self._possible_dependents(pending))
            self._held = []
            interval = sys.getswitchinterval()
            sys.setswitchinterval(max(interval, 0.05))
            try:
                self._apply(pending, outcome, on_main, main_busy)
            finally:
                if self._batch is not None:
                    outcome.patched_members = self._batch.patched_members
                    outcome.patched_objects = self._batch.patched_objects
                self._batch = None
                self._sources = {}
                sys.setswitchinterval(interval)
                self._loaded.clear()
                self._release_messages()
        outcome.seconds = time.perf_counter() - started
        return outcome

    def _cache_facts(self) -> None:
        """Write the facts of the versions that ran only in part (their whole code is made
        when an import needs it), after the batch: ``hmr-ast impact`` compares an edit with
        the version that ran last."""
        from . import cache, finder

        pending, self._uncached = self._uncached, {}
        for path, digest, meta in pending.values():
            extra = finder.ast_pass(path) if finder.ast_pass is not None else None
            cache.store(path, digest, None, meta, extra[0] if extra is not None else "")

    def _possible_dependents(self, modules: set[str]) -> set[str]:
        """Modules that read, directly or further down, any name of ``modules``."""
        from .summaries import node

        graph = self._graph
        found: set[str] = set()
        frontier = set(modules)
        while frontier:
            names = {
                target
                for module in frontier
                for target in (
                    *graph.names_of(module),
                    *(node(module, special) for special in (runtime.STAR, runtime.ANY)),
                )
            }
            frontier = set(graph.dependents(names)) - found - modules
            found |= frontier
        return found - {ENTRY}

    def _read_sources(self, modules: set[str]) -> dict[str, bytes]:
        sources = {}
        for name in modules:
            record = runtime.records.get(name)
            if record is None:
                continue
            try:
                with open(record.path, "rb") as file:
                    sources[name] = file.read()
            except OSError:
                continue
        return sources

    def notify(self, outcome: Outcome) -> None:
        """Tell ``after_batch`` listeners; one that fails is reported, not fatal."""
        for listener in list(self.after_batch):
            try:
                listener(outcome)
            except Exception as error:
                self.log(f"after a reload, {listener!r} failed: {type(error).__name__}: {error}")
                errors.show(error)

    def _apply(self, pending: set[str], outcome: Outcome, on_main: bool, main_busy) -> None:
        from . import statements

        graph = self._graph
        runs: dict[str, int] = {}
        asked: dict[str, int] = {}  # how often it asked for owners to be made again first
        self._batch = batch = statements.Batch()
        while pending:
            # Owners to make again go first (an import cycle's order would let a contributor
            # add to the old object), then deep to shallow.
            name = min(
                pending,
                key=lambda m: (m == ENTRY, m not in batch.forced, graph.rank(m), -_order(m), m),
            )
            pending.discard(name)
            if name != ENTRY and name not in sys.modules:
                self.failed.pop(name, None)  # unloaded mid-import: its next import loads it
                self._scheduled.pop(name, None)
                continue
            if name == ENTRY and not on_main and name in self._triggered:
                if self._patch_running_entry(batch, outcome):
                    continue
            if name == ENTRY or main_busy(name):
                if not on_main or name == ENTRY:
                    # It will run whole later: what it adds to must be made again now.
                    missing = self._owners_missing(runtime.records[name], batch)
                    if missing:
                        self._make_owners_again(
                            statements.NeedsOwners(missing, f"{name} runs again and adds to it"),
                            batch,
                            pending,
                        )
                    outcome.deferred.add(name)
                    continue
            runs[name] = runs.get(name, 0) + 1
            if runs[name] > _MAX_RERUNS:
                self.log(f"{name} keeps changing in an import cycle; stopped rerunning it")
                self._scheduled.pop(name, None)
                continue
            try:
                changed = self._rerun_and_report(name, outcome)
                # Its file's change is applied: run again later in this batch (a name it
                # reads changed since), it is a dependent, no longer "a file it read changed".
                self._triggered.discard(name)
            except statements.NeedsOwners as need:
                # Not a run: nothing of it stayed. Each time names owners it needs first
                # (or a statement of its own to run from the start), so it ends.
                runs[name] -= 1
                asked[name] = asked.get(name, 0) + 1
                if asked[name] > _MAX_OWNER_ROUNDS:
                    self.log(f"{name}: its owners keep changing; stopped making them again")
                    continue
                self._make_owners_again(need, batch, pending)
                pending.add(name)  # after them
                continue
            forced = batch.forced.pop(name, None)
            if forced:
                self._add_contributors(name, forced, batch, pending)
            if changed is None:
                continue
            batch.add(name, changed, outcome.patched.get(name, ()))
            names = self._changed_nodes(name, changed)
            found = self._dependents(name, names)
            if self.explaining:
                for reader in sorted(graph.readers(name) - set(found)):
                    self.verbose(f"{reader}: not rerun; it reads only unchanged names of {name}")
            for reader, reason in found.items():
                if reader == ENTRY and not self._entry_calls_patched(names, batch):
                    continue
                if reader == ENTRY and not on_main and not self._entry_must_restart(names):
                    continue
                if reader not in pending:
                    self.verbose(f"{reader}: reads {reason}, which changed")
                pending.add(reader)
            for owner in self._owners_holding(name, outcome.patched.get(name, set()), batch):
                # ``registry.HANDLERS.append(hello)``: whoever calls what HANDLERS holds
                # runs the patched ``hello``; the graph links it to HANDLERS, not to hello.
                for reader in self._dependents(owner.partition(":")[0], {owner}):
                    if reader == name or reader in found or reader in pending:
                        continue
                    if reader == ENTRY and not self._entry_calls_patched(set(), batch):
                        continue
                    if reader == ENTRY and not on_main and not self._entry_must_restart({owner}):
                        continue
                    self.verbose(f"{reader}: reads {owner}, which holds what {name} patched")
                    pending.add(reader)

    def _patch_running_entry(self, batch, outcome: Outcome) -> bool:
        """The running entry's own file changed, and only in function or class bodies that
        take the new code in place: patch them and let it run on (its loop calls them
        afresh), instead of starting it over, which would load its model again. False (it
        starts over) for anything else: another statement edited, added or removed, or one
        that calls what was patched at import time."""
        from . import static
        from .statements import Fallback, NeedsOwners, StatementRerun

        record = runtime.records.get(ENTRY)
        if record is None or ENTRY in self.failed or record.namespace is None:
            return False
        running = running_statement(record)
        if running is None:
            return False
        code, meta, digest, source, trees = self._load(record, whole=True)
        if isinstance(code, BaseException) or source is None or digest == record.source_hash:
            return False
        try:
            plan = StatementRerun(
                record, (code, meta, digest), source, batch, self._graph, True, self.verbose
            )
            candidates = plan._patch_candidates()
        except Fallback:
            return False
        new = {index for index, old in enumerate(plan.matched) if old is None}
        gone = [u for index, u in enumerate(plan.old_units) if index not in plan.kept_old]
        names = set(candidates.values())
        if not new or new - set(candidates) or any(not set(u[static.BINDS]) <= names for u in gone):
            return False
        try:
            changed = self._rerun_statements(
                record, (code, meta, digest), source, batch, trees, running
            )
        except (Fallback, NeedsOwners, RerunFailed) as why:
            self.verbose(f"{ENTRY}: starts over: {why}")
            return False
        result = self._statements_result
        if result is None or changed - result.patched:
            return False  # something else changed too: starting over runs it whole
        outcome.patched[ENTRY] = set(result.patched)
        outcome.changed[ENTRY] = set(changed)
        outcome.reran.append(ENTRY)
        batch.add(ENTRY, changed, result.patched)
        self.verbose(
            f"{ENTRY}: {', '.join(sorted(result.patched))} patched in place; it keeps running "
            f"(lines {running[0]}-{running[1]} call them afresh)"
        )
        return True

    def _make_owners_again(self, need, batch, pending: set[str]) -> None:
        """A statement adds to objects other modules made (``contributions``): their
        statements run again first, then every contributor to them, as in a fresh run."""
        for target in sorted(need.owners):
            module, _, attribute = target.partition(":")
            record = runtime.records.get(module)
            if record is None or record.namespace is None:
                continue
            batch.owners.remember(target, record.namespace.get(attribute))
            batch.forced.setdefault(module, {})[attribute] = (
                f"made again first, because {need.reason}"
            )
            pending.add(module)
            self.verbose(f"{module}: {attribute} is made again first: {need.reason}")

    def _owners_missing(self, record: runtime.ModuleRecord, batch) -> set[str]:
        """Owners in other modules that ``record``'s statements add to and that were not
        made again in this batch: what a whole-module rerun of it would add to twice."""
        from .contributions import module_targets

        return batch.not_made_again(module_targets(record, self._reach, batch.owners))

    def _owners_holding(self, name: str, patched: set[str], batch) -> set[str]:
        """Objects of other modules that ``name``'s statements added its ``patched``
        functions and classes to (``contributions``): a registry holding a callback."""
        from .contributions import module_targets

        record = runtime.records.get(name)
        if not patched or record is None:
            return set()
        return module_targets(record, self._reach, batch.owners, reading=patched)

    def _reach(self, start: str) -> set[str]:
        """``start`` and every name node it reads, through the functions it reads."""
        return {start} | self._graph.descendants(start)

    def _add_contributors(self, name: str, forced: dict, batch, pending: set[str]) -> None:
        """Every module that adds to what ``name`` made again runs those statements again."""
        from .contributions import contributors
        from .summaries import node

        made = {node(name, attribute) for attribute in forced}
        for module in sorted(contributors(made, self._reach, batch.owners) - {name}):
            if module not in pending:
                self.verbose(f"{module}: adds to {', '.join(sorted(made))}, made again")
            pending.add(module)

    def _load(self, record: runtime.ModuleRecord, whole: bool = False) -> tuple:
        """Read a module's current file: ``(code, meta, digest, source, trees)``. An edit
        to a few statements of a module that can rerun by statements parses only those
        (``incremental``: code None, ``trees`` theirs); otherwise, or when ``whole``, the
        file is instrumented as a whole. An error stands in for the code."""
        try:
            data = self._read_ahead.pop(record.name, None)
            if data is None:
                data = _read_settled(record.path, record.source_hash != _EMPTY_HASH)
            if not whole and record.name != ENTRY:
                from .incremental import quick_load

                quick = quick_load(record.meta, record.path, data, source_hash(data))
                if quick is not None:
                    return quick
            return (*load_instrumented(record.path, data), data, None)
        except (OSError, SyntaxError, ValueError) as error:
            return (error, None, None, None, None)

    def run_entry(self) -> set[str] | None:
        """Rerun the entry (on the main thread, outside the lock: it may never return)."""
        return self._rerun_and_report(ENTRY, Outcome())

    def _changed_nodes(self, module: str, changed: set[str]) -> set[str]:
        from .summaries import node

        record = runtime.records[module]
        names = {node(module, name) for name in changed}
        if changed:
            names.add(node(module, runtime.ANY))  # for code that holds the module itself
        namespace = record.namespace or {}
        exported = namespace.get("__all__")
        if "__all__" in changed or any(
            (name in exported) if exported is not None else not name.startswith("_")
            for name in changed
        ):
            names.add(node(module, runtime.STAR))
        return names

    def _dependents(self, module: str, names: set[str]) -> dict[str, str]:
        found = self._graph.dependents(names)
        found.pop(module, None)
        return found

    def _entry_calls_patched(self, names: set[str], batch) -> bool:
        """Whether the entry must run again for ``names``: yes if a changed value reaches
        it; if only functions or classes patched in place do, only if a statement of the
        entry calls them (one that merely holds them runs the new code already)."""
        from .statements import Fallback, StatementRerun

        if ENTRY in self._graph.dependents(names - batch.patched):
            return True
        record = runtime.records[ENTRY]
        try:
            plan = StatementRerun(
                record,
                (record.code, record.meta, record.source_hash),
                b"",
                batch,
                self._graph,
                False,
                self.verbose,
            )
        except Fallback:
            return True
        running = running_statement(record)
        for line, reason in plan.affected():
            if (
                running is not None
                and running[0] <= line <= running[1]
                and reason.startswith("calls ")
            ):
                # The statement it is executing (a server's or a worker's loop) calls it
                # again, and gets the new code: patching kept the object.
                self.verbose(f"{ENTRY}: line {line} {reason}; it runs now, and calls it afresh")
                continue
            self.verbose(f"{ENTRY}: line {line} {reason}")
            return True
        self.verbose(f"{ENTRY}: calls none of what was patched in place again: not rerun")
        return False

    def _entry_must_restart(self, names: set[str]) -> bool:
        """Whether a running entry must start over for ``names`` to take effect.

        Not when it reads them only as ``module.NAME`` inside the top-level statement it is
        executing now (its loop): that statement reads them afresh each time round, and
        starting over would throw away the loop's state for nothing.
        """
        from .summaries import node

        record = runtime.records[ENTRY]
        running = running_statement(record)
        if running is None:
            return True
        first, last = running
        safe = {
            (ENTRY, node(module, name))
            for (module, name), lines in list(record.attr_lines.items())
            if node(module, name) in names and all(first <= line <= last for line in lines)
        }
        namespace = record.namespace or {}
        for unit in (record.meta.get("static") or {}).get("units", ()):
            if first <= unit[0] <= last:  # a module the loop holds itself is read afresh too
                for name in unit[_ESCAPES]:
                    target = runtime.project_module_name(namespace.get(name))
                    if target is not None and node(target, runtime.ANY) in names:
                        safe.add((ENTRY, node(target, runtime.ANY)))
        safe = frozenset(safe)
        if not safe:
            return True
        if ENTRY in self._graph.dependents(names, skip=safe):
            return True
        self.verbose(
            f"{ENTRY}: keeps running; its running statement (lines {first}-{last}) reads "
            f"{', '.join(sorted(target for _, target in safe))} afresh"
        )
        return False

    def _rerun_and_report(self, name: str, outcome: Outcome) -> set[str] | None:
        record = runtime.records[name]
        try:
            changed = self.rerun(name)
        except RerunFailed as failure:
            error = failure.__cause__ or failure
            where = errors.location(error, record.path)
            if isinstance(error, FileNotFoundError):
                self.log(f"{record.path} was deleted; keeping the previous {name}")
                self.missing.add(name)
            else:
                held, self._held = self._held, None
                self._release_messages_from(held)
                self.log(f"error in {where}: {type(error).__name__}: {error}")
                errors.show(error)
                self.log(f"kept the previous {name}; modules that use it were not rerun")
                self._held = [] if held is not None else None
            self.failed[name] = where
            outcome.failed.append(name)
            outcome.errors[name] = error
            return None
        if name in self.failed or name in self.missing:
            self.log(f"{name} recovered")
        self.failed.pop(name, None)
        self.missing.discard(name)
        result = self._statements_result
        patched: set[str] = set()
        if result is not None:
            # Names here that hold a function or class patched in this batch (``from m
            # import f``) changed in place too: who calls them through this module reruns.
            patched = result.patched | self._patched_aliases(record, result.patched)
            changed = changed | patched
        if patched:
            outcome.patched[name] = outcome.patched.get(name, set()) | patched
        if changed:
            outcome.changed[name] = outcome.changed.get(name, set()) | changed
        if result is not None and not result.did_something:
            self.verbose(f"{name}: no statement reads what changed; nothing ran")
            return changed
        outcome.reran.append(name)
        self.verbose(f"{name}: reran; changed names: {', '.join(sorted(changed)) or 'none'}")
        return changed

    def _patched_aliases(self, record: runtime.ModuleRecord, own: set[str]) -> set[str]:
        batch = self._batch
        if batch is None or not batch.patched_objects or record.namespace is None:
            return set()
        return {
            key
            for key, value in list(record.namespace.items())
            if id(value) in batch.patched_objects and key not in own
        }

    def rerun(self, name: str) -> set[str]:
        """Execute ``name``'s current source in its module (only the statements that must
        run, when it can be split); return the names that changed."""
        record = runtime.records[name]
        module = sys.modules.get(name)
        namespace = record.namespace
        self._statements_result = None
        if namespace is None or module is None or module.__dict__ is not namespace:
            raise RerunFailed(f"{name} is not loaded")
        loaded = self._loaded.pop(name, None)
        if loaded is None:
            if name in self.failed or name in self._from_disk:
                loaded = self._load(record)
                self._from_disk.discard(name)
            else:  # a dependency changed
                loaded = (record.code, record.meta, record.source_hash, None, None)
        code, meta, digest, source, trees = loaded
        if isinstance(code, BaseException):
            raise RerunFailed(str(code)) from code
        batch = self._batch
        # A module whose last rerun failed was rolled back to the version that ran before:
        # the fix is compared with that one, so its classes are patched in place too.
        if batch is not None and name != ENTRY:
            from .statements import Fallback, NeedsOwners

            try:
                return self._rerun_statements(record, (code, meta, digest), source, batch, trees)
            except NeedsOwners:
                self._loaded[name] = loaded  # for its turn after the owners
                raise
            except Fallback as why:
                self.verbose(f"{name}: the whole module reruns: {why}")
            missing = self._owners_missing(record, batch)
            if missing:
                self._loaded[name] = loaded  # for its turn after the owners
                why = f"{name} runs again whole and adds to {', '.join(sorted(missing))}"
                raise NeedsOwners(missing, why)
        if code is None:  # only its edited statements were read: now all of it is needed
            code, meta, digest, _source, _trees = self._load(record, whole=True)
            if isinstance(code, BaseException):
                raise RerunFailed(str(code)) from code
        with self.lock:
            hooks.dispose_module(name)
            undo = namespace_.begin(record, code, meta, digest)
        try:
            exec(code, namespace)  # the entry may run for ever: no lock held here
        except BaseException as error:
            with self.lock:
                namespace_.rollback(record, undo)
            if isinstance(error, (KeyboardInterrupt, SystemExit)) or not isinstance(
                error, Exception
            ):
                raise
            raise RerunFailed(str(error)) from error
        with self.lock:
            changed = namespace_.settle(record, undo[0])
            if self._graph is not None:
                self._update_graph(self._graph, record)
        return changed

    def _rerun_statements(
        self,
        record,
        new: tuple,
        source: bytes | None,
        batch,
        trees: dict | None = None,
        running: tuple[int, int] | None = None,
    ) -> set[str]:
        """Rerun only the statements of ``record``'s module that must run (``statements``)."""
        from . import statements

        name = record.name
        edited = new[2] != record.source_hash
        if not edited:
            if name in self._triggered:
                raise statements.Fallback("a file it read changed")
            if source is None:  # read before the batch, or now if not foreseen as a dependent
                source = self._sources.get(name) or self._read_sources({name}).get(name)
            if source is None:
                raise statements.Fallback("its file cannot be read")
            if source_hash(source) != record.source_hash:
                raise statements.Fallback("its file changed since it last ran")
        assert source is not None
        namespace = record.namespace
        with self.lock:
            undo = (dict(namespace), record.snapshot())
            mark = len(batch.undo)
            try:
                plan = statements.StatementRerun(
                    record, new, source, batch, self._graph, edited, self.verbose, trees, running
                )
                result = plan.run()
            except (statements.Fallback, statements.NeedsOwners):
                batch.rollback_patches(mark)
                namespace_.rollback(record, undo)
                raise
            except BaseException as error:
                batch.rollback_patches(mark)
                namespace_.rollback(record, undo)
                if isinstance(error, (KeyboardInterrupt, SystemExit)) or not isinstance(
                    error, Exception
                ):
                    raise
                raise RerunFailed(str(error)) from error
            self._statements_result = result
            if new[0] is None and edited:
                self._uncached[name] = (record.path, new[2], new[1])
            if result.did_something:
                lines = ", ".join(map(str, result.executed)) or "none"
                self.verbose(
                    f"{name}: ran {len(result.executed)} of {len(plan.new_units)} statements "
                    f"(lines {lines})"
                )
            if self._graph is not None:
                self._update_graph(self._graph, record)
        return result.changed


def _order(name: str) -> int:
    """Within an import cycle, modules imported later finished first in a fresh run."""
    record = runtime.records.get(name)
    return record.order if record is not None else 0


def _read_settled(path: str, had_content: bool = True) -> bytes:
    """Read a source file, giving an editor a moment to finish a save that emptied it."""
    with open(path, "rb") as file:
        data = file.read()
    deadline = time.monotonic() + _EMPTY_FILE_GRACE
    while had_content and not data.strip() and time.monotonic() < deadline:
        time.sleep(0.01)
        with open(path, "rb") as file:
            data = file.read()
    return data
