"""Which project functions each test ran, on Python 3.10 and 3.11: a probe in each function.

3.12+ has ``sys.monitoring`` (``executed_code``). Before it, the only runtime hooks are a
trace or profile function, which call back into Python on every call of every function,
pytest's and the libraries' included. So under ``hmr-ast pytest`` on those Pythons, and
only there, each project function's body starts with one dictionary store::

    @hmr_ran["<file>\\0<qualified name>"] = None

(``@hmr_ran`` is a builtin no source can name; the key is a constant whose hash Python
caches). That costs one store per call, about 15 ns. After each test the keys are its
record, and the dictionary is emptied. ``hmr-ast run`` and plain ``pytest`` never get it.

The probe sits on the line of the body's first statement (after the docstring, which stays
the docstring), so tracebacks, coverage's lines and pdb's stops are those of the source.
Lambdas get none: an edit to one changes the code of the function holding it, whose probe
records it. Modules imported before the pass was installed have no probes: the record
covers only modules imported after (``watched_modules``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import sys
from collections.abc import Callable, Iterator

from ... import runtime

#: The builtin the probes store into: no source can name it (``@`` starts no identifier).
PROBE_NAME = "@hmr_ran"
#: Cache variant of code compiled with probes; bumped when the probe changes.
PROBE_TAG = "probe1"
_SEPARATOR = "\0"


def wanted() -> bool:
    """Probes are for Pythons without ``sys.monitoring``."""
    return not hasattr(sys, "monitoring")


class _Probes(ast.NodeVisitor):
    """Puts a probe at the start of every function body, named as ``code_key`` names the
    function's code: its qualified name on 3.11, its name on 3.10 (no ``co_qualname``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.scope: list[str] = []

    def _enter(self, node: ast.AST, name: str, function: bool) -> None:
        self.scope.append(name)
        if function:
            self.scope.append("<locals>")
        self.generic_visit(node)
        if function:
            self.scope.pop()
        self.scope.pop()

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self._enter(node, node.name, function=False)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        qualname = ".".join([*self.scope, node.name])
        name = qualname if sys.version_info >= (3, 11) else node.name
        body = node.body
        docstring = (
            isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        )
        first = 1 if docstring else 0
        where = body[first] if first < len(body) else node
        node.body = [*body[:first], _probe(self.path + _SEPARATOR + name, where), *body[first:]]
        self._enter(node, node.name, function=True)

    visit_AsyncFunctionDef = visit_FunctionDef  # type: ignore[assignment]


def _probe(key: str, where: ast.AST) -> ast.stmt:
    target = ast.Subscript(
        value=ast.Name(id=PROBE_NAME, ctx=ast.Load()),
        slice=ast.Constant(value=key),
        ctx=ast.Store(),
    )
    probe = ast.Assign(targets=[target], value=ast.Constant(value=None))
    for node in ast.walk(probe):
        ast.copy_location(node, where)  # the statement's line: no line of its own
    return probe


def with_probes(
    inner: Callable[[str], tuple[str, Callable] | None] | None,
) -> Callable[[str], tuple[str, Callable] | None]:
    """A ``finder.ast_pass`` that adds probes to every project module, after ``inner``'s
    pass (pytest's assertion rewriting) where it has one."""

    def choose(path: str) -> tuple[str, Callable] | None:
        first = inner(path) if inner is not None else None

        def both(tree: ast.Module, source: bytes | str) -> None:
            if first is not None:
                first[1](tree, source)
            _Probes(path).visit(tree)

        tag = f"{first[0]}-{PROBE_TAG}" if first is not None else PROBE_TAG
        return tag, both

    return choose


class ProbedCode:
    """``executed_code.ExecutedCode``'s interface over the probes: records are sets of
    ``(file, name)`` keys, as ``rerun_selection.code_key`` gives them."""

    def __init__(self) -> None:
        self.ran: dict[str, None] = {}
        setattr(builtins, PROBE_NAME, self.ran)
        self.before = set(runtime.records)  # imported without probes
        self.watched_modules: dict[str, int] = {}
        self.recordings = 0
        self._outer: list[set[str]] = []

    @property
    def available(self) -> bool:
        return True

    def close(self) -> None:
        if getattr(builtins, PROBE_NAME, None) is self.ran:
            delattr(builtins, PROBE_NAME)

    def watch_project_code(self) -> None:
        for name in list(runtime.records):
            if name not in self.watched_modules and name not in self.before:
                self.watched_modules[name] = self.recordings

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[tuple[str, str]]]:
        """The functions run inside the block, also added to an enclosing recording's."""
        ran = self.ran
        self._outer.append(set(ran))
        ran.clear()
        self.recordings += 1
        codes: set[tuple[str, str]] = set()
        try:
            yield codes
        finally:
            keys = set(ran)
            outer = self._outer.pop()
            ran.clear()
            if self._outer:
                ran.update(dict.fromkeys(outer | keys))
            codes.update(tuple(key.split(_SEPARATOR, 1)) for key in keys)  # type: ignore[misc]
