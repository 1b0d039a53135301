"""The meta-path finder that claims the project's own source files, and their loader.

The loader subclasses ``SourceFileLoader`` and overrides only ``get_code``, so ``get_source``,
resources, ``is_package`` and the frame-hiding ``exec_module`` of importlib come for free:
tracebacks through an import look exactly as they do without hmr-ast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from importlib.machinery import PathFinder, SourceFileLoader
from importlib.util import source_hash
from types import CodeType

from . import cache, runtime

#: Set by an integration whose own AST pass must run before ours (pytest's assertion
#: rewriting): path -> (cache tag, pass over the parsed module and its source) or None.
ast_pass: Callable[[str], tuple[str, Callable] | None] | None = None

#: Folders whose files are never the project's modules or data: packages, version control,
#: and the caches of tools (a test run writes .hypothesis and .pytest_cache as it goes).
_NEVER_DIRS = frozenset(
    {
        "site-packages",
        "dist-packages",
        "__pycache__",
        "node_modules",
        ".git",
        ".hg",
        ".svn",
        ".tox",
        ".nox",
        ".hypothesis",
        ".pytest_cache",
        ".mypy_cache",
        ".ruff_cache",
        ".ipynb_checkpoints",
    }
)


def _is_venv(directory: str) -> bool:
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg"))


def _library_dirs() -> list[str]:
    """The standard library's folders, without ``sysconfig`` (its import costs ~3 ms of
    every start-up): where ``os`` lives, and its ``platlibdir`` twin (``lib64``).
    site-packages and dist-packages folders are never the project's anyway (_NEVER_DIRS)."""
    stdlib = os.path.dirname(os.__file__)
    version = f"python{sys.version_info[0]}.{sys.version_info[1]}"
    platlibdir = getattr(sys, "platlibdir", "lib")
    return [
        stdlib,
        *(os.path.join(p, platlibdir, version) for p in {sys.exec_prefix, sys.base_exec_prefix}),
    ]


class ProjectScope:
    """Which files are the project's: under a root, not stdlib, site-packages or a venv."""

    def __init__(self, roots: list[str], include: list[str] = (), exclude: list[str] = ()) -> None:
        self.roots = [os.path.realpath(root) for root in roots]
        self.include = list(include)
        self.exclude = list(exclude)
        if self.include or self.exclude:
            # Imported here, not in the finder (where importing it would ask the finder
            # again), and only with globs: it imports re, which costs every start-up.
            import fnmatch

            self._fnmatch = fnmatch.fnmatch
        system = {*_library_dirs(), sys.prefix, sys.base_prefix, sys.exec_prefix}
        self._system = tuple(
            os.path.realpath(p) + os.sep for p in system if p and not self._is_root_parent(p)
        )
        self._hmr_ast = os.path.dirname(os.path.realpath(__file__)) + os.sep
        self._dirs: dict[str, bool] = {}

    def _is_root_parent(self, path: str) -> bool:
        path = os.path.realpath(path) + os.sep
        return any((root + os.sep).startswith(path) for root in self.roots)

    def contains_dir(self, directory: str) -> bool:
        """Whether files directly in ``directory`` may be the project's (cached)."""
        known = self._dirs.get(directory)
        if known is None:
            known = self._dirs[directory] = self._check_dir(os.path.realpath(directory))
        return known

    def _check_dir(self, real: str) -> bool:
        inside = real + os.sep
        if not any(inside.startswith(root + os.sep) for root in self.roots):
            return False
        if inside.startswith(self._hmr_ast) or inside.startswith(self._system):
            return False
        for root in self.roots:
            if inside.startswith(root + os.sep):
                relative = os.path.relpath(real, root)
                parts = [] if relative == "." else relative.split(os.sep)
                current = root
                for part in parts:
                    current = os.path.join(current, part)
                    if part in _NEVER_DIRS or _is_venv(current):
                        return False
        return True

    def contains(self, path: str) -> bool:
        if not self.contains_dir(os.path.dirname(path)):
            return self._matches(path, self.include)
        return not self._matches(path, self.exclude)

    def _matches(self, path: str, patterns: list[str]) -> bool:
        """Globs match the absolute path or the path relative to a root (``tests/*``)."""
        if not patterns:
            return False
        real = os.path.realpath(path)
        candidates = [real] + [
            os.path.relpath(real, root) for root in self.roots if real.startswith(root + os.sep)
        ]
        return any(self._fnmatch(c, p) for c in candidates for p in patterns)


