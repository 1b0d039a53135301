"""pytest's assertion rewriting, composed with our instrumentation.

pytest rewrites ``assert`` in test modules and conftest files with a meta-path hook of its own.
Ours sits in front of it and claims those files, so pytest's hook never sees them. Instead we
run pytest's AST pass (``rewrite_asserts``) on the parsed tree first, for exactly the files
pytest would rewrite, and then our transform: a failing ``assert a == b`` keeps pytest's diff.
The result is cached under a tag naming pytest's version, apart from ``hmr-ast run``'s.
"""

from __future__ import annotations

import ast
import os
import sys
from collections.abc import Callable

import pytest


def _module_name(path: str) -> str:
    """The dotted name ``path`` imports as, from the longest ``sys.path`` entry holding it."""
    real = os.path.realpath(path)
    best = ""
    for entry in sys.path:
        root = os.path.realpath(entry or ".")
        if real.startswith(root + os.sep) and len(root) > len(best):
            best = root
    relative = os.path.relpath(real, best) if best else os.path.basename(real)
    parts = relative[: -len(".py")].split(os.sep)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


#: pytest's rewritten asserts call ``@py_builtins.locals()`` and ``.globals()``. Seen in
#: bytecode, those names would mark every test module as binding globals dynamically (so a
#: rerun could never drop a deleted test). The same builtins under names of our own don't.
_FRAME_BUILTINS = {"locals": "@hmr_py_locals", "globals": "@hmr_py_globals"}


def install_builtins() -> None:
    import builtins

    for name, alias in _FRAME_BUILTINS.items():
        setattr(builtins, alias, getattr(builtins, name))


class _NoFrameIntrospection(ast.NodeTransformer):
    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.value, ast.Name)
            and node.value.id == "@py_builtins"
            and node.attr in _FRAME_BUILTINS
            and isinstance(node.ctx, ast.Load)
        ):
            return ast.copy_location(ast.Name(id=_FRAME_BUILTINS[node.attr], ctx=ast.Load()), node)
        return node


def assertion_pass(config: pytest.Config) -> Callable[[str], tuple[str, Callable] | None] | None:
    """For ``finder.ast_pass``: pytest's rewrite for the files it would rewrite, or None
    when assertion rewriting is off (``--assert=plain``)."""
    from _pytest.assertion import rewrite

    state = config.stash.get(rewrite.assertstate_key, None)
    hook = getattr(state, "hook", None)
    if hook is None:
        return None
    install_builtins()
    tag = f"pytest-{pytest.__version__}-hmr1"
    if config.getini("enable_assertion_pass_hook"):
        tag += "-passhook"

    def choose(path: str) -> tuple[str, Callable] | None:
        if not hook._should_rewrite(_module_name(path), path, state):
            return None

        def rewrite_pass(tree: ast.Module, source: bytes | str) -> None:
            data = source.encode() if isinstance(source, str) else source
            rewrite.rewrite_asserts(tree, data, path, config)
            _NoFrameIntrospection().visit(tree)

        return tag, rewrite_pass

    return choose
