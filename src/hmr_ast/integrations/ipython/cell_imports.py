"""Names the notebook took with ``from m import X``, rebound when a reload changes ``m.X``.

A cell is not a project module: nothing reruns it. But ``from m import X`` copied ``m.X`` into
the user namespace, where a fresh run of the notebook would now find the new value. After a
batch, each such name whose source changed is rebound, and removed when its module no longer
defines it; never when a later cell bound the name to something else (its value is no
longer the one the import gave it).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from types import ModuleType

from ... import runtime

_MISSING = object()


@dataclass
class Imported:
    """``from module import attribute as name``, and the value it gave ``name``."""

    module: str
    attribute: str
    value: object


def from_imports(source: str) -> list[tuple[str, str, str]]:
    """``(bound name, module, attribute)`` for each ``from m import X [as Y]`` that runs at
    the top level of ``source`` (inside ``if``/``try``/``with``/loops too, not in a def or
    class); ``attribute`` is ``*`` for a star import. Relative imports are left out: a cell
    has no package."""
    try:  # IPython runs cells with a top-level ``await`` too
        tree = compile(source, "<cell>", "exec", ast.PyCF_ONLY_AST | ast.PyCF_ALLOW_TOP_LEVEL_AWAIT)
    except (SyntaxError, ValueError):
        return []
    found: list[tuple[str, str, str]] = []
    pending: list[ast.AST] = list(tree.body)
    while pending:
        statement = pending.pop(0)
        if isinstance(statement, ast.ImportFrom):
            if statement.level == 0 and statement.module:
                for alias in statement.names:
                    found.append((alias.asname or alias.name, statement.module, alias.name))
        elif not isinstance(
            statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)
        ):
            pending.extend(
                child for child in ast.iter_child_nodes(statement) if isinstance(child, ast.stmt)
            )
            for handler in getattr(statement, "handlers", ()):
                pending.extend(handler.body)
    return found


class CellImports:
    """The user namespace's from-imported names of project modules, and their rebinding."""

    def __init__(self, namespace: dict) -> None:
        self.namespace = namespace
        self.tracked: dict[str, Imported] = {}
        self.stars: set[str] = set()  # modules a cell star-imported: their new names come too

    def scan(self, sources: Iterable[str], also: Iterable[str] = ()) -> None:
        """Track the names these cells (already run) imported from project modules (and
        from the modules ``also`` names), while they still hold what the import gave them."""
        also = set(also)
        for source in sources:
            for bound, module_name, attribute in from_imports(source):
                module = sys.modules.get(module_name)
                if module is None or (
                    module_name not in also and runtime.project_module_name(module) is None
                ):
                    continue
                if attribute == "*":
                    self.stars.add(module_name)
                    for name in runtime.public_names(module):
                        self._track(name, module_name, name, module)
                else:
                    self._track(bound, module_name, attribute, module)

    def _track(self, bound: str, module_name: str, attribute: str, module: ModuleType) -> None:
        value = module.__dict__.get(attribute, _MISSING)
        if value is _MISSING or isinstance(value, ModuleType):
            return  # ``from pkg import sub``: the module object stays the same one
        if self.namespace.get(bound, _MISSING) is value:
            self.tracked[bound] = Imported(module_name, attribute, value)

    def rebind(self, changed: dict[str, set[str]]) -> tuple[list[str], list[str]]:
        """After a batch that changed ``changed`` (module -> names): rebind the tracked
        names whose source changed; return the names rebound and the names removed."""
        rebound: list[str] = []
        removed: list[str] = []
        for bound, imported in list(self.tracked.items()):
            if imported.attribute not in changed.get(imported.module, ()):
                continue
            if self.namespace.get(bound, _MISSING) is not imported.value:
                del self.tracked[bound]  # a cell bound the name to something else since
                continue
            module = sys.modules.get(imported.module)
            new = module.__dict__.get(imported.attribute, _MISSING) if module else _MISSING
            if new is _MISSING:
                # As a fresh run would, where the import itself fails: the name is gone.
                del self.namespace[bound]
                del self.tracked[bound]
                removed.append(bound)
            elif new is not imported.value:
                self.namespace[bound] = new
                imported.value = new
                rebound.append(bound)
        for module_name in self.stars & changed.keys():
            # ``from m import *`` in a fresh run binds what ``m`` exports now: a name it
            # started exporting comes in, unless a cell bound that name itself.
            module = sys.modules.get(module_name)
            exported = set(runtime.public_names(module)) if module is not None else set()
            for name in sorted(changed[module_name] & exported):
                if name in self.namespace or name in self.tracked:
                    continue
                self._track_new(name, module_name, module)
                if name in self.tracked:
                    rebound.append(name)
        return sorted(rebound), sorted(removed)

    def _track_new(self, name: str, module_name: str, module: ModuleType) -> None:
        value = module.__dict__.get(name, _MISSING)
        if value is not _MISSING and not isinstance(value, ModuleType):
            self.namespace[name] = value
            self.tracked[name] = Imported(module_name, name, value)
