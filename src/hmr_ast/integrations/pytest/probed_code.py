"""Which project functions each test ran: a probe at the start of each project function.

When an edit changes only the code of a function, the tests that ran it rerun, not every
test that could reach it (``rerun_selection``). Under ``hmr-ast pytest``, and only there,
each project function's body starts with one dictionary store::

    @hmr_ran["<file>\0<qualified name>"] = None

(``@hmr_ran`` is a builtin no source can name; the key is a constant whose hash Python
caches). After each test the keys are its record, and the dictionary is emptied.
``hmr-ast run`` and plain ``pytest`` never get it; ``HMR_AST_NO_PROBES=1`` turns it off
(a suite that inspects its own bytecode), and then each test is followed from its code.

Why a probe: a trace or profile function calls back into Python on every call of every
function, pytest's included. ``sys.monitoring`` (3.12+) on project code only, each event
disabled once it fires, has to re-arm every fired function before each test, which makes
Python instrument its bytecode again: on tomlkit's suite (1,203 short tests, 1.3 million
project calls) that cost 13% of the first run's wall time, the probes 3%.

The probe sits on the line of the body's first statement (after the docstring, which stays
the docstring), so tracebacks, coverage's lines and pdb's stops are those of the source.
Lambdas get none: an edit to one changes the code of the function holding it, whose probe
records it. A generator is recorded by the test that started it, not one that resumes it.
Modules imported before the pass was installed have no probes: the record covers only
modules imported after (``watched_modules``).
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import os
import sys
from collections.abc import Callable, Iterator

from ... import runtime

#: The builtin the probes store into: no source can name it (``@`` starts no identifier).
PROBE_NAME = "@hmr_ran"
#: Cache variant of code compiled with probes; bumped when the probe changes.
PROBE_TAG = "probe1"
_SEPARATOR = "\0"


def wanted() -> bool:
    """Unless ``HMR_AST_NO_PROBES`` is set (to anything but 0)."""
    return os.environ.get("HMR_AST_NO_PROBES", "0") in ("", "0")


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
    """The records of what tests ran: sets of the probes' keys (``key``), compared with
    ``rerun_selection.code_key`` as ``key`` makes them. Without probes (``wanted``), it
    records nothing and covers no module."""

    def __init__(self) -> None:
        self.ran: dict[str, None] = {}
        self.on = wanted()
        if self.on:
            setattr(builtins, PROBE_NAME, self.ran)
        self.before = set(runtime.records)  # imported without probes
        self.watched_modules: dict[str, int] = {}
        self.recordings = 0
        self._depth = 0  # recordings open (a fixture's inside a test's)

    @property
    def available(self) -> bool:
        return self.on

    def close(self) -> None:
        if getattr(builtins, PROBE_NAME, None) is self.ran:
            delattr(builtins, PROBE_NAME)

    def watch_project_code(self) -> None:
        """Modules imported since the last look, with probes: records cover them."""
        if not self.on:
            return
        for name in list(runtime.records):
            if name not in self.watched_modules and name not in self.before:
                self.watched_modules[name] = self.recordings

    @contextlib.contextmanager
    def recording(self) -> Iterator[set[str]]:
        """The functions run inside the block (``"file\0name"`` keys, as ``key`` makes
        them), also added to an enclosing recording's."""
        ran = self.ran
        outer = set(ran) if self._depth else None  # what the enclosing one saw so far
        ran.clear()
        self._depth += 1
        self.recordings += 1
        codes: set[str] = set()
        try:
            yield codes
        finally:
            self._depth -= 1
            codes.update(ran)
            ran.clear()
            if outer is not None:
                ran.update(dict.fromkeys(outer))
                ran.update(dict.fromkeys(codes))


def key(filename: str, name: str) -> str:
    """A probe's key for a function: its file and name as ``code_key`` gives them."""
    return filename + _SEPARATOR + name


def key_name(probe_key: str) -> str:
    """The function's (qualified) name in a probe's key."""
    return probe_key.partition(_SEPARATOR)[2]
