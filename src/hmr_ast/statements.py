"""Statement-level reruns: run again only the top-level statements an edit affects.

A module's new top-level statements are matched to its old ones by their text, wherever they
sit. A rerun executes, in source order, the statements that were edited or added and those
that read a name whose value changed (directly, or through a function they call), and
nothing else: ``MODEL = load()`` keeps its value while the endpoints beside it change.

- A function whose body changed, and whose decorators (if any) returned it as they got it, is
  patched in place (``patching``): its decorators do not run again, so a route table or a
  registry keeps the same object, which now runs the new code. Statements that *call* it at
  import time rerun; those that only hold it do not need to. A class is patched in place
  when its bases, metaclass and decorators allow it.
- A statement that changes an object another statement of the module made
  (``ITEMS.append(x)``, ``@app.get(...)``, ``app.state.x = 1``) is a contributor: when it
  must run, the statement that made the object runs first, then every reader of the object
  (the contributors among them), so nothing is added twice.
- Where the module cannot be split safely, ``Fallback`` says why and the engine reruns the
  whole module: import-time ``globals()``/``exec``, a function that rebinds globals, module
  annotations that changed, a name made by several statements.

The result equals a fresh run of the new file, as a whole-module rerun does.
"""

from __future__ import annotations

import ast
import bisect
import sys
from collections.abc import Callable, Iterable
from difflib import SequenceMatcher
from types import FunctionType, ModuleType

from . import contributions, hooks, runtime, static
from .changes import adopt_new_code, same_value, twins
from .class_calls import PLAIN_METACLASSES, CallReach, changed_members, entry_members
from .namespace import PROTECTED
from .patching import (
    can_patch_class,
    can_patch_function,
    patch_class,
    patch_function,
    restore_state,
    saved_state,
    shift_lines,
)
from .summaries import node, wraps
from .transform import instrument_statement

_MISSING = object()


class Fallback(Exception):
    """The module cannot be rerun statement by statement; the message says why."""


class NeedsOwners(Exception):
    """Statements of other modules made what a statement here adds to (``contributions``):
    they must run again first, and every contributor to them after (the engine does)."""

    def __init__(self, owners: set[str], reason: str, again: bool = False) -> None:
        super().__init__(reason)
        self.owners = owners
        self.reason = reason
        self.again = again  # made again already in this batch, and added to since


class Batch:
    """What changed so far in one batch, across modules: name nodes (``mod:NAME``)."""

    def __init__(self) -> None:
        self.owners = contributions.Owners()  # owners made again in this batch
        self.forced: dict[str, dict[str, str]] = {}  # module -> {name to make again: why}
        self.changed: set[str] = set()  # their value changed
        self.patched: set[str] = set()  # their object took new code in place
        self.patched_objects: set[int] = set()
        self.patched_members: dict[int, frozenset[str]] = {}  # patched class -> edited members
        self.call_reaches: dict[tuple, tuple] = {}  # what calls into classes run (class_calls)
        self.modules: set[str] = set()  # modules with any change
        self.undo: list[tuple] = []  # the patched objects' previous state

    def add(self, module: str, changed: Iterable[str], patched: Iterable[str] = ()) -> None:
        patched = set(patched)
        for name in changed:
            (self.patched if name in patched else self.changed).add(node(module, name))
            self.modules.add(module)

    def not_made_again(self, owners: Iterable[str]) -> set[str]:
        """Of these owner nodes, those this batch neither made again nor changed: what a
        statement adding to them would add to twice."""
        return {
            owner
            for owner in owners
            if owner not in self.changed and owner not in self.owners.made_again
        }

    def rollback_patches(self, since: int) -> None:
        """Put back what the patches made since undo entry ``since`` changed."""
        while len(self.undo) > since:
            restore_state(self.undo.pop())


class Result:
    """What a statement-level rerun did."""

    def __init__(self) -> None:
        self.changed: set[str] = set()  # names whose value changed (patched ones included)
        self.patched: set[str] = set()
        self.executed: list[int] = []  # first lines of the statements that ran
        self.removed = 0  # statements of the old file that are gone
        self.edited = False  # its file changed (even if no statement had to run)

    @property
    def did_something(self) -> bool:
        return bool(self.edited or self.executed or self.removed or self.patched)


