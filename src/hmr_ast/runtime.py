"""What instrumented module code calls while it executes, and the records it fills.

This module runs inside the user's program on every import, so it imports nothing heavy and
every helper is a few dictionary operations. The helpers live in ``builtins`` under names that
are not identifiers (``@hmr_attr``...), so they never clash with or show up in a module's
namespace. A helper finds the module it works for from its caller's globals, which makes the
records thread-exact: a read made by another thread is attributed to the code that made it.
"""

from __future__ import annotations

import builtins
import os
import sys
from collections.abc import Callable
from types import ModuleType

from . import own_writes

READ_ATTR = "@hmr_attr"
BOUND = "@hmr_bound"
UNBOUND = "@hmr_unbound"
IMPORTED = "@hmr_import"
PRESENT = "@hmr_present"
GLOBALS = "@hmr_globals"

STAR = "*"
GETATTR = "__getattr__"
#: The name node read by code that holds a module object itself (``f(module)``): any change
#: of the module's names reaches it.
ANY = "@any"


class ModuleRecord:
    """What one project module's code read, bound and opened during its latest execution."""

    __slots__ = (
        "name",
        "path",
        "source_hash",
        "meta",
        "code",
        "namespace",
        "reads",
        "imports",
        "written",
        "data_files",
        "data_lines",
        "attr_lines",
        "order",
    )

    def __init__(
        self, name: str, path: str, source_hash: bytes, meta: dict, code: object = None
    ) -> None:
        self.name = name
        self.path = path
        self.source_hash = source_hash
        self.meta = meta
        self.code = code  # what last ran: a rerun for a dependency needs no file read
        self.order = 0  # when it was first imported (the import order breaks cycle ties)
        self.namespace: dict | None = None
        self.reads: set[tuple[str, str]] = set()
        self.imports: set[str] = set()
        self.written: set[str] = set()
        self.data_files: dict[str, tuple[int, int]] = {}
        #: For each data file: the lines of the module body that were executing when it was read.
        self.data_lines: dict[str, set[int]] = {}
        #: For ``module.NAME`` reads: the lines they were made on.
        self.attr_lines: dict[tuple[str, str], set[int]] = {}

    def begin_run(self) -> None:
        self.reads = set()
        self.imports = set()
        self.written = set()
        self.data_files = {}
        self.data_lines = {}
        self.attr_lines = {}

    #: What a failed rerun puts back as it was: all but who it is and where it runs.
    _SAVED = tuple(
        field for field in __slots__ if field not in ("name", "path", "namespace", "order")
    )

    def snapshot(self) -> tuple:
        return tuple(getattr(self, field) for field in self._SAVED)

    def restore(self, state: tuple) -> None:
        for field, value in zip(self._SAVED, state):
            setattr(self, field, value)


records: dict[str, ModuleRecord] = {}
#: Project files whose import failed before a record was made (a syntax error): their fix
#: is an edit even when whoever imported them caught the error (``note_import_failed``).
import_failed: set[str] = set()


def note_import_failed(path: str) -> None:
    """``path`` did not compile at import: watch its folder, and take its fix as an edit."""
    global generation
    if path not in import_failed:
        import_failed.add(path)
        generation += 1


#: Grows whenever a module or data file appears, so the watcher knows to look again.
generation = 0
#: Modules that started executing since the engine last synced its graph.
_changed: set[str] = set()


def take_changed() -> set[str]:
    global _changed
    taken, _changed = _changed, set()
    return taken


def mark_changed(names: set[str]) -> None:
    _changed.update(names)


_by_namespace: dict[int, ModuleRecord] = {}
_getframe = sys._getframe

#: Set by the session: which opened files count as the project's data files.
is_data_file: Callable[[str], bool] = lambda path: False  # noqa: E731


def register(
    name: str, path: str, source_hash: bytes, meta: dict, code: object = None
) -> ModuleRecord:
    """Called by the loader just before a module's code first executes."""
    old = records.get(name)
    if old is not None and old.namespace is not None:
        _by_namespace.pop(id(old.namespace), None)
    global generation
    record = ModuleRecord(name, path, source_hash, meta, code)
    records[name] = record
    generation += 1
    record.order = generation
    _changed.add(name)
    return record


