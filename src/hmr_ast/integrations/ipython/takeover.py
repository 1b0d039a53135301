"""Take over the project modules a session imported before ``%load_ext hmr_ast``.

Those modules ran without the hook, so hmr-ast never saw what they read: it could not tell
what to rerun when they change. Each is run once more, under the hook, *in its existing
module object*: the import system is asked for them again (in the order they were first
imported, so a module's imports are taken over inside its own run, as in a fresh import),
with a loader that hands back the module object the session already holds. Functions and
classes whose code did not change keep their identity (``namespace.settle``), so instances,
callbacks and the notebook's references stay valid; values that come out different are
reported as changed, for the notebook's from-imported names to follow. The cost: each
module's top-level code runs a second time (its side effects too), once.
"""

from __future__ import annotations

import importlib
import os
import sys
from importlib.machinery import ModuleSpec, SourceFileLoader
from types import ModuleType

from ... import errors, runtime
from ... import namespace as namespace_
from ...finder import InstrumentingLoader, ProjectFinder, ProjectScope


def modules_to_take_over(scope: ProjectScope) -> dict[str, ModuleType]:
    """Loaded modules whose source file is the project's and that hmr-ast does not know,
    in the order they were imported."""
    found: dict[str, ModuleType] = {}
    for name, module in list(sys.modules.items()):
        if name == "__main__" or not isinstance(module, ModuleType):
            continue
        path = getattr(module, "__file__", None)
        spec = getattr(module, "__spec__", None)
        if (
            not isinstance(path, str)
            or not path.endswith(".py")
            or spec is None
            or not isinstance(spec.loader, SourceFileLoader)
            or isinstance(spec.loader, InstrumentingLoader)  # imported through the hook
            or not scope.contains(os.path.abspath(path))
        ):
            continue
        found[name] = module
    return found


class _TakeoverLoader(InstrumentingLoader):
    """Runs a module's instrumented code again in the module object it already has."""

    def __init__(self, fullname: str, path: str, module: ModuleType, changed: dict) -> None:
        super().__init__(fullname, path)
        self.module = module
        self.changed = changed

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        name = self.name
        code = self.get_code(name)  # registers the record
        record = runtime.records[name]
        runtime.bind(record, module.__dict__)
        undo = namespace_.begin(record, code, record.meta, record.source_hash)
        try:
            exec(code, module.__dict__)
        except BaseException:
            namespace_.rollback(record, undo)
            runtime.records.pop(name, None)
            raise
        self.changed[name] = namespace_.settle(record, undo[0])
        plain = InstrumentingLoader(name, self.path)
        module.__loader__ = plain
        if module.__spec__ is not None:
            module.__spec__.loader = plain


class _KeepLoader:
    """For a module the hook no longer finds: the session keeps it as it is, untouched."""

    def __init__(self, module: ModuleType) -> None:
        self.module = module
        self.spec = module.__spec__

    def create_module(self, spec: ModuleSpec) -> ModuleType:
        return self.module

    def exec_module(self, module: ModuleType) -> None:
        module.__spec__ = self.spec  # the import system set ours


class _TakeoverFinder:
    """First on ``sys.meta_path`` while a takeover runs: claims exactly its modules."""

    def __init__(self, finder: ProjectFinder, waiting: dict[str, ModuleType], changed: dict):
        self.finder = finder
        self.waiting = waiting
        self.changed = changed

    def find_spec(self, fullname: str, path=None, target=None):
        module = self.waiting.pop(fullname, None)
        if module is None:
            return None
        spec = self.finder.find_spec(fullname, path, target)
        if spec is None:
            old = module.__spec__
            return ModuleSpec(fullname, _KeepLoader(module), origin=old.origin, is_package=False)
        spec.loader = _TakeoverLoader(fullname, spec.origin, module, self.changed)
        return spec


class Takeover:
    """What taking over did: module -> names whose value changed, and modules it could not
    take over (their code raised this time), each with the error."""

    def __init__(self) -> None:
        self.changed: dict[str, set[str]] = {}
        self.failed: dict[str, BaseException] = {}


def take_over(modules: dict[str, ModuleType], finder: ProjectFinder) -> Takeover:
    """Run ``modules`` again under the hook, each in its own module object (see above)."""
    result = Takeover()
    waiting = dict(modules)
    claimer = _TakeoverFinder(finder, waiting, result.changed)
    for name in modules:
        sys.modules.pop(name, None)
    sys.meta_path.insert(0, claimer)
    try:
        for name in modules:
            if name in sys.modules:
                continue  # taken over while another module imported it
            try:
                importlib.import_module(name)
            except Exception as error:
                errors.strip_our_frames(error)
                result.failed[name] = error
                for other, held in modules.items():  # the import system dropped them
                    if other not in sys.modules and other not in waiting:
                        sys.modules[other] = held
    finally:
        sys.meta_path.remove(claimer)
        for name, module in modules.items():
            if sys.modules.get(name) is not module:
                sys.modules[name] = module  # failed, or never reached: as it was
    return result
