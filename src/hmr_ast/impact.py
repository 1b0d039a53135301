"""Static reload-impact analysis: what an edit would rerun, found without running anything.

It follows the engine's rules on facts read from source (``static.py``, cached with the
instrumented code): an edited module reruns; a module reruns next if it reads a name whose
value may have changed, directly or through a function it uses while it executes; a rerun
module's name counts as changed if the statement binding it was edited, reads a changed
name, or can give a fresh object each time (``CACHE = {}``, ``app = App()``). Where the
engine compares values it cannot see, the analysis assumes "changed": it may predict a
rerun the engine then skips, never the reverse (tests compare both).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.machinery import PathFinder
from importlib.util import source_hash

from . import cache, static
from .errors import display_path
from .finder import ProjectScope
from .graph import DependencyGraph
from .runtime import absolute_name
from .summaries import node

ENTRY = "__main__"
STAR = "*"
GETATTR = "__getattr__"


@dataclass
class Module:
    """One project module as its source says, and the version hmr-ast last ran, if older."""

    name: str
    path: str
    package: str | None
    facts: dict
    functions: dict
    dynamic: bool
    global_stores: frozenset
    imports: tuple
    previous: dict | None = None  # facts of the cached (last run) version, when it differs
    error: str | None = None
    suspect: bool = False

    @property
    def units(self) -> tuple:
        return self.facts.get("units", ())


class Project:
    """The modules an entry imports, found by following import statements from it."""

    def __init__(self, scope: ProjectScope, search_path: list[str]) -> None:
        self.scope = scope
        self.search_path = search_path
        self.modules: dict[str, Module] = {}
        self.packages: set[str] = set()  # namespace packages and packages without a file
        self._specs: dict[str, object] = {}

    @classmethod
    def from_entry(
        cls, scope: ProjectScope, path: str | None = None, module: str | None = None
    ) -> Project:
        if path is not None:
            path = os.path.abspath(path)
            project = cls(scope, [os.path.dirname(os.path.realpath(path))])
            project._add(ENTRY, path, None)
        else:
            assert module is not None
            project = cls(scope, [os.getcwd()])
            spec = project._spec(module)
            origin = getattr(spec, "origin", None)
            if spec is None or not origin or not origin.endswith(".py"):
                raise FileNotFoundError(f"no module named {module!r} in {os.getcwd()}")
            package = module if spec.submodule_search_locations else module.rpartition(".")[0]  # type: ignore[union-attr]
            project._add_with_parents(package)
            project._add(ENTRY, origin, package or None)
        project._follow()
        return project

    @classmethod
    def from_modules(
        cls, scope: ProjectScope, names: Iterable[str], search_path: list[str]
    ) -> Project:
        """The modules ``names`` and everything they import: a session with no entry file
        (an IPython shell or a notebook, which imported them)."""
        project = cls(scope, search_path)
        for name in names:
            project._add_with_parents(name)
        project._follow()
        return project

    # --- finding modules -----------------------------------------------------------------

    def _spec(self, name: str):
        if name in self._specs:
            return self._specs[name]
        parent, _, _ = name.rpartition(".")
        if parent:
            parent_spec = self._spec(parent)
            locations = getattr(parent_spec, "submodule_search_locations", None)
            spec = PathFinder.find_spec(name, list(locations)) if locations else None
        else:
            spec = PathFinder.find_spec(name, self.search_path)
        self._specs[name] = spec
        return spec

    def is_module(self, name: str) -> bool:
        return name in self.modules or name in self.packages

    def _add_with_parents(self, name: str) -> bool:
        """Add ``name`` and the packages above it (which run first) if they are ours."""
        if not name:
            return False
        parts = name.split(".")
        found = False
        for end in range(1, len(parts) + 1):
            found = self._add_named(".".join(parts[:end]))
        return found

    def _add_named(self, name: str) -> bool:
        if self.is_module(name):
            return True
        spec = self._spec(name)
        if spec is None:
            return False
        origin = spec.origin
        if origin and origin.endswith(".py") and self.scope.contains(origin):
            package = name if spec.submodule_search_locations else name.rpartition(".")[0]
            self._add(name, origin, package or None)
            return True
        if spec.submodule_search_locations and any(
            self.scope.contains_dir(location) for location in spec.submodule_search_locations
        ):
            self.packages.add(name)  # a namespace package of ours
            return True
        return False

    def _add(self, name: str, path: str, package: str | None) -> None:
        self.modules[name] = _load(name, path, package)

    def _follow(self) -> None:
        done: set[str] = set()
        while True:
            todo = [name for name in self.modules if name not in done]
            if not todo:
                return
            for name in todo:
                done.add(name)
                module = self.modules[name]
                for imported, level, names in module.imports:
                    base = self.absolute(module, imported, level)
                    if base is None:
                        continue
                    if not self._add_with_parents(base):
                        continue
                    for attribute in names or ():
                        if attribute != STAR:
                            self._add_named(f"{base}.{attribute}")  # ``from pkg import sub``

    def absolute(self, module: Module, imported: str, level: int) -> str | None:
        """The absolute name of ``from <level dots><imported> import ...`` in ``module``."""
        return absolute_name(imported, level, module.package)


def _load(name: str, path: str, package: str | None) -> Module:
    """A module's facts: from the cache when it holds this version; else computed (and
    cached, unless the cache holds the version hmr-ast last ran: that one is the baseline
    ``impact`` compares an edit with)."""
    try:
        with open(path, "rb") as file:
            data = file.read()
    except OSError as error:
        return _broken(name, path, package, f"cannot read: {error.strerror}")
    digest = source_hash(data)
    cached = cache.load_any(path)  # (source hash, code, meta) of the version last cached
    previous = None
    if cached is not None and cached[0] == digest:
        meta = cached[2]
    else:
        from .transform import instrument_source

        try:
            code, meta = instrument_source(data, path)
        except (SyntaxError, ValueError) as error:
            line = getattr(error, "lineno", None)
            where = f", line {line}" if line else ""
            return _broken(name, path, package, f"{type(error).__name__}{where}: {error}")
        if cached is None:
            cache.store(path, digest, code, meta)
        else:
            previous = cached[2].get("static")
    module = Module(
        name=name,
        path=path,
        package=package,
        facts=meta.get("static", {}),
        functions=meta.get("functions", {}),
        dynamic=bool(meta.get("dynamic")),
        global_stores=frozenset(meta.get("global_stores", ())),
        imports=tuple(meta.get("imports", ())),
        previous=previous,
        suspect=bool(meta.get("suspect")),
    )
    return module


def _broken(name: str, path: str, package: str | None, why: str) -> Module:
    module = Module(name, path, package, {}, {}, True, frozenset(), ())
    module.error = why
    return module


# --- the graph -------------------------------------------------------------------------------


class Analysis:
    """The static dependency graph of a project, and predictions from it."""

    def __init__(self, project: Project) -> None:
        self.project = project
        self.graph = DependencyGraph()
        self._binders: dict[str, dict[str, list[int]]] = {}
        self._aliases: dict[str, dict[str, tuple]] = {}
        self._plain: dict[tuple[str, str], bool] = {}
        self._maker_names: dict[str, frozenset[str]] = {}
        self._unit_reads: dict[tuple[str, int], set[str]] = {}
        self._reached: dict[tuple[str, int], set[str]] = {}
        for module in project.modules.values():
            self._index(module)
        self._edits: set[str] = set()
        self._star_importers: dict[str, list[str]] = {}
        for module in project.modules.values():
            for source in self._star_sources(module.name):
                self._star_importers.setdefault(source, []).append(module.name)
        for module in project.modules.values():
            self._add(module)

    # --- per-module indexes ------------------------------------------------------------------

    def _index(self, module: Module) -> None:
        binders: dict[str, list[int]] = {}
        for index, unit in enumerate(module.units):
            for name in unit[static.BINDS]:
                binders.setdefault(name, []).append(index)
        self._binders[module.name] = binders
        aliases: dict[str, tuple] = {}
        for bound, imported, level, attribute in module.facts.get("aliases", ()):
            base = self.project.absolute(module, imported, level)
            if base is None:
                continue
            if attribute is None:
                if "." in imported and bound == imported.partition(".")[0] and level == 0:
                    aliases[bound] = ("module", bound)  # ``import a.b`` binds ``a``
                else:
                    aliases[bound] = ("module", base)
            elif attribute == STAR:
                aliases.setdefault(STAR, ("star", []))[1].append(base)
            elif self.project.is_module(f"{base}.{attribute}"):
                aliases[bound] = ("module", f"{base}.{attribute}")
            else:
                aliases[bound] = ("name", base, attribute)
        self._aliases[module.name] = aliases

    def public_names(self, name: str) -> list[str]:
        module = self.project.modules.get(name)
        if module is None:
            return []
        exported = module.facts.get("all")
        if exported is not None:
            return list(exported)
        names = _public(self._binders.get(name, {}))
        for source in self._star_sources(name):
            names += self.public_names(source) if source != name else []
        return list(dict.fromkeys(names))

    def module_bound(self, module: str, name: str) -> str | None:
        """The project module ``module``'s global ``name`` holds, if it holds one."""
        alias = self._aliases.get(module, {}).get(name)
        if alias is not None and alias[0] == "module":
            return alias[1] if self.project.is_module(alias[1]) else None
        if (
            alias is not None
            and alias[0] == "name"
            and self.project.is_module(f"{alias[1]}.{alias[2]}")
        ):
            return f"{alias[1]}.{alias[2]}"
        submodule = f"{module}.{name}"
        if self.project.is_module(submodule):
            return submodule  # a package's submodule, bound once it is imported
        return None

    def resolve(self, module: str, chain: tuple[str, ...]) -> list[str]:
        """The name nodes reading ``a.b.c`` in ``module`` touches, as the runtime records
        them: ``module:a``, then ``a:b`` if ``a`` is a project module, and so on."""
        nodes = [node(module, chain[0])]
        target = self.module_bound(module, chain[0])
        for attribute in chain[1:]:
            if target is None:
                break
            nodes.append(node(target, attribute))
            if self._getattr_fallback(target, attribute):
                nodes.append(node(target, GETATTR))
            target = self.module_bound(target, attribute)
        return nodes

    def _getattr_fallback(self, module: str, name: str) -> bool:
        binders = self._binders.get(module, {})
        return GETATTR in binders and name not in binders

    # --- building the graph ----------------------------------------------------------------

    def _add(self, module: Module) -> None:
        own = module.name
        reads: set[str] = set()
        depends: set[str] = set()
        for index in range(len(module.units)):
            reads |= self.unit_reads(module, index)
        for alias in self._aliases[own].values():
            if alias[0] == "module":
                depends.add(alias[1])
            elif alias[0] == "star":
                for source in alias[1]:
                    depends.add(source)
                    reads.add(node(source, STAR))
            else:
                depends.add(alias[1])
        for imported, level, _ in module.imports:
            base = self.project.absolute(module, imported, level)
            if base is not None and self.project.is_module(base):
                parts = base.split(".")
                depends.update(".".join(parts[:end]) for end in range(1, len(parts) + 1))
        depends = {name for name in depends if name in self.project.modules}
        self.graph.set_module(own, reads, depends)
        for name in self._binders[own]:
            if name != STAR:
                self.graph.set_name(node(own, name), self._name_reads(module, name))
        alias_star = self._aliases[own].get(STAR)
        if alias_star is not None:
            for source in alias_star[1]:
                for name in self.public_names(source):
                    self.graph.set_name(node(own, name), [node(source, name)])

    def unit_reads(self, module: Module, index: int) -> set[str]:
        """Name nodes a unit reads while the module executes (from-imports included)."""
        key = (module.name, index)
        found = self._unit_reads.get(key)
        if found is not None:
            return found
        found = set()
        unit = module.units[index]
        for chain in unit[static.READS]:
            found.update(self.resolve(module.name, chain))
        for bound in unit[static.BINDS]:
            alias = self._aliases[module.name].get(bound)
            if bound == STAR:
                found.update(node(source, STAR) for source in self._star_sources(module.name))
            elif alias is not None and alias[0] == "name":
                found.add(node(alias[1], alias[2]))
                if self._getattr_fallback(alias[1], alias[2]):
                    found.add(node(alias[1], GETATTR))
        self._unit_reads[key] = found
        return found

    def _name_reads(self, module: Module, name: str) -> set[str]:
        """What using the value of ``module:name`` may read: what its binding statements
        read, and what the functions they define read when called."""
        found: set[str] = set()
        for index in self._binders[module.name].get(name, ()):
            leaves = module.units[index][static.PLAIN]
            if leaves is not None and all(
                self._leaf_plain(module.name, leaf, frozenset()) for leaf in leaves
            ):
                continue  # plain data: using it reads nothing (as at run time)
            found |= self.unit_reads(module, index)
            first, last = module.units[index][static.FIRST], module.units[index][static.LAST]
            for (_, line), chains in module.functions.items():
                if first <= line <= last:
                    for chain in chains:
                        found.update(self.resolve(module.name, chain))
        found.discard(node(module.name, name))
        return found

    # --- what changes -------------------------------------------------------------------------

    def _star_sources(self, module: str) -> list[str]:
        alias = self._aliases.get(module, {}).get(STAR)
        return list(alias[1]) if alias is not None else []

    def origin(self, module: str, name: str, seen: frozenset = frozenset()) -> tuple[str, str]:
        """Where ``module:name`` is really defined, following ``from x import name`` and
        ``from x import *`` (re-exports included)."""
        while (module, name) not in seen:
            seen = seen | {(module, name)}
            alias = self._aliases.get(module, {}).get(name)
            if alias is not None and alias[0] == "name" and alias[1] in self.project.modules:
                module, name = alias[1], alias[2]
                continue
            if name in self._binders.get(module, {}):
                break
            for source in self._star_sources(module):
                if name in self.public_names(source):
                    module = source
                    break
            else:
                break
        return module, name

    def _definition(self, module: str, chain: tuple[str, ...]) -> tuple[str, str] | None:
        """``(module, "f")`` or ``(module, "C.attr")`` for a chain naming a project
        function, class attribute or method; None when it names something else."""
        module, name = self.origin(module, chain[0])
        rest = list(chain[1:])
        while rest:
            bound = self.module_bound(module, name)
            if bound is None:
                break
            module, name = self.origin(bound, rest.pop(0))
        if len(rest) > 1 or module not in self.project.modules:
            return None
        return module, ".".join([name, *rest])

    def _leaf_plain(self, module: str, leaf: tuple[str, ...], seen: frozenset) -> bool:
        """Whether a plain-leaf (a name, ``m.NAME``, ``C.ATTR``, or a call) is plain."""
        call = leaf[0] == static.CALL
        found = self._definition(module, leaf[1:] if call else leaf)
        if found is None:
            return False
        key = (found, call)
        if key in self._plain:
            return self._plain[key]
        if key in seen:
            return False  # a cycle: nothing proves it plain
        seen = seen | {key}
        where, qualname = found
        facts = self.project.modules[where].facts
        if call:
            leaves = facts.get("returns", {}).get(qualname)
        elif "." in qualname:
            leaves = facts.get("class_attributes", {}).get(qualname)
        else:
            leaves = self._assigned_leaves(where, qualname)
        result = leaves is not None and all(self._leaf_plain(where, leaf, seen) for leaf in leaves)
        self._plain[key] = result
        return result

    def _assigned_leaves(self, module: str, name: str) -> tuple | None:
        """The plain leaves of every statement binding ``name`` (None if one is not plain)."""
        units = self.project.modules[module].units
        binders = self._binders.get(module, {}).get(name)
        if not binders:
            return None
        leaves: list = []
        for index in binders:
            found = units[index][static.PLAIN]
            if found is None:
                return None
            leaves += found
        return tuple(leaves)

    def stable(self, module: Module, index: int) -> bool:
        """Whether rerunning the unit with unchanged inputs gives unchanged values."""
        unit = module.units[index]
        if unit[static.ALIAS] is not None:
            return True
        if unit[static.BINDS] == ("__all__",) and module.facts.get("all") is not None:
            return True  # a literal __all__: the engine compares it by equality
        leaves = unit[static.PLAIN]
        if leaves is None:
            if not unit[static.STABLE]:
                return False
            leaves = unit[static.NEEDS]
            for base in unit[static.BASES]:  # a base from outside may bring a metaclass
                if base[0] in _BUILTIN_BASES and len(base) == 1:
                    continue
                found = self._definition(module.name, base)
                if found is None or "." in found[1]:
                    return False
        return all(self._leaf_plain(module.name, leaf, frozenset()) for leaf in leaves)

    def _calls(self, module: Module, index: int) -> bool:
        unit = module.units[index]
        return any(
            leaf[0] == static.CALL for leaf in (*(unit[static.PLAIN] or ()), *unit[static.NEEDS])
        )

    def _reach(self, module: Module, index: int) -> set[str]:
        """What a unit reads, and every name node that reads, through functions and
        classes (once per unit: the graph does not change while predicting)."""
        key = (module.name, index)
        found = self._reached.get(key)
        if found is None:
            found = set(self.unit_reads(module, index))
            for start in list(found):
                found |= self.graph.descendants(start)
            self._reached[key] = found
        return found

    def edited_names(self, module: Module) -> set[str] | None:
        """The names an edit changed, when the version hmr-ast last ran is known."""
        previous = module.previous
        if previous is None:
            return None
        before = _binder_prints(previous.get("units", ()))
        after = _binder_prints(module.units)
        changed = {n for n in before.keys() | after.keys() if before.get(n) != after.get(n)}
        # A name only imports bind is the same object while it names the same thing.
        old_targets = self._import_origins(module, previous)
        new_targets = self._import_origins(module, module.facts)
        changed = {
            n
            for n in changed
            if n not in old_targets or n not in new_targets or old_targets[n] != new_targets[n]
        }
        if previous.get("all") != module.facts.get("all"):
            changed.add("__all__")
        return changed

    def _import_origins(self, module: Module, facts: dict) -> dict[str, frozenset]:
        """For names bound by imports alone (star imports included): where what they hold
        is defined. ``import a.b`` and ``import a.c`` both bind ``a`` to ``a``."""
        origins: dict[str, set] = {}
        stars: list[str] = []
        for bound, imported, level, attribute in facts.get("aliases", ()):
            base = self.project.absolute(module, imported, level)
            if base is None:
                origins.setdefault(bound, set()).add(("?", imported, level, attribute))
            elif attribute == STAR:
                stars.append(base)
            elif attribute is None:
                top = level == 0 and bound == imported.partition(".")[0]
                origins.setdefault(bound, set()).add(("module", bound if top else base))
            else:
                origins.setdefault(bound, set()).add(self.origin(base, attribute))
        for source in stars:
            for name in self.public_names(source):
                origins.setdefault(name, set()).add(self.origin(source, name))
        for unit in facts.get("units", ()):
            if not unit[static.IMPORT]:
                for name in unit[static.BINDS]:
                    origins.pop(name, None)
        return {name: frozenset(found) for name, found in origins.items()}

    def changed_names(self, module: Module, changed: set[str], edited: set[str] | None) -> set[str]:
        """Names of ``module`` whose values may change when it reruns now, given the name
        nodes known to change and the names its edit changed (None: it was edited, how is
        unknown, so every name may change)."""
        names = (set(self._binders[module.name]) | module.global_stores) - {STAR}
        names |= self._star_bound(module, changed)
        if module.dynamic or module.error or edited is None:
            return names | set(self.public_names(module.name))
        result = set(edited) | module.global_stores
        own_changed = {node(module.name, n) for n in result}
        grew = True
        while grew:
            grew = False
            for index, unit in enumerate(module.units):
                binds = set(unit[static.BINDS]) - result
                if not binds:
                    continue
                reads = self.unit_reads(module, index)
                if self._calls(module, index):
                    reads = self._reach(module, index)  # a call's result: what it reads
                if not self.stable(module, index) or reads & changed or reads & own_changed:
                    if STAR in binds:
                        binds |= self._star_bound(module, changed)
                    result |= binds
                    own_changed |= {node(module.name, n) for n in binds}
                    grew = True
        return result & (names | {"__all__"} | set(edited))  # removed names too

    def _star_bound(self, module: Module, changed: set[str]) -> set[str]:
        """What a rerun star import binds anew: the sources' names that changed (added and
        removed ones included)."""
        names: set[str] = set()
        for source in self._star_sources(module.name):
            prefix = f"{source}:"
            names.update(n[len(prefix) :] for n in changed if n.startswith(prefix))
            if node(source, STAR) in changed and source in self._edits:
                # ``__all__`` edited: names it stopped or started exporting come or go (a
                # source that only reran has those among its changed names already)
                before = self._public_before(source)
                now = set(self.public_names(source))
                names |= now if before is None else before ^ now
        return {name for name in names if not name.startswith("_") and name != STAR}

    def _public_before(self, name: str) -> set[str] | None:
        """What ``from name import *`` bound in the version hmr-ast last ran, if known."""
        module = self.project.modules.get(name)
        previous = module.previous if module is not None else None
        if previous is None:
            return None
        exported = previous.get("all")
        if exported is not None:
            return set(exported)
        return set(_public(n for unit in previous.get("units", ()) for n in unit[static.BINDS]))

    # --- prediction ---------------------------------------------------------------------------

    def predict(self, edited_modules: Iterable[str]) -> Prediction:
        """Which modules an edit of ``edited_modules`` reruns, in order, and why."""
        from .impact_statements import plan

        edits = self._edits = set(edited_modules)
        reasons: dict[str, list[str]] = {name: ["edited"] for name in edits}
        by_edit = {name: self.edited_names(self.project.modules[name]) for name in edits}
        changed: set[str] = set()
        self._propagate(list(edits), reasons, changed, by_edit)
        # Statements that add to objects other modules made: those owners are made again,
        # and every contributor to them runs again (the engine's ``contributions``).
        made: dict[str, str] = {}
        forced: dict[str, dict[int, str]] = {}
        while True:
            statements = {
                name: plan(
                    self, self.project.modules[name], changed, name in edits, forced.get(name)
                )
                for name in reasons
            }
            new: dict[str, str] = {}
            for name, found in statements.items():
                module = self.project.modules[name]
                for index, statement in enumerate(found):
                    if not statement.runs:
                        continue
                    for owner in self.owners_of(module, index):
                        if owner not in changed and owner not in made and owner not in new:
                            new[owner] = f"{display_path(module.path)}:{statement.line} adds to it"
            if not new:
                break
            made.update(new)
            queue = self._make_again(new, reasons, changed, forced, set(made))
            self._propagate(queue, reasons, changed, by_edit)
        order = sorted(reasons, key=lambda m: (m == ENTRY, self.graph.rank(m), m))
        reasons = {name: sorted(why) for name, why in reasons.items()}
        statements = {
            name: plan(self, self.project.modules[name], changed, name in edits, forced.get(name))
            for name in order
        }
        return Prediction(order, reasons, changed, statements)

    def _propagate(self, queue: list[str], reasons: dict, changed: set[str], by_edit) -> None:
        """From the modules in ``queue``, which modules rerun and which names may change."""
        while queue:
            name = queue.pop()
            module = self.project.modules[name]
            names = self.changed_names(module, changed, by_edit.get(name, set()))
            fresh = {node(name, n) for n in names}
            if self._public_changed(name, names):
                fresh.add(node(name, STAR))
            fresh -= changed
            if not fresh:
                continue
            changed |= fresh
            self._readers_of(name, fresh, reasons, changed, queue)

    def _readers_of(self, name: str, fresh: set[str], reasons, changed, queue: list[str]) -> None:
        for importer in self._star_importers.get(name, ()):
            if node(name, STAR) in changed and importer in reasons:
                queue.append(importer)  # it binds the names that changed here
        for reader, reason in self.graph.dependents(fresh).items():
            if reader == name or reader not in self.project.modules:
                continue
            via = self._via(reader, reason)
            why = f"reads {reason}" if via == reason else f"reads {via}, which reads {reason}"
            if reader not in reasons:
                reasons[reader] = [why]
            elif why not in reasons[reader] and "edited" not in reasons[reader]:
                reasons[reader].append(why)
            queue.append(reader)

    def _make_again(
        self, new: dict[str, str], reasons, changed: set[str], forced, made: set[str]
    ) -> list[str]:
        """Owners made again: their statements and every contributor's run; returns the
        modules whose names that may change."""
        queue: list[str] = []
        for owner, why in new.items():
            module, _, name = owner.partition(":")
            for index in self._binders.get(module, {}).get(name, ()):
                forced.setdefault(module, {})[index] = f"made again first: {why}"
            reasons.setdefault(module, []).append(f"makes {name} again: {why}")
            changed.add(owner)
            self._readers_of(module, {owner}, reasons, changed, queue)
        for module in self.project.modules.values():
            for index in range(len(module.units)):
                hit = self.owners_of(module, index) & made
                if hit:
                    why = f"adds to {min(hit)}, which is made again"
                    forced.setdefault(module.name, {}).setdefault(index, why)
                    if module.name not in reasons:
                        reasons[module.name] = [why]
                    queue.append(module.name)
        return queue

    # --- side effects on objects other modules made ------------------------------------------

    def _makers(self, module: str) -> frozenset[str]:
        """Names a statement of ``module`` binds to an object it makes (not imports)."""
        found = self._maker_names.get(module)
        if found is None:
            target = self.project.modules.get(module)
            found = frozenset(
                name
                for unit in (target.units if target is not None else ())
                if not unit[static.IMPORT]
                for name in unit[static.BINDS]
                if name not in unit[static.MODIFIES]
            )
            self._maker_names[module] = found
        return found

    def owners_of(self, module: Module, index: int) -> set[str]:
        """Name nodes of objects other modules made that unit ``index`` adds to (the
        engine's ``contributions.targets``, from source: every candidate, for recall)."""
        unit = module.units[index]
        if not (unit[static.MODIFIES] or unit[static.CALLS]):
            return set()
        makers = self._makers(module.name)
        aliases = self._aliases.get(module.name, {})
        found: set[str] = set()
        from .contributions import sets_state_only

        for root in unit[static.MODIFIES]:
            if root in makers or sets_state_only(unit, root):
                continue
            alias = aliases.get(root)
            if alias is None:
                continue
            target = self.module_bound(module.name, root)
            if target is not None:
                for chain in (*unit[static.READS], *unit[static.CALLS]):
                    if chain[0] == root and len(chain) > 1:
                        found |= self._made_by(*self.origin(target, chain[1]))
            elif alias[0] == "name":
                found |= self._made_by(*self.origin(alias[1], alias[2]))
        for chain in unit[static.CALLS]:
            definition = self._definition(module.name, chain)
            if definition is not None and "." not in definition[1]:
                found |= self._made_by(*definition, rebinds_only=True)
        return {target for target in found if not target.startswith(module.name + ":")}

    def _made_by(self, module: str, name: str, rebinds_only: bool = False) -> set[str]:
        """The owners behind ``module:name``: itself if a statement there makes it, or, for
        a function, the globals of its module it changes (appends to, or rebinds)."""
        target = self.project.modules.get(module)
        if target is None or name not in self._makers(module):
            return set()
        functions = target.facts.get("returns", {})
        if name not in functions:
            return set() if rebinds_only else {node(module, name)}
        prefix = module + ":"
        reached = self.graph.descendants(node(module, name))
        names = {n[len(prefix) :] for n in reached if n.startswith(prefix)}
        found = {node(module, n) for n in names & target.global_stores}
        if not rebinds_only:
            found |= {
                node(module, n)
                for n in names
                if n in self._makers(module) and n not in functions and not self._defines(module, n)
            }
        return found

    def _defines(self, module: str, name: str) -> bool:
        """Whether ``module:name`` is bound by a def or class statement."""
        target = self.project.modules[module]
        return any(
            target.units[index][static.HEADER] is not None
            for index in self._binders.get(module, {}).get(name, ())
        )

    def _via(self, reader: str, target: str) -> str:
        """The name ``reader`` reads that leads to ``target`` (itself, or a function that
        reads it), for the reason shown."""
        graph = self.graph.reads
        successors = set(graph.successors(reader))
        if target in successors:
            return target
        seen: set[str] = set()
        frontier = [(start, start) for start in sorted(successors)]
        while frontier:
            current, first = frontier.pop(0)
            if current == target:
                return first
            if current in seen:
                continue
            seen.add(current)
            frontier += [(n, first) for n in graph.successors(current)]
        return target

    def _public_changed(self, module: str, names: set[str]) -> bool:
        """Whether ``from module import *`` binds something else now (the engine's rule:
        a changed name in ``__all__``, or without ``__all__`` one not starting with _)."""
        if "__all__" in names:
            return True
        exported = self.project.modules[module].facts.get("all")
        if exported is not None:
            return bool(names & set(exported))
        if "__all__" in self._binders.get(module, {}):
            return bool(names)  # a computed __all__: it may name any of them
        return any(not name.startswith("_") for name in names)

    def notes(self) -> list[str]:
        """The dynamic features the analysis cannot follow, as ``file:line: what``."""
        found: list[str] = []
        for module in sorted(self.project.modules.values(), key=lambda m: m.path):
            if module.error:
                found.append(f"{display_path(module.path)}: {module.error}")
            if not module.suspect:
                continue
            import ast

            try:
                with open(module.path, "rb") as file:
                    tree = ast.parse(file.read(), module.path)
            except (OSError, SyntaxError, ValueError):
                continue
            for line, why in sorted(static.dynamic_notes(tree)):
                found.append(f"{display_path(module.path)}:{line}: {why}")
        return found


@dataclass
class Prediction:
    order: list[str]
    reasons: dict[str, list[str]]
    changed: set[str]
    #: module -> its statements (``impact_statements.Statement``), with what runs and why
    statements: dict = field(default_factory=dict)


_BUILTIN_BASES = frozenset(
    name
    for name, value in vars(__import__("builtins")).items()
    if isinstance(value, type) and type(value) is type
)


def _public(names: Iterable[str]) -> list[str]:
    """What ``from m import *`` binds of ``m``'s names when it has no ``__all__``."""
    return [name for name in names if not name.startswith("_") and name != STAR]


def _binder_prints(units: tuple) -> dict[str, tuple[str, ...]]:
    prints: dict[str, list[str]] = {}
    for unit in units:
        for name in unit[static.BINDS]:
            prints.setdefault(name, []).append(unit[static.PRINT])
    return {name: tuple(values) for name, values in prints.items()}
