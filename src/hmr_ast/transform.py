"""Source -> instrumented code object, plus the static facts the engine needs about it.

Only code that runs while the module executes is rewritten: the module body, class bodies,
decorators, default values and comprehensions. Function bodies are left exactly as written
(zero cost once imports are done); what they read is summarised statically from their
bytecode instead. Every inserted node carries the location of the code it stands for, so
line numbers, tracebacks and their carets are those of the original file.

Imported only when the cache misses.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from types import CodeType

from .bytecode import summarize
from .runtime import BOUND, GLOBALS, IMPORTED, PRESENT, READ_ATTR, STAR, UNBOUND
from .static import annotations_postponed, module_facts, postpones_annotations, settle_returns


def instrument_source(
    source: bytes | str,
    filename: str,
    before: Callable[[ast.Module, bytes | str], None] | None = None,
) -> tuple[CodeType, dict]:
    """Compile ``source`` with read/bind recording; return the code and its static summary.

    ``before`` rewrites the tree first (pytest's assertion rewriting), so both passes apply.
    """
    tree = ast.parse(source, filename)
    statements = tuple((stmt.lineno, stmt.end_lineno or stmt.lineno) for stmt in tree.body)
    facts = module_facts(tree, source)  # before the rewrite below changes the tree
    if before is not None:
        before(tree, source)
    _ImportTimeCode(postpones_annotations(tree)).visit(tree)
    tree.body = _mark_module_body(tree.body)
    code = compile(tree, filename, "exec", dont_inherit=True)
    meta = summarize(code)
    meta["statements"] = statements
    settle_returns(facts, code)
    meta["static"] = facts
    return code, meta


def instrument_statement(
    stmt: ast.stmt,
    filename: str,
    *,
    futures: tuple[str, ...] = (),
    first: bool = False,
    strip_decorators: bool = False,
    before: Callable[[ast.Module, bytes | str], None] | None = None,
    source: bytes | str = b"",
) -> CodeType:
    """Code that runs one top-level statement alone, instrumented as in the whole module (a
    statement-level rerun). The module's ``__future__`` imports come first, so the statement
    compiles under its flags; ``first`` says whether it opens the module (a string there is
    the docstring); ``before`` (pytest's assertion rewriting) applies as to the whole module.
    ``strip_decorators`` defines a function without applying its decorators (its code is
    patched into the existing object)."""
    if strip_decorators:
        stmt = ast.copy_location(type(stmt)(**{**vars(stmt), "decorator_list": []}), stmt)
    module = ast.Module(body=[stmt], type_ignores=[])
    if before is not None:
        before(module, source)  # may put imports of its own helpers first
    visitor = _ImportTimeCode(annotations_postponed(futures))
    statements = [visitor.visit(node) for node in module.body]
    head: list[ast.stmt] = []
    if futures:
        names = [ast.copy_location(ast.alias(name=name), stmt) for name in futures]
        head.append(ast.copy_location(ast.ImportFrom("__future__", names, 0), stmt))
    if not first and isinstance(statements[0], ast.Expr):
        if isinstance(statements[0].value, ast.Constant):
            head.append(ast.copy_location(ast.Pass(), stmt))  # not the module's docstring
    module.body = [*head, *_mark_statements(statements)]
    return compile(module, filename, "exec", dont_inherit=True)


# --- rewriting ------------------------------------------------------------------------


def _call(helper: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
    """``helper(*args, globals())``: every helper learns whose code called it."""
    func = ast.copy_location(ast.Name(id=helper, ctx=ast.Load()), where)
    get_globals = ast.copy_location(ast.Name(id=GLOBALS, ctx=ast.Load()), where)
    namespace = ast.copy_location(ast.Call(func=get_globals, args=[], keywords=[]), where)
    return ast.copy_location(ast.Call(func=func, args=[*args, namespace], keywords=[]), where)


def _marker(helper: str, args: list, where: ast.AST) -> ast.Expr:
    constants = [ast.copy_location(ast.Constant(value=value), where) for value in args]
    return ast.copy_location(ast.Expr(value=_call(helper, constants, where)), where)


class _ImportTimeCode(ast.NodeTransformer):
    """Records attribute reads in code that runs at import time; skips function bodies.

    Postponed annotations (``from __future__ import annotations``, and every annotation from
    3.14 on) are never evaluated at import time: the compiler keeps their text (or, from
    3.14, compiles them into ``__annotate__`` functions that typing tools evaluate later).
    They are left exactly as written, so that text and those functions are the user's.
    """

    def __init__(self, postponed_annotations: bool) -> None:
        self.annotations_run = not postponed_annotations

    def _annotation(self, annotation: ast.expr | None) -> ast.expr | None:
        if annotation is None or not self.annotations_run:
            return annotation
        return self.visit(annotation)

    def _arguments(self, args: ast.arguments) -> None:
        args.defaults = [self.visit(d) for d in args.defaults]
        args.kw_defaults = [None if d is None else self.visit(d) for d in args.kw_defaults]
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
            if arg is not None:
                arg.annotation = self._annotation(arg.annotation)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node.decorator_list = [self.visit(d) for d in node.decorator_list]
        self._arguments(node.args)
        node.returns = self._annotation(node.returns)
        return node

    def visit_AnnAssign(self, node: ast.AnnAssign) -> ast.AST:
        node.target = self.visit(node.target)
        node.annotation = self._annotation(node.annotation)
        if node.value is not None:
            node.value = self.visit(node.value)
        return node

    def visit_TypeAlias(self, node: ast.AST) -> ast.AST:
        """``type X = ...`` (3.12+): its value and bounds are evaluated lazily, on first use."""
        return node

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        self._arguments(node.args)
        return node

    def visit_Attribute(self, node: ast.Attribute) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.ctx, ast.Load):
            attr = ast.copy_location(ast.Constant(value=node.attr), node.value)
            line = ast.copy_location(ast.Constant(value=node.lineno), node.value)
            node.value = _call(READ_ATTR, [node.value, attr, line], node.value)
        return node


def _target_names(target: ast.AST) -> list[str]:
    """Names a binding target binds (``a``, ``a, *b``, not ``a.x`` or ``a[0]``)."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, ast.Starred):
        return _target_names(target.value)
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for element in target.elts for name in _target_names(element)]
    return []


def _walrus_names(nodes: list[ast.AST]) -> list[str]:
    names = []
    stack = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
            continue
        if isinstance(node, ast.NamedExpr):
            names.extend(_target_names(node.target))
        stack.extend(ast.iter_child_nodes(node))
    return names


def _pattern_names(pattern: ast.AST) -> list[str]:
    names = []
    for node in ast.walk(pattern):
        for field in ("name", "rest"):
            value = getattr(node, field, None)
            if isinstance(value, str):
                names.append(value)
    return names


def _header_expressions(stmt: ast.stmt) -> list[ast.AST]:
    """The expressions of a statement itself, without the statements nested in it."""
    nested = {"body", "orelse", "finalbody", "handlers", "cases"}
    return [
        value
        for field, value in ast.iter_fields(stmt)
        if field not in nested and isinstance(value, ast.AST)
    ] + [
        item
        for field, value in ast.iter_fields(stmt)
        if field not in nested and isinstance(value, list)
        for item in value
        if isinstance(item, ast.AST)
    ]


def _direct_bindings(stmt: ast.stmt) -> list[str]:
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [stmt.name, *_walrus_names(_header_expressions(stmt))]
    if isinstance(stmt, ast.Assign):
        names = [n for target in stmt.targets for n in _target_names(target)]
    elif isinstance(stmt, (ast.AugAssign, ast.AnnAssign)):
        has_value = not isinstance(stmt, ast.AnnAssign) or stmt.value is not None
        names = _target_names(stmt.target) if has_value else []
    else:
        names = []
    return names + _walrus_names(_header_expressions(stmt))


def _import_marker(stmt: ast.Import | ast.ImportFrom) -> ast.Expr:
    if isinstance(stmt, ast.Import):
        modules = tuple(alias.name for alias in stmt.names)
        bound = tuple(alias.asname or alias.name.partition(".")[0] for alias in stmt.names)
        return _marker(IMPORTED, [modules, 0, None, bound, stmt.lineno], stmt)
    names = tuple(alias.name for alias in stmt.names)
    bound = tuple(alias.asname or alias.name for alias in stmt.names if alias.name != STAR)
    return _marker(IMPORTED, [(stmt.module or "",), stmt.level, names, bound, stmt.lineno], stmt)


def _mark_module_body(body: list[ast.stmt]) -> list[ast.stmt]:
    """Insert the markers that tell which module-level names each run binds."""
    start = 0
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        start = 1  # the docstring stays first
    future_names: list[str] = []
    while (
        start < len(body)
        and isinstance(body[start], ast.ImportFrom)
        and body[start].module == "__future__"
    ):
        future_names += [alias.asname or alias.name for alias in body[start].names]
        start += 1
    head = body[:start]
    # Always one marker up front: it ties the module's record to its namespace at once.
    where = (
        body[start - 1] if start else (body[0] if body else ast.Module(body=[], type_ignores=[]))
    )
    if not hasattr(where, "lineno"):
        where = ast.Pass(lineno=1, col_offset=0, end_lineno=1, end_col_offset=0)
    head.append(_marker(BOUND, [tuple(future_names)], where))
    return head + _mark_statements(body[start:])


def _mark_loop_body(body: list[ast.stmt]) -> list[ast.stmt]:
    """Inside a loop only imports and deletions are marked, where they happen."""
    marked: list[ast.stmt] = []
    for stmt in body:
        _rewrite_bodies(stmt, _mark_loop_body)
        marked += [stmt, *_import_or_delete_marker(stmt)]
    return marked


def _import_or_delete_marker(stmt: ast.stmt) -> list[ast.stmt]:
    if isinstance(stmt, (ast.Import, ast.ImportFrom)):
        return [_import_marker(stmt)]
    if isinstance(stmt, ast.Delete):
        names = tuple(n for target in stmt.targets for n in _target_names(target))
        return [_marker(UNBOUND, [names], stmt)] if names else []
    return []


def _mark_statements(body: list[ast.stmt]) -> list[ast.stmt]:
    marked: list[ast.stmt] = []
    for stmt in body:
        _mark_nested(stmt)
        marked.append(stmt)
        if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
            names = tuple(_loop_bindings(stmt))
            if names:
                marked.append(_marker(PRESENT, [names], stmt))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Delete)):
            marked += _import_or_delete_marker(stmt)
        else:
            names = tuple(dict.fromkeys(_direct_bindings(stmt)))
            if names:
                marked.append(_marker(BOUND, [names], stmt))
    return marked