def bind(record: ModuleRecord, namespace: dict) -> None:
    """Tie a record to the namespace its module executes in."""
    if record.namespace is not None and record.namespace is not namespace:
        _by_namespace.pop(id(record.namespace), None)
    record.namespace = namespace
    _by_namespace[id(namespace)] = record


def record_for(namespace: dict) -> ModuleRecord | None:
    record = _by_namespace.get(id(namespace))
    if record is not None:
        return record
    record = records.get(namespace.get("__name__"))  # type: ignore[arg-type]
    if record is None:
        return None
    module = sys.modules.get(record.name)
    if record.namespace is None and (module is None or module.__dict__ is namespace):
        bind(record, namespace)
        return record
    return None


def is_project(module: str) -> bool:
    """Whether the module of that name is one of the project's (hmr-ast instruments it)."""
    return module in records


def project_module_name(obj: object) -> str | None:
    """The record name of ``obj`` if it is a project module, else None."""
    if not isinstance(obj, ModuleType):
        return None
    namespace = obj.__dict__
    record = _by_namespace.get(id(namespace))
    if record is None:
        record = record_for(namespace)
    return record.name if record is not None else None


# The helpers get the caller's globals from ``globals()`` evaluated in the caller: unlike
# ``sys._getframe`` it is not an audited event, so it costs ~20 ns instead of ~700.


def _read_attr(obj: object, name: str, line: int, namespace: dict) -> object:
    if isinstance(obj, ModuleType):
        target = _by_namespace.get(id(obj.__dict__)) or record_for(obj.__dict__)
        if target is not None:
            reader = _by_namespace.get(id(namespace)) or record_for(namespace)
            if reader is not None:
                _record_read(reader, (target.name, name), line)
                if name not in obj.__dict__:
                    _record_read(reader, (target.name, GETATTR), line)
    return obj


def _record_read(reader: ModuleRecord, key: tuple[str, str], line: int) -> None:
    """``reader`` read ``key`` (module, name) on ``line``: the statement there depends on it."""
    lines = reader.attr_lines.get(key)
    if lines is None:
        reader.reads.add(key)
        reader.attr_lines[key] = {line}
    elif line not in lines:
        lines.add(line)


def _bound(names: tuple[str, ...], namespace: dict) -> None:
    record = record_for(namespace)
    if record is not None:
        record.written.update(names)


def _present(names: tuple[str, ...], namespace: dict) -> None:
    """After a loop: the names its body binds, where they are bound (it may not have run)."""
    record = record_for(namespace)
    if record is not None:
        record.written.update(name for name in names if name in namespace)


def _unbound(names: tuple[str, ...], namespace: dict) -> None:
    record = record_for(namespace)
    if record is not None:
        record.written.difference_update(names)


def public_names(module: ModuleType) -> list[str]:
    """The names ``from module import *`` binds."""
    namespace = module.__dict__
    exported = namespace.get("__all__")
    if exported is not None:
        return [name for name in exported if isinstance(name, str)]
    return [name for name in namespace if not name.startswith("_")]


def _resolve(module: str, level: int, namespace: dict) -> str | None:
    if level == 0:
        return module
    package = namespace.get("__package__")
    if package is None:
        spec = namespace.get("__spec__")
        package = spec.parent if spec is not None else None
    return absolute_name(module, level, package)


def absolute_name(module: str, level: int, package: str | None) -> str | None:
    """The module ``from <level dots><module> import ...`` names in ``package``; None when
    the import goes above the top-level package (or there is no package)."""
    if level == 0:
        return module
    if not package:
        return None
    parts = package.rsplit(".", level - 1)
    if len(parts) < level:
        return None
    base = parts[0]
    return f"{base}.{module}" if module else base