def match(old: list[tuple], new: list[tuple]) -> list[int | None]:
    """For each new statement, the old statement of the same text it continues, or None."""
    matcher = SequenceMatcher(
        None, [u[static.PRINT] for u in old], [u[static.PRINT] for u in new], autojunk=False
    )
    matched: list[int | None] = [None] * len(new)
    for tag, i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            for offset in range(j2 - j1):
                matched[j1 + offset] = i1 + offset
    return matched


def _makes(unit: tuple, name: str) -> bool:
    """Whether the statement binds ``name`` to an object (not only changes it in place)."""
    return name in unit[static.BINDS] and name not in unit[static.MODIFIES]


class _NeedsOwner(Exception):
    def __init__(self, owner: int, reason: str) -> None:
        self.owner = owner
        self.reason = reason


class StatementRerun:
    """One statement-level rerun of one module, planned and run under the engine's lock."""

    def __init__(
        self,
        record: runtime.ModuleRecord,
        new: tuple,
        source: bytes,
        batch: Batch,
        graph,
        edited: bool,
        explain: Callable[[str], None],
        nodes: dict[int, ast.stmt] | None = None,
        running: tuple[int, int] | None = None,
    ) -> None:
        self.record = record
        self.nodes = nodes  # trees of some statements (``incremental``); the rest parsed apart
        self.name = record.name
        self.code, self.meta, self.digest = new
        self.source = source
        self.batch = batch
        self.graph = graph
        self.edited = edited
        self.explain = explain
        old_facts, new_facts = record.meta.get("static"), self.meta.get("static")
        if not old_facts or not new_facts:
            raise Fallback("no statement facts")
        for meta in (record.meta, self.meta):
            if not meta.get("splittable"):
                raise Fallback(
                    "its import-time code may use globals(), vars(), exec or setattr, or a "
                    "function globals(), exec or eval"
                )
            if meta.get("global_stores"):
                names = ", ".join(sorted(meta["global_stores"]))
                raise Fallback(f"a function rebinds its globals ({names})")
        self.old_units: list[tuple] = list(old_facts["units"])
        self.new_units: list[tuple] = list(new_facts["units"])
        self.matched = match(self.old_units, self.new_units)
        self.kept_old = {i for i in self.matched if i is not None}
        namespace = record.namespace
        assert namespace is not None
        self.namespace: dict = namespace
        self._starts = [u[static.FIRST] for u in self.old_units]
        self._reach: dict[str, frozenset[str]] = {}
        self._patched_names: set[str] | None = None
        self._tree: ast.Module | None = None
        self.makers: dict[str, list[int]] = {}
        for index, unit in enumerate(self.new_units):
            for name in unit[static.BINDS]:
                if _makes(unit, name):
                    self.makers.setdefault(name, []).append(index)
        self._check_splittable()
        # The statement a running entry is executing (its loop), by its new index: it calls
        # what it calls afresh, and must never run here (``Engine._patch_running_entry``).
        self.running_index = None
        if running is not None:
            for index, old in enumerate(self.matched):
                if old is not None and self.old_units[old][static.FIRST] == running[0]:
                    self.running_index = index

    # --- planning ---------------------------------------------------------------------------

    def _check_splittable(self) -> None:
        touched = [u for i, u in enumerate(self.new_units) if self.matched[i] is None]
        touched += [u for i, u in enumerate(self.old_units) if i not in self.kept_old]
        if any(unit[static.ANNOTATES] for unit in touched):
            raise Fallback("a module-level annotation changed")
        old_makers: dict[str, int] = {}
        for unit in self.old_units:
            for name in unit[static.BINDS]:
                if _makes(unit, name):
                    old_makers[name] = old_makers.get(name, 0) + 1
        for unit in touched:
            for name in unit[static.BINDS]:
                if len(self.makers.get(name, ())) > 1 or old_makers.get(name, 0) > 1:
                    raise Fallback(f"{name} is bound by more than one statement")
        if touched and (
            runtime.STAR in self.makers or any(runtime.STAR in u[static.BINDS] for u in touched)
        ):
            raise Fallback("a star import binds names no statement shows")

    def statement(self, index: int) -> ast.stmt:
        """The tree of new statement ``index``: from the whole file, or (after an edit that
        parsed only its region) from the statement's own lines."""
        if self.nodes is None:
            if self._tree is None:
                self._tree = ast.parse(self.source, self.record.path)
                if len(self._tree.body) != len(self.new_units):
                    raise Fallback("its source does not match its statement facts")
            return self._tree.body[index]
        found = self.nodes.get(index)
        if found is None:
            unit = self.new_units[index]
            lines = self.source.splitlines()[unit[static.FIRST] - 1 : unit[static.LAST]]
            tree = ast.parse(b"\n".join(lines), self.record.path)
            if len(tree.body) != 1:
                raise Fallback(f"statements share line {unit[static.FIRST]}")
            ast.increment_lineno(tree, unit[static.FIRST] - 1)
            found = self.nodes[index] = tree.body[0]
        return found

    def _old_unit_of(self, line: int) -> int | None:
        index = bisect.bisect_right(self._starts, line) - 1
        if index >= 0 and line <= self.old_units[index][static.LAST]:
            return index
        return None

    def _recorded_reads(self, attr_lines: dict) -> list[set[tuple[str, str]]]:
        """What each new statement read of other modules when it last ran (by its old lines)."""
        by_old: dict[int, set[tuple[str, str]]] = {}
        for key, lines in attr_lines.items():
            for line in lines:
                index = self._old_unit_of(line)
                if index is not None:
                    by_old.setdefault(index, set()).add(key)
        return [by_old.get(old, set()) if old is not None else set() for old in self.matched]

    def _patch_candidates(self) -> dict[int, str]:
        """Edited defs and classes whose header (decorators, signature, bases) is unchanged
        and whose bound object is the one the statement made: it can take the new code."""
        old_by_name: dict[str, tuple] = {}
        for index, unit in enumerate(self.old_units):
            if index not in self.kept_old and unit[static.HEADER] and len(unit[static.BINDS]) == 1:
                old_by_name[unit[static.BINDS][0]] = unit
        candidates: dict[int, str] = {}
        for index, unit in enumerate(self.new_units):
            if self.matched[index] is not None or not unit[static.HEADER]:
                continue
            if len(unit[static.BINDS]) != 1:
                continue
            name = unit[static.BINDS][0]
            old = old_by_name.get(name)
            if old is None or old[static.HEADER] != unit[static.HEADER]:
                continue
            value = self.namespace.get(name, _MISSING)
            if type(value) is FunctionType:
                code = value.__code__
                if code.co_name == name and code.co_filename == self.record.path:
                    candidates[index] = name  # no decorator wrapped it
            elif isinstance(value, type) and value.__name__ == name:
                stmt = self.statement(index)
                if not getattr(stmt, "decorator_list", ()) and can_patch_class(value, value):
                    candidates[index] = name
        return candidates

    def _owners(self, index: int, ran: set[int], unit: tuple | None = None) -> list[int]:
        """Statements before ``index`` that made what it changes in place, not yet run
        (``unit``: a removed statement, whose contribution must disappear)."""
        owners: set[int] = set()
        unit = unit or self.new_units[index]
        for name in contributions.modified_roots(unit, self.namespace):
            targets = {name}
            value = self.namespace.get(name, _MISSING)
            if type(value) is FunctionType and value.__globals__ is self.namespace:
                # ``register(f)``: an own function changes what its body reads.
                prefix = self.name + ":"
                targets |= {
                    n[len(prefix) :]
                    for n in self._reach_of(node(self.name, name))
                    if n.startswith(prefix)
                }
            for target in targets:
                for maker in self.makers.get(target, ()):
                    made = self.new_units[maker]
                    if maker < index and maker not in ran and not made[static.IMPORT]:
                        if isinstance(self.namespace.get(target), FunctionType):
                            continue  # calling a function is not changing it
                        owners.add(maker)
        return sorted(owners)

    def _foreign(self, unit: tuple) -> set[str]:
        """Owner nodes in other modules that the statement adds to (``contributions``)."""
        near = {module for module, _name in self.record.attr_lines}
        return contributions.targets(
            self.name, self.namespace, unit, self._reach_of, self.batch.owners, near
        )

    def _missing_owners(self, unit: tuple) -> set[str]:
        """Foreign owners the statement adds to that were not made again in this batch."""
        return self.batch.not_made_again(self._foreign(unit))

    # --- what a statement depends on --------------------------------------------------------

    def _reach_of(self, start: str) -> frozenset[str]:
        """Name nodes reachable from ``start`` in the graph: what using it may read."""
        known = self._reach.get(start)
        if known is not None:
            return known
        graph = self.graph.reads if self.graph is not None else None
        seen = {start}
        stack = [start]
        while stack and graph is not None:
            current = stack.pop()
            if current in graph:
                for target in graph.successors(current):
                    if target not in seen:
                        seen.add(target)
                        stack.append(target)
        result = frozenset(seen)
        self._reach[start] = result
        return result

    def _resolve(self, chain: tuple[str, ...]) -> tuple[str, object, tuple[str, ...]]:
        """The name node and value a chain read by this module's code stands for, and the
        attributes of the chain past it (``Model.load``: ``Model``'s node, ``("load",)``)."""
        value = self.namespace.get(chain[0], _MISSING)
        where = node(self.name, chain[0])
        for index, attribute in enumerate(chain[1:], 1):
            target = runtime.project_module_name(value)
            if target is None:
                return where, value, chain[index:]
            where = node(target, attribute)
            value = value.__dict__.get(attribute, _MISSING)  # type: ignore[union-attr]
        return where, value, ()

    def _affected(self, index: int, recorded: set[tuple[str, str]], own: set[str]) -> str | None:
        """Why statement ``index`` must run again for what changed so far, or None."""
        unit = self.new_units[index]
        batch = self.batch
        changed = batch.changed | {node(self.name, name) for name in own}
        for module, name in recorded:
            target = node(module, name)
            if target in changed:
                return f"reads {target}, which changed"
            if name in (runtime.STAR, runtime.GETATTR) and module in batch.modules:
                return f"reads {module}'s names, which changed"
            hit = self._reach_of(target) & changed
            if hit:
                return f"reads {target}, which reads {min(hit)}, which changed"
        for chain in unit[static.READS]:
            if chain[0] in own:
                return f"reads {chain[0]}, which changed"
            hit = self._reach_of(node(self.name, chain[0])) & changed
            if hit:
                return f"reads {chain[0]}, which reads {min(hit)}, which changed"
            if batch.patched_members and len(chain) > 1:
                member = self._reads_edited_member(chain)
                if member is not None:
                    return f"reads {'.'.join(chain)}, and {member} changed"
        for name in unit[static.ESCAPES]:
            target = runtime.project_module_name(self.namespace.get(name))
            if target is not None and target in batch.modules and target != self.name:
                return f"uses the module {target} itself, and its names changed"
        if unit[static.HEADER] is not None and len(unit[static.BINDS]) == 1:
            # ``@functools.cache def f``: the wrapper may hold results of what changed.
            name = unit[static.BINDS][0]
            if wraps(self.namespace.get(name)) is not None:
                hit = self._reach_of(node(self.name, name)) & (changed | batch.patched)
                if hit:
                    return f"wraps {name}, which reads {min(hit)}, which changed"
        if batch.owners.made_again:
            hit = self._foreign(unit) & batch.owners.made_again.keys()
            if hit:
                return f"adds to {min(hit)}, which was made again"
        for chain in unit[static.CALLS] if index != self.running_index else ():
            where, value, rest = self._resolve(chain)
            if chain not in unit[static.RESULT_USED]:
                reason = self._calls_edited_member(chain, value, rest, changed, unit)
                if reason is not _MISSING:
                    if reason is not None:
                        return reason
                    continue
            if id(value) in batch.patched_objects:
                return f"calls {'.'.join(chain)}, whose code changed"
            hit = self._reach_of(where) & (batch.patched | self._patched_here())
            if hit:
                return f"calls {'.'.join(chain)}, which uses {min(hit)}, whose code changed"
        return None

    def _reads_edited_member(self, chain: tuple[str, ...]) -> str | None:
        """``X = Model.LIMIT``, ``Y = model.size`` (a property): the class member read, if
        the class (or the instance's class) was patched in place and that member changed.
        Not a method: patched in place, the one read (``f = model.predict``) runs the new
        code; calling it is ``_calls_edited_member``'s question."""
        _where, value, rest = self._resolve(chain)
        if not rest or value is _MISSING:
            return None
        kind = type(value)  # not ``isinstance``: a proxy's ``__class__`` runs its code
        cls = value if issubclass(kind, type) else kind
        for klass in cls.__mro__:  # type: ignore[union-attr]
            if rest[0] in self.batch.patched_members.get(id(klass), ()):
                if isinstance(vars(klass).get(rest[0]), _PATCHED_IN_PLACE):
                    return None
                return f"{klass.__name__}.{rest[0]}"
        return None

    def _calls_edited_member(self, chain, value, rest, changed: set[str], unit: tuple):
        """For a call into project code (a class, one of its methods or an instance's, a
        function): why it runs an edited member, a patched function or code that uses what
        changed, or None if it runs none (``Model.load()`` when only ``predict`` changed;
        ``fields.Tuple(...)`` when only a validator's ``__call__`` changed). ``_MISSING`` for
        a call it cannot follow: the callee's whole node decides then."""
        batch = self.batch
        if value is _MISSING:
            return _MISSING
        held: list[object] = []
        if type(value) is FunctionType:
            if rest or not runtime.is_project(value.__module__ or ""):
                return _MISSING
            key: tuple = (id(value), "", len(batch.undo))
            starts: list[tuple[object, str]] = [(value, "")]
        else:
            entry = entry_members(value, rest)
            if entry is None:
                return _MISSING
            cls, names = entry
            if type(cls) not in PLAIN_METACLASSES or not runtime.is_project(cls.__module__):
                return _MISSING  # a metaclass's __call__ may run anything; not project code
            key = (id(value), names, len(batch.undo))
            starts = [(cls, name) for name in names]
            if value is not cls:
                held.append(value)  # an instance: what it holds is at hand
        # What the statement passes (``check(RULES, text)``): instances the call can use.
        namespace = self.namespace
        passed = [namespace.get(c[0]) for c in unit[static.READS] if c[0] != chain[0]]
        held += passed
        key += tuple(map(id, passed))
        reach = batch.call_reaches.get(key)
        if reach is None:
            reach = CallReach(runtime.is_project, batch.patched_members, batch.patched_objects)
            reach = batch.call_reaches[key] = reach.run(starts, held)
        call = ".".join(chain)
        if reach.hit is not None:
            return f"calls {call}, which runs {reach.hit}, whose code changed"
        for module, name in sorted(reach.followed):
            if node(module, name) in changed:
                return f"calls {call}, which uses {module}:{name}, which changed"
        patched_now = batch.patched | self._patched_here()
        for module, name in sorted(reach.globals):
            hit = self._reach_of(node(module, name)) & (patched_now | changed)
            if hit:
                return f"calls {call}, which uses {min(hit)}, whose code changed"
        return None

    def _patched_here(self) -> set[str]:
        """Names of this module that hold a function or class patched in this batch
        (``from m import *``, ``from m import f``): patching kept the object, so they hold
        it already, before the statement that bound them runs again (if it does)."""
        if self._patched_names is None:
            objects = self.batch.patched_objects
            self._patched_names = (
                {node(self.name, k) for k, v in list(self.namespace.items()) if id(v) in objects}
                if objects
                else set()
            )
        return self._patched_names

    def affected(self) -> Iterable[tuple[int, str]]:
        """(first line, why) of the statements that what changed so far makes run again,
        as they stand (nothing runs)."""
        recorded = self._recorded_reads(self.record.attr_lines)
        for index, unit in enumerate(self.new_units):
            reason = self._affected(index, recorded[index], set())
            if reason is not None:
                yield unit[static.FIRST], reason

    # --- running ----------------------------------------------------------------------------

    def run(self) -> Result:
        """Run what must run, in source order; settle the namespace and the record."""
        record = self.record
        old_attr_lines, old_data_lines = record.attr_lines, record.data_lines
        old_data_files = record.data_files
        recorded = self._recorded_reads(old_attr_lines)
        candidates = self._patch_candidates() if self.edited else {}
        removed = set()
        for index, unit in enumerate(self.old_units):
            if index not in self.kept_old:
                removed.update(unit[static.BINDS])
        must: dict[int, str] = {
            index: "edited" if index in candidates else "new or edited"
            for index, old in enumerate(self.matched)
            if old is None
        }
        patched_names = set(candidates.values())
        for name, why in self.batch.forced.get(self.name, {}).items():
            for maker in self.makers.get(name, ()):
                must.setdefault(maker, why)
        gone_spans = []
        for index, unit in enumerate(self.old_units):
            if unit[static.BINDS] and set(unit[static.BINDS]) <= patched_names:
                continue  # replaced by its patched twin: what it registered stays valid
            if index not in self.kept_old:  # what a removed statement added must disappear
                gone_spans.append((unit[static.FIRST], unit[static.LAST]))
                missing = self._missing_owners(unit)
                if missing:
                    raise NeedsOwners(
                        missing,
                        f"{self.name}: the statement that was at line {unit[static.FIRST]} "
                        f"added to {', '.join(sorted(missing))} and is gone",
                    )
                for owner in self._owners(len(self.new_units), set(), unit):
                    line = self.new_units[owner][static.FIRST]
                    must.setdefault(
                        owner, f"a statement that changed what line {line} made is gone"
                    )
        self._mark = hooks.mark()
        self._added_to: set[str] = set()  # foreign owners this rerun's statements added to
        hooks.dispose_lines(self.name, gone_spans, before=self._mark)
        before = dict(self.namespace)
        undo_mark = len(self.batch.undo)
        gone = {name for name in removed if name not in self.makers and name not in PROTECTED}
        while True:
            record.attr_lines, record.reads = {}, set()
            record.data_lines, record.data_files = {}, {}
            result = Result()
            for name in gone:  # reading one fails as in a fresh run (NameError)
                self.namespace.pop(name, None)
            try:
                ran = self._pass(must, candidates, recorded, gone, before, result)
                break
            except NeedsOwners:
                self.batch.rollback_patches(undo_mark)
                hooks.dispose_lines(self.name, [(1, sys.maxsize)], since=self._mark)
                raise
            except _NeedsOwner as need:
                self.batch.rollback_patches(undo_mark)
                self._restore(before)
                # What the statements of the abandoned pass registered goes with them.
                hooks.dispose_lines(self.name, [(1, sys.maxsize)], since=self._mark)
                if self._added_to:
                    # They added to objects other modules made, too: those are made again
                    # (again), and this module's next pass has its owner from the start.
                    forced = self.batch.forced.setdefault(self.name, {})
                    for name in self.new_units[need.owner][static.BINDS]:
                        forced.setdefault(name, need.reason)
                    raise NeedsOwners(
                        set(self._added_to),
                        f"{self.name}: {need.reason}, after statements that add to "
                        f"{', '.join(sorted(self._added_to))} ran",
                        again=True,
                    ) from None
                must[need.owner] = need.reason
        result.changed |= gone
        result.removed = len(self.old_units) - len(self.kept_old)
        result.edited = self.edited
        ran_old = {self.matched[i] for i in ran if self.matched[i] is not None}
        self._shift_moved(ran)
        record.attr_lines = _merge(self._remap(old_attr_lines, ran_old), record.attr_lines)
        record.reads = set(record.attr_lines)
        new_files = record.data_files
        record.data_lines = _merge(self._remap(old_data_lines, ran_old), record.data_lines)
        record.data_files = {
            path: new_files.get(path) or old_data_files.get(path, (0, -1))
            for path in record.data_lines
        }
        record.written -= gone
        record.meta, record.source_hash, record.code = self.meta, self.digest, self.code
        return result

    def _restore(self, before: dict) -> None:
        namespace = self.namespace
        namespace.update(before)
        for key in [k for k in namespace if k not in before]:
            del namespace[key]

    def _pass(self, must, candidates, recorded, own: set[str], before, result) -> set[int]:
        ran: set[int] = set()
        rebind: set[int] = set()
        for index, unit in enumerate(self.new_units):
            affected = self._affected(index, recorded[index], own)
            reason = must.get(index) or affected
            if reason is not None and index == self.running_index:
                raise Fallback(f"line {unit[static.FIRST]}, running now, would run again: {reason}")
            if reason is None and index in rebind:
                reason = "binds a name a statement that ran binds too"
            if reason is None:
                continue
            patch = candidates.get(index) if must.get(index) == "edited" and not affected else None
            if patch is None:
                for owner in self._owners(index, ran):
                    line = self.new_units[owner][static.FIRST]
                    raise _NeedsOwner(
                        owner, f"line {unit[static.FIRST]} changes what line {line} made"
                    )
                missing = self._missing_owners(unit)
                if missing:
                    # What this pass added to already is made again too: the next pass
                    # adds it again.
                    raise NeedsOwners(
                        missing | self._added_to,
                        f"{self.name}: line {unit[static.FIRST]} adds to "
                        f"{', '.join(sorted(missing))} and runs again ({reason})",
                    )
                self._added_to |= self._foreign(unit)
            self.explain(f"{self.name}: line {unit[static.FIRST]} runs again: {reason}")
            function_patch = patch is not None and type(before.get(patch)) is FunctionType
            before_pass, source = self._extra_pass()
            code = instrument_statement(
                self.statement(index),
                self.record.path,
                futures=self.meta["static"].get("futures", ()),
                first=index == 0,
                strip_decorators=function_patch,
                before=before_pass,
                source=source,
            )
            old = self.matched[index]
            if old is not None:
                unit_old = self.old_units[old]
                span = (unit_old[static.FIRST], unit_old[static.LAST])
                hooks.dispose_lines(self.name, [span], before=self._mark)
            written, self.record.written = self.record.written, set()
            try:
                exec(code, self.namespace)
            finally:
                bound, self.record.written = self.record.written, written | self.record.written
            self._forget_unbound(index, bound, before, own)
            if runtime.STAR in unit[static.BINDS]:
                others = sorted(
                    (other, module)
                    for other, reads in enumerate(recorded)
                    if other != index
                    for module, name in reads
                    if name == runtime.STAR
                )
                self._forget_unexported(recorded[index], before, own, others)
            ran.add(index)
            result.executed.append(unit[static.FIRST])
            for name in unit[static.BINDS]:
                rebind.update(later for later in self.makers.get(name, ()) if later > index)
            self._settle(index, patch, before, own, result)
        return ran

    def _extra_pass(self) -> tuple:
        """The AST pass the import hook runs before ours (pytest's assertion rewriting)."""
        from . import finder

        extra = finder.ast_pass(self.record.path) if finder.ast_pass is not None else None
        return (extra[1], self.source) if extra is not None else (None, self.source)

    def _forget_unbound(self, index: int, bound: set[str], before: dict, own: set[str]) -> None:
        """A name the statement binds only sometimes (``if KEPT: maybe = 4``) and did not
        bind this time is gone, as in a fresh run; unless the statement reads it itself
        (``try: X / except NameError: X = 0`` keeps ``X``)."""
        unit = self.new_units[index]
        reads = {chain[0] for chain in unit[static.READS]}
        for name in unit[static.BINDS]:
            if (
                _makes(unit, name)
                and name not in bound
                and name not in reads
                and name in self.namespace
                and self.namespace[name] is before.get(name, _MISSING)
                and name not in PROTECTED
                and not isinstance(self.namespace[name], ModuleType)  # a submodule attribute
            ):
                del self.namespace[name]
                own.add(name)

    def _forget_unexported(
        self, recorded: set, before: dict, own: set[str], others: list[tuple[int, str]] = ()
    ) -> None:
        """``from m import *`` ran again: a name it bound before that ``m`` no longer
        exports (and that no statement here binds) is gone, as in a fresh run; unless
        another star import here exports it (``from a import *`` then ``from b import *``,
        both with ``X``): then it holds what the last of those binds."""
        sources = [sys.modules.get(m) for m, name in recorded if name == runtime.STAR]
        sources = [source for source in sources if source is not None]
        exported = {name for source in sources for name in runtime.public_names(source)}
        elsewhere: dict[str, object] = {}  # name -> what the last other star import binds
        for _index, other in others:
            module = sys.modules.get(other)
            if module is not None:
                for name in runtime.public_names(module):
                    elsewhere[name] = vars(module).get(name, _MISSING)
        for name, value in list(self.namespace.items()):
            if (
                name in exported
                or name in self.makers
                or name in PROTECTED
                or name not in before
                or sys.modules.get(f"{self.name}.{name}") is value  # set by the import system
            ):
                continue
            if any(
                vars(source).get(name, _MISSING) is value
                or node(source.__name__, name) in self.batch.changed
                for source in sources
            ):
                if name in elsewhere and elsewhere[name] is not _MISSING:
                    if elsewhere[name] is not value:
                        self.namespace[name] = elsewhere[name]
                        own.add(name)
                    continue
                del self.namespace[name]
                own.add(name)

    def _settle(self, index, patch, before, own: set[str], result: Result) -> None:
        """Keep what came out the same, patch what can take new code, note what changed."""
        namespace = self.namespace
        names = self.new_units[index][static.BINDS]
        if runtime.STAR in names:  # ``from m import *`` binds what m exports now
            names = [*names, *(k for k in namespace if k not in before), *before]
        for name in dict.fromkeys(names):
            if name in PROTECTED or name == runtime.STAR:
                continue
            previous = before.get(name, _MISSING)
            current = namespace.get(name, _MISSING)
            if current is previous:
                continue
            if current is _MISSING or previous is _MISSING:
                own.add(name)
                continue
            if same_value(previous, current):
                adopt_new_code(previous, current)
                namespace[name] = previous
                continue
            if name == patch and self._patch(name, previous, current, index, result):
                continue
            own.add(name)

    def _patch(self, name: str, previous, current, index: int, result: Result) -> bool:
        kept = [previous, *twins.get(previous, ())]
        if type(previous) is FunctionType and all(can_patch_function(k, current) for k in kept):
            decorated = bool(getattr(self.statement(index), "decorator_list", ()))
            for target in kept:
                self.batch.undo.append(saved_state(target))
                patch_function(target, current, keep_attributes=decorated)
        elif all(can_patch_class(k, current) for k in kept):
            members = changed_members(previous, current)
            for target in kept:
                self.batch.undo.append(saved_state(target))
                edited = self.batch.patched_members.get(id(target), frozenset())
                self.batch.patched_members[id(target)] = edited | members
                patch_class(target, current)
        elif type(previous) is FunctionType:  # defined without its decorators: never bind it
            raise Fallback(f"{name} cannot take the new code in place")
        else:
            self.explain(f"{self.name}: {name} cannot take the new code in place; replaced")
            return False
        self.namespace[name] = previous
        result.patched.add(name)
        result.changed.add(name)
        self.batch.patched_objects.add(id(previous))
        self.batch.patched.add(node(self.name, name))
        self.explain(f"{self.name}: {name} patched in place: every reference runs the new code")
        return True

    def _shift_moved(self, ran: set[int]) -> None:
        """Functions and classes of statements that moved without running: new lines."""
        moves = []
        for index, old in enumerate(self.matched):
            if old is None or index in ran:
                continue
            delta = self.new_units[index][static.FIRST] - self.old_units[old][static.FIRST]
            if delta:
                unit = self.old_units[old]
                moves.append((unit[static.FIRST], unit[static.LAST], delta))
                for name in self.new_units[index][static.BINDS]:
                    shift_lines(self.namespace.get(name), delta, self.record.path)
        hooks.move_lines(self.name, moves, before=self._mark)

    def _remap(self, lines_by_key: dict, ran_old: set) -> dict:
        """Lines recorded by statements that did not run, moved to where they sit now."""
        shift: dict[int, int] = {}
        for index, old in enumerate(self.matched):
            if old is not None and old not in ran_old:
                shift[old] = self.new_units[index][static.FIRST] - self.old_units[old][static.FIRST]
        remapped: dict = {}
        for key, lines in lines_by_key.items():
            kept = set()
            for line in lines:
                old = self._old_unit_of(line)
                if old is not None and old in shift:
                    kept.add(line + shift[old])
            if kept:
                remapped[key] = kept
        return remapped


#: Members a class patch gives new code in place (``patching._patch_member``).
_PATCHED_IN_PLACE = (FunctionType, staticmethod, classmethod)


def _merge(first: dict, second: dict) -> dict:
    merged = {key: set(lines) for key, lines in first.items()}
    for key, lines in second.items():
        merged.setdefault(key, set()).update(lines)
    return merged