def _with_entry_marker(names: list[str], body: list[ast.stmt], where: ast.AST) -> list[ast.stmt]:
    names = list(dict.fromkeys(names))
    marked = _mark_statements(body)
    return [_marker(BOUND, [tuple(names)], where), *marked] if names else marked


def _loop_bindings(stmt: ast.stmt) -> list[str]:
    """Every name a loop binds: its target and whatever its body binds, at any depth."""
    names = _target_names(stmt.target) if isinstance(stmt, (ast.For, ast.AsyncFor)) else []
    names += _walrus_names(_header_expressions(stmt))
    for node in ast.walk(ast.Module(body=stmt.body, type_ignores=[])):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.stmt):
            names += _direct_bindings(node)
            if isinstance(node, (ast.For, ast.AsyncFor)):
                names += _target_names(node.target)
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                names += [
                    n
                    for item in node.items
                    if item.optional_vars
                    for n in _target_names(item.optional_vars)
                ]
            elif isinstance(node, (ast.Import, ast.ImportFrom)):
                names += [
                    alias.asname or alias.name.partition(".")[0]
                    for alias in node.names
                    if alias.name != STAR
                ]
            elif type(node).__name__ == "Match":
                names += [n for case in node.cases for n in _pattern_names(case.pattern)]  # type: ignore[attr-defined]
    return list(dict.fromkeys(names))