def _imported(
    modules: tuple[str, ...],
    level: int,
    names: tuple[str, ...] | None,
    bound: tuple[str, ...],
    line: int,
    namespace: dict,
) -> None:
    record = record_for(namespace)
    if record is None:
        return
    record.written.update(bound)
    for module in modules:
        resolved = _resolve(module, level, namespace)
        if resolved is None:
            continue
        if names is None:
            record.imports.add(resolved)
            continue
        if names == (STAR,):
            record.imports.add(resolved)
            source = sys.modules.get(resolved)
            if source is not None:
                record.written.update(public_names(source))
            _record_read(record, (resolved, STAR), line)
            continue
        source = sys.modules.get(resolved)
        for name in names:
            submodule = f"{resolved}.{name}"
            value = source.__dict__.get(name) if source is not None else None
            if isinstance(value, ModuleType) and sys.modules.get(submodule) is value:
                # ``from pkg import sub``: a dependency on ``sub``, not on ``pkg``'s names
                # (which would tie ``sub`` and ``pkg/__init__`` in a false import cycle).
                record.imports.add(submodule)
                continue
            record.imports.add(resolved)
            _record_read(record, (resolved, name), line)
            if source is not None and name not in source.__dict__:
                _record_read(record, (resolved, GETATTR), line)


_watched: tuple[int, set[str]] = (-1, set())


def watched_directories() -> set[str]:
    """The folders of the loaded project modules and of the data files they read: what a
    watcher watches (computed again only when modules or data files appeared)."""
    global _watched
    if _watched[0] != generation:
        current = generation
        directories = set()
        for record in list(records.values()):
            if record.namespace is not None:
                directories.add(os.path.dirname(record.path))
                directories.update(os.path.dirname(path) for path in record.data_files)
        directories.update(os.path.dirname(path) for path in list(import_failed))
        _watched = (current, directories)
    return _watched[1]


def sweep_paths() -> set[str]:
    """The loaded modules' files, and their data files that changed since they were read:
    what may have changed while nothing was watching."""
    paths = set()
    for record in list(records.values()):
        if record.namespace is None:
            continue
        paths.add(record.path)
        for path, state in list(record.data_files.items()):
            if file_state(path) != state:
                paths.add(path)
    paths.update(import_failed)  # fixed before anything watched it: worth a new try
    return paths


def file_state(path: str) -> tuple[int, int]:
    """(mtime_ns, size) of a file, or (0, -1) when it is gone."""
    try:
        stat = os.stat(path)
    except OSError:
        return (0, -1)
    return (stat.st_mtime_ns, stat.st_size)


def _audit(event: str, args: tuple) -> None:
    if event != "open":
        written = own_writes.EVENTS.get(event)
        if written is not None:
            try:
                written(args)
            except Exception:  # an audit hook that raises would fail the program's call
                pass
        return
    try:
        if own_writes.opened(args):
            return
    except Exception:
        return
    path = args[0]
    if not isinstance(path, str):
        try:
            path = os.fsdecode(path)
        except TypeError:
            return  # a file descriptor
    if path.endswith((".py", ".pyc")) or not is_data_file(path):
        return
    frame = _getframe(1)
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            record = _by_namespace.get(id(frame.f_globals))
            if record is not None:
                global generation
                path = os.path.abspath(path)
                if path not in record.data_files:
                    generation += 1
                record.data_files[path] = file_state(path)
                record.data_lines.setdefault(path, set()).add(frame.f_lineno)
                return
        frame = frame.f_back


_installed = False


def helpers() -> dict[str, Callable]:
    """What instrumented code calls, by the names it calls them."""
    return {
        READ_ATTR: _read_attr,
        BOUND: _bound,
        UNBOUND: _unbound,
        PRESENT: _present,
        IMPORTED: _imported,
        GLOBALS: builtins.globals,
    }


def install() -> None:
    """Put the helpers where instrumented code finds them; idempotent."""
    global _installed
    for name, helper in helpers().items():
        setattr(builtins, name, helper)
    if not _installed:
        sys.addaudithook(_audit)
        _installed = True