def load_instrumented(
    path: str, data: bytes, state: bytes = cache.UNKNOWN
) -> tuple[CodeType, dict, bytes]:
    """Instrumented code for ``data``: from the cache, or transformed and cached.
    ``state``: the file's ``cache.source_state`` taken before ``data`` was read."""
    digest = source_hash(data)
    extra = ast_pass(path) if ast_pass is not None else None
    variant, before = extra if extra is not None else ("", None)
    hit = cache.load(path, digest, variant, state)
    if hit is not None:
        return hit[0], hit[1], digest
    from .transform import instrument_source

    code, meta = instrument_source(data, path, before)
    cache.store(path, digest, code, meta, variant, state)
    return code, meta, digest


class InstrumentingLoader(SourceFileLoader):
    """Loads a project module with read/bind recording and registers its record."""

    def get_code(self, fullname: str) -> CodeType:
        path = self.get_filename(fullname)
        extra = ast_pass(path) if ast_pass is not None else None
        hit = cache.load_unchanged(path, extra[0] if extra is not None else "")
        if hit is not None:  # the file is as it was when cached: not even read
            code, meta, digest, state = hit
        else:
            state = cache.source_state(path)  # before the read: see cache's docstring
            try:
                code, meta, digest = load_instrumented(path, self.get_data(path), state)
            except (SyntaxError, ValueError):
                # No record is made: remember the file, so that its fix is an edit even when
                # whoever imported it caught the error (a server serving it as a 500).
                runtime.note_import_failed(path)
                raise
        runtime.import_failed.discard(path)
        loaded_states[path] = cache.mtime_and_size(state)
        runtime.register(fullname, path, digest, meta, code)
        return code


#: Source path -> its ``(mtime_ns, size)`` (``runtime.file_state``) when the code that runs
#: was loaded from it: a sweep need not read a file that is still so (``unchanged_since_load``).
loaded_states: dict[str, tuple[int, int] | None] = {}


def unchanged_since_load(path: str) -> bool:
    """Whether ``path`` is still as it was when its module's code was loaded (same
    modification time and size, the rule a sweep applies to files it has read)."""
    state = loaded_states.get(path)
    return state is not None and runtime.file_state(path) == state


class ProjectFinder:
    """Finds project modules first and hands them to ``InstrumentingLoader``."""

    def __init__(self, scope: ProjectScope) -> None:
        self.scope = scope

    def find_spec(self, fullname: str, path=None, target=None):
        if (
            path is not None
            and not self.scope.include
            and not any(isinstance(e, str) and self.scope.contains_dir(e or ".") for e in path)
        ):
            return None  # a subpackage of something that is not ours: no search at all
        spec = PathFinder.find_spec(fullname, path, target)
        if (
            spec is None
            or not spec.has_location
            or not isinstance(spec.loader, SourceFileLoader)
            or not spec.origin.endswith(".py")
            or not self.scope.contains(spec.origin)
        ):
            return None
        spec.loader = InstrumentingLoader(fullname, spec.origin)
        return spec

    def invalidate_caches(self) -> None:
        self.scope._dirs.clear()


def install(scope: ProjectScope) -> ProjectFinder:
    """Put a finder for ``scope`` first on ``sys.meta_path`` (replacing an earlier one)."""
    uninstall()
    runtime.install()
    finder = ProjectFinder(scope)
    sys.meta_path.insert(0, finder)
    return finder


def uninstall() -> None:
    sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, ProjectFinder)]


def installed() -> ProjectFinder | None:
    return next((f for f in sys.meta_path if isinstance(f, ProjectFinder)), None)