def _mark_nested(stmt: ast.stmt) -> None:
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.While)):
        # No markers inside a loop body, where they would run on every iteration: one
        # marker after the loop records whichever of its names are bound by then. Imports
        # and deletions inside keep theirs (they are not per-iteration work in real code).
        stmt.body = _mark_loop_body(stmt.body)
        stmt.orelse = _mark_statements(stmt.orelse)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        names = [
            n
            for item in stmt.items
            if item.optional_vars
            for n in _target_names(item.optional_vars)
        ]
        stmt.body = _with_entry_marker(names, stmt.body, stmt)
    elif type(stmt).__name__ == "Match":
        for case in stmt.cases:  # type: ignore[attr-defined]
            case.body = _with_entry_marker(_pattern_names(case.pattern), case.body, case.pattern)
    elif not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        _rewrite_bodies(stmt, _mark_statements)  # if, try: their branches are module level


def _rewrite_bodies(stmt: ast.stmt, rewrite) -> None:
    """Apply ``rewrite`` to each statement list nested in ``stmt`` (not function or class
    bodies: their statements do not bind module names)."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return
    holders = [stmt, *getattr(stmt, "handlers", ()), *getattr(stmt, "cases", ())]
    for holder in holders:
        for field in ("body", "orelse", "finalbody"):
            statements = getattr(holder, field, None)
            if isinstance(statements, list):
                setattr(holder, field, rewrite(statements))
