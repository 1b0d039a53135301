"""What a module's source says about its top-level names, found once when it is compiled.

For each top-level statement (a *unit*): the names it binds, the ``name.attr`` chains it reads
while the module executes, and whether running it again can give a value that counts as
changed (``changes.same_value``) even when nothing it reads changed: ``X = 1`` and ``def f()``
cannot, ``CACHE = {}`` and ``app = FastAPI()`` can. ``hmr-ast impact`` and ``hmr-ast graph``
predict the engine's reruns from these facts without running anything. They are computed on
the tree the transform parses anyway and stored in the cache beside the instrumented code,
so a warm analysis parses nothing.

Everything here is plain tuples, strings and booleans: it goes through ``marshal``.
"""

from __future__ import annotations

import ast
import hashlib
import sys
from types import CodeType

#: Decorators that return their argument, or an equal twin (dataclasses compare by fields).
_SAFE_DECORATORS = frozenset(
    {
        "staticmethod",
        "classmethod",
        "property",
        "dataclass",
        "dataclasses.dataclass",
        "total_ordering",
        "functools.total_ordering",
        "final",
        "typing.final",
        "abstractmethod",
        "abc.abstractmethod",
        "override",
        "typing.override",
    }
)
_SAFE_DECORATOR_SUFFIXES = (".setter", ".getter", ".deleter")
#: Calls that bind or load things no statement shows; reported as notes.
_DYNAMIC_CALLS = {
    "exec": "exec() may bind names no statement shows",
    "eval": "eval() may read names no statement shows",
    "globals": "globals() may bind or read names no statement shows",
    "vars": "vars() may read names no statement shows",
    "setattr": "setattr() may bind names no statement shows",
    "getattr": "getattr() with a computed name reads what no statement shows",
    "__import__": "__import__() loads modules no import statement shows",
    "importlib.import_module": "import_module() loads modules no import statement shows",
    "import_module": "import_module() loads modules no import statement shows",
    "open": "files opened while the module runs are data dependencies seen only at run time",
}

Chain = tuple[str, ...]

# A unit: (first line, last line, binds, reads, stable, plain leaves, alias, bases,
# fingerprint, needs, is an import): ``stable`` judges the shape, given that the ``needs``
# leaves hold plain values (a class attribute ``BASE = a.X + 1``, a default
# ``def f(n=a.N * 2)``).
# For statement-level reruns: the chains it calls at import time (decorators included), the
# names it uses bare (a module passed to a call escapes), the names whose objects it changes
# in place (``x.append(f)`` with the result unused, ``@app.get``, ``x.attr = ...``, ``x[k] =
# ...``, ``x += ...``), the text of its header (a def's decorators and signature, a class's
# decorators and bases: equal headers allow patching in place), whether it annotates a
# module-level name, and the called chains whose result it uses further (``Model().f()``).
FIRST, LAST, BINDS, READS, STABLE, PLAIN, ALIAS, BASES, PRINT, NEEDS, IMPORT = range(11)
CALLS, ESCAPES, MODIFIES, HEADER, ANNOTATES, RESULT_USED = range(11, 17)
#: A leaf ``("()", "m", "f")`` is the result of calling ``m.f`` with plain arguments.
CALL = "()"


def module_facts(tree: ast.Module, source: bytes | str) -> dict:
    """The static facts of a freshly parsed module (call before the tree is rewritten)."""
    future_annotations = postpones_annotations(tree)
    if isinstance(source, str):
        source = source.encode()
    lines = source.splitlines()
    returns, class_attributes = callables(tree.body)
    return {
        "units": statement_facts(tree.body, future_annotations, lines),
        "all": _literal_all(tree.body),
        "aliases": _aliases(tree.body),
        "returns": returns,
        "class_attributes": class_attributes,
        "lines": len(lines),
        "futures": _futures(tree),
    }


def statement_facts(
    statements: list[ast.stmt], postponed: bool, lines: list[bytes]
) -> tuple[tuple, ...]:
    """The units of some top-level statements (``lines``: the whole file's, for their text)."""
    return tuple(_unit(stmt, postponed, lines) for stmt in statements)


def postpones_annotations(tree: ast.Module) -> bool:
    """Whether the module's annotations are not evaluated at import time."""
    return annotations_postponed(_futures(tree))


def annotations_postponed(futures: tuple[str, ...]) -> bool:
    """Whether a module with these ``__future__`` imports evaluates no annotation at import
    time: postponed by ``from __future__ import annotations`` (PEP 563), or deferred as on
    3.14 (PEP 649)."""
    return sys.version_info >= (3, 14) or "annotations" in futures


def _futures(tree: ast.Module) -> tuple[str, ...]:
    return tuple(
        alias.name
        for stmt in tree.body
        if isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__"
        for alias in stmt.names
    )


def _unit(stmt: ast.stmt, future_annotations: bool, lines: list[bytes]) -> tuple:
    nodes = list(_import_time_nodes(stmt))
    # The same walk without class bodies: one walk for both when there is no class in it.
    if any(isinstance(node, ast.ClassDef) for node in nodes):
        outer = list(_import_time_nodes(stmt, into_classes=False))
    else:
        outer = nodes
    reads = _reads(nodes, future_annotations)
    calls, results_used = _calls(nodes)
    plain, alias = _value_shape(stmt)
    bases = tuple(
        chain
        for node in nodes
        if isinstance(node, ast.ClassDef)
        for base in node.bases
        if (chain := _chain(base)) is not None
    )
    return (
        _first_line(stmt),
        stmt.end_lineno or stmt.lineno,
        tuple(dict.fromkeys(_bindings(stmt, outer))),
        tuple(sorted(reads)),
        _stable_shape(stmt),
        plain,
        alias,
        bases,
        _fingerprint(stmt, lines),
        _needs(stmt),
        isinstance(stmt, (ast.Import, ast.ImportFrom)),
        calls,
        _escapes(nodes),
        _modifies(stmt, outer),
        _header(stmt),
        any(isinstance(node, ast.AnnAssign) for node in outer),
        results_used,
    )


def _first_line(stmt: ast.stmt) -> int:
    """Where the statement starts, decorators included (where its code object starts)."""
    return min([stmt.lineno, *(d.lineno for d in getattr(stmt, "decorator_list", ()))])


def _fingerprint(stmt: ast.stmt, lines: list[bytes]) -> str:
    """The statement's text (decorators included), wherever it sits in the file: an edit
    that changes it may change what it binds; moving it does not."""
    return fingerprint(lines, _first_line(stmt), stmt.end_lineno or stmt.lineno)


def fingerprint(lines: list[bytes], first: int, last: int) -> str:
    """The fingerprint of lines ``first``..``last`` (1-based) of a file's ``lines``."""
    text = b"\n".join(line.rstrip() for line in lines[first - 1 : last])
    return hashlib.blake2b(text, digest_size=8).hexdigest()


_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
_HOLDS_VALUE = (ast.Assign, ast.AnnAssign, ast.Expr, ast.keyword)
_DISPLAYS = (ast.List, ast.Tuple, ast.Set)


def _calls(nodes: list[ast.AST]) -> tuple[tuple[Chain, ...], tuple[Chain, ...]]:
    """Chains called while the statement executes (``f()``, ``m.f()``, decorators), and
    those of them whose result the statement does more with than bind, drop, pass on or put
    in a display (``Model().f()``, ``with open_db() as db``, ``for x in load()``): what runs
    then (``f``, ``__enter__``) is named by no chain of the statement. One pass: ``nodes``
    come parents first, so a call's parent has said whether it keeps the result."""
    found: list[Chain] = []
    used: list[Chain] = []
    kept: set[int] = set()
    for node in nodes:
        if isinstance(node, ast.Call):
            kept.update(map(id, node.args))
            chain = _chain(node.func)
            if chain is not None:
                found.append(chain)
                if id(node) not in kept:
                    used.append(chain)
        elif isinstance(node, _HOLDS_VALUE):
            kept.add(id(node.value))
        elif isinstance(node, _DISPLAYS):
            kept.update(map(id, node.elts))
        elif isinstance(node, ast.Dict):
            kept.update(map(id, node.values))
        elif isinstance(node, _DEFS):
            for decorator in node.decorator_list:
                chain = _chain(decorator)
                if chain is not None:
                    found.append(chain)  # ``@register``: called with the function or class
    return tuple(dict.fromkeys(found)), tuple(dict.fromkeys(used))


def _escapes(nodes: list[ast.AST]) -> tuple[str, ...]:
    """Names used bare, not as the root of an attribute read or a call: ``f(m)``, ``x = m``."""
    roots = {
        id(node.value)
        for node in nodes
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
    }
    roots |= {id(node.func) for node in nodes if isinstance(node, ast.Call)}
    return tuple(
        dict.fromkeys(
            node.id
            for node in nodes
            if isinstance(node, ast.Name)
            and isinstance(node.ctx, ast.Load)
            and id(node) not in roots
        )
    )


def _root(node: ast.AST) -> str | None:
    while isinstance(node, (ast.Attribute, ast.Subscript, ast.Call)):
        node = node.func if isinstance(node, ast.Call) else node.value
    return node.id if isinstance(node, ast.Name) else None


def _modifies(stmt: ast.stmt, outer: list[ast.AST] | None = None) -> tuple[str, ...]:
    """Names whose objects the statement changes in place, or hands to code that may."""
    found: list[str | None] = []
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        found.append(_root(stmt.value.func))  # a call for its effect: ``x.append(f)``, ``f(x)``
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        found += [_root(decorator) for decorator in stmt.decorator_list]
    for node in _import_time_nodes(stmt, into_classes=False) if outer is None else outer:
        targets: list[ast.AST] = []
        if isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
        elif isinstance(node, ast.AugAssign):
            targets = [node.target]  # ``x += [1]`` extends a list in place
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            targets = [node.target]
        for target in targets:
            if isinstance(node, ast.AugAssign) or isinstance(
                target, (ast.Attribute, ast.Subscript)
            ):
                found.append(_root(target))
    return tuple(dict.fromkeys(name for name in found if name is not None))


def _header(stmt: ast.stmt) -> str | None:
    """What a def's decorators and signature, or a class's decorators and bases, say,
    wherever they sit: equal headers mean only the body changed."""
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        parts: list[ast.AST] = [*stmt.decorator_list, stmt.args]
        if stmt.returns is not None:
            parts.append(stmt.returns)
    elif isinstance(stmt, ast.ClassDef):
        parts = [*stmt.decorator_list, *stmt.bases, *stmt.keywords]
    else:
        return None
    text = "\n".join(ast.dump(part) for part in parts).encode()
    return hashlib.blake2b(text, digest_size=8).hexdigest()


# --- what a unit binds -------------------------------------------------------------------


def _targets(target: ast.AST) -> list[str]:
    """Names bound by an assignment target; ``x.attr = ...`` and ``x[k] = ...`` modify ``x``."""
    if isinstance(target, ast.Name):
        return [target.id]
    if isinstance(target, (ast.Tuple, ast.List)):
        return [name for item in target.elts for name in _targets(item)]
    if isinstance(target, ast.Starred):
        return _targets(target.value)
    if isinstance(target, (ast.Attribute, ast.Subscript)):
        root = target.value
        while isinstance(root, (ast.Attribute, ast.Subscript)):
            root = root.value
        return [root.id] if isinstance(root, ast.Name) else []
    return []


def bound_names(stmt: ast.stmt) -> list[str]:
    """Every module-level name ``stmt`` may bind, modify or delete."""
    return _bindings(stmt)


def _bindings(stmt: ast.stmt, outer: list[ast.AST] | None = None) -> list[str]:
    """Every module-level name ``stmt`` may bind, modify or delete (not inside functions or
    class bodies, whose names are not the module's)."""
    names: list[str] = []
    for node in _import_time_nodes(stmt, into_classes=False) if outer is None else outer:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, (ast.Assign, ast.Delete)):
            targets = node.targets
            names += [name for target in targets for name in _targets(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            if not isinstance(node, ast.AnnAssign) or node.value is not None:
                names += _targets(node.target)
        elif isinstance(node, (ast.For, ast.AsyncFor)):
            names += _targets(node.target)
        elif isinstance(node, ast.withitem) and node.optional_vars is not None:
            names += _targets(node.optional_vars)
        elif isinstance(node, ast.NamedExpr):
            names += _targets(node.target)
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.append(node.name)
        elif isinstance(node, ast.Import):
            names += [alias.asname or alias.name.partition(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [alias.asname or alias.name for alias in node.names]  # "*" kept as is
        elif isinstance(node, ast.Global):
            names += node.names
        elif type(node).__name__ in ("MatchAs", "MatchStar") and getattr(node, "name", None):
            names.append(node.name)  # type: ignore[attr-defined]
        elif type(node).__name__ == "MatchMapping" and getattr(node, "rest", None):
            names.append(node.rest)  # type: ignore[attr-defined]
    return names


def _import_time_nodes(node: ast.AST, into_classes: bool = True):
    """The nodes of ``node`` that run when the module executes: not function bodies or
    lambdas (their decorators, defaults and annotations do run), and class bodies only if
    ``into_classes``. Comprehensions at module level run too."""
    stack = [node]
    while stack:
        current = stack.pop()
        yield current
        if isinstance(current, (ast.FunctionDef, ast.AsyncFunctionDef)):
            stack += current.decorator_list
            stack += _argument_parts(current.args)
            if current.returns is not None:
                stack.append(current.returns)
        elif isinstance(current, ast.Lambda):
            stack += _argument_parts(current.args)
        elif isinstance(current, ast.ClassDef):
            stack += current.decorator_list + current.bases + current.keywords
            if into_classes:
                stack += current.body
        else:
            stack += ast.iter_child_nodes(current)


def _argument_parts(args: ast.arguments) -> list[ast.AST]:
    defaults = [*args.defaults, *(d for d in args.kw_defaults if d is not None)]
    return defaults + _argument_annotations(args)


def _argument_annotations(args: ast.arguments) -> list[ast.AST]:
    return [
        arg.annotation
        for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg)
        if arg is not None and arg.annotation is not None
    ]


# --- what a unit reads ---------------------------------------------------------------------


def _chain(node: ast.AST) -> Chain | None:
    """``a.b.c`` -> ("a", "b", "c"); None for anything not rooted at a name."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return tuple(reversed(parts))


def _reads(nodes: list[ast.AST], future_annotations: bool) -> set[Chain]:
    """Chains read while the module executes, among a unit's import-time ``nodes``:
    annotations count unless postponed by ``from __future__ import annotations``."""
    found: set[Chain] = set()
    skip: set[int] = set()
    if future_annotations:
        for node in nodes:
            for annotation in _annotations(node):
                skip.update(id(inner) for inner in ast.walk(annotation))
    for node in nodes:
        if id(node) in skip:
            continue
        if isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Load):
            chain = _chain(node)
            if chain is not None:
                found.add(chain)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            found.add((node.id,))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name):
            found.add((node.target.id,))
    return found


def _annotations(node: ast.AST) -> list[ast.AST]:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        returns = [node.returns] if node.returns is not None else []
        return _argument_annotations(node.args) + returns
    if isinstance(node, ast.AnnAssign):
        return [node.annotation]
    return []


# --- whether rerunning it can change its value -----------------------------------------------


def _value_shape(stmt: ast.stmt) -> tuple[tuple[Chain, ...] | None, Chain | None]:
    """For ``NAME = expression``: the chains whose values decide whether the result is a
    plain value (None if it never is one), and the chain it aliases (``X = a.Y``), if any."""
    if isinstance(stmt, ast.Assign):
        value = stmt.value
    elif isinstance(stmt, ast.AnnAssign) and stmt.value is not None:
        value = stmt.value
    else:
        return None, None
    return _plain_leaves(value), _chain(value)


def _plain_leaves(node: ast.AST) -> tuple[Chain, ...] | None:
    """Arithmetic on constants and names gives a plain value if the names hold plain values
    (an equal plain value counts as unchanged); anything else may be a fresh object."""
    leaves: list[Chain] = []
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, ast.Constant):
            continue
        chain = _chain(current)
        if chain is not None:
            leaves.append(chain)
        elif isinstance(current, ast.BinOp):
            stack += [current.left, current.right]
        elif isinstance(current, ast.UnaryOp):
            stack.append(current.operand)
        elif isinstance(current, ast.BoolOp):
            stack += current.values
        elif isinstance(current, ast.Compare):
            stack += [current.left, *current.comparators]
        elif isinstance(current, ast.IfExp):
            stack += [current.test, current.body, current.orelse]
        elif isinstance(current, ast.Tuple):
            stack += current.elts
        elif isinstance(current, ast.JoinedStr):
            stack += current.values
        elif isinstance(current, ast.FormattedValue):
            stack.append(current.value)
            if current.format_spec is not None:
                stack.append(current.format_spec)
        elif isinstance(current, ast.Call) and (function := _chain(current.func)) is not None:
            # ``f()``, ``C.get()``: plain if the function returns plain values (decided
            # when the project is analysed); arguments must be plain too.
            leaves.append((CALL, *function))
            stack += current.args
            stack += [keyword.value for keyword in current.keywords]
        else:
            return None
    return tuple(dict.fromkeys(leaves))


def _stable_shape(stmt: ast.stmt) -> bool:
    """Whether rerunning ``stmt`` with unchanged inputs gives values ``same_value`` accepts,
    judging by its shape alone (assignments are judged later, from their plain leaves)."""
    if isinstance(stmt, (ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(stmt, ast.Expr):
        return isinstance(stmt.value, ast.Constant)  # a docstring; a call may do anything
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return _safe_decorators(stmt) and all(
            _plain_leaves(default) is not None or _chain(default) is not None
            for default in (*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d))
        )
    if isinstance(stmt, ast.ClassDef):
        return (
            _safe_decorators(stmt)
            and not stmt.keywords
            and all(_stable_class_item(item) for item in stmt.body)
        )
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return False  # decided from the plain leaves and alias
    if isinstance(stmt, (ast.If, ast.Try)) or type(stmt).__name__ == "TryStar":
        # ``try: import x / except ImportError: x = None``, ``if TYPE_CHECKING: import y``
        nested = [
            *stmt.body,
            *stmt.orelse,
            *getattr(stmt, "finalbody", ()),
            *(s for handler in getattr(stmt, "handlers", ()) for s in handler.body),
        ]
        return all(_stable_nested(inner) for inner in nested)
    return False


def _stable_nested(stmt: ast.stmt) -> bool:
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        return stmt.value is not None and _plain_leaves(stmt.value) == ()
    return _stable_shape(stmt)


def _needs(stmt: ast.stmt) -> tuple[Chain, ...]:
    """Leaves whose values must be plain for a stable-shaped statement to be stable."""
    found: list[Chain] = []
    if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
        for default in (*stmt.args.defaults, *(d for d in stmt.args.kw_defaults if d)):
            if _chain(default) is None:
                found += _plain_leaves(default) or ()
    elif isinstance(stmt, ast.ClassDef):
        for item in stmt.body:
            value = getattr(item, "value", None)
            if isinstance(item, (ast.Assign, ast.AnnAssign)) and value is not None:
                if _chain(value) is None:
                    found += _plain_leaves(value) or ()
            elif isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                found += _needs(item)
    return tuple(dict.fromkeys(found))


def _stable_class_item(stmt: ast.stmt) -> bool:
    if isinstance(stmt, ast.AnnAssign) and stmt.value is None:
        return True  # a bare annotation (a dataclass field without default)
    if isinstance(stmt, (ast.Assign, ast.AnnAssign)):
        value = stmt.value
        return value is not None and (_plain_leaves(value) is not None or _chain(value) is not None)
    return _stable_shape(stmt)


def _safe_decorators(stmt: ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) -> bool:
    for decorator in stmt.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(decorator, ast.Call) and any(
            _plain_leaves(arg) is None for arg in [*decorator.args, *decorator.keywords]
        ):
            return False
        chain = _chain(target)
        if chain is None:
            return False
        dotted = ".".join(chain)
        if dotted not in _SAFE_DECORATORS and not dotted.endswith(_SAFE_DECORATOR_SUFFIXES):
            return False
    return True


# --- module-wide facts ----------------------------------------------------------------------


def dynamic_notes(tree: ast.Module) -> list[tuple[int, str]]:
    """The dynamic features the static view cannot follow, with their lines (computed only
    for modules whose bytecode names one of them: rare, so kept out of the cache)."""
    notes: dict[tuple[int, str], None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            chain = _chain(node.func)
            dotted = ".".join(chain) if chain else ""
            why = _DYNAMIC_CALLS.get(dotted)
            if why is None:
                continue
            if dotted == "getattr" and len(node.args) >= 2:
                if isinstance(node.args[1], ast.Constant):
                    continue
            if dotted.endswith("import_module") and node.args:
                if isinstance(node.args[0], ast.Constant):
                    continue  # a literal name: followed like an import
            notes[(node.lineno, why)] = None
    return list(notes)


def callables(body: list[ast.stmt]) -> tuple[dict, dict]:
    """What calling a top-level function or a method of a top-level class returns, as plain
    leaves (None when it may return anything else), keyed ``f`` or ``C.method``; and the
    plain leaves of class attributes, keyed ``C.NAME``. ``cls.X`` in a classmethod is
    ``C.X``."""
    returns: dict[str, tuple[Chain, ...] | None] = {}
    attributes: dict[str, tuple[Chain, ...] | None] = {}
    for stmt in body:
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            returns[stmt.name] = _returns(stmt, None)
        elif isinstance(stmt, ast.ClassDef):
            for item in stmt.body:
                if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    returns[f"{stmt.name}.{item.name}"] = _returns(item, stmt.name)
                elif isinstance(item, (ast.Assign, ast.AnnAssign)) and item.value is not None:
                    targets = item.targets if isinstance(item, ast.Assign) else [item.target]
                    for target in targets:
                        if isinstance(target, ast.Name):
                            leaves = _plain_leaves(item.value)
                            attributes[f"{stmt.name}.{target.id}"] = leaves
    return returns, attributes


def _returns(function: ast.FunctionDef | ast.AsyncFunctionDef, owner: str | None) -> tuple:
    """``(first line, leaves)``: the plain leaves of every ``return``, or None. Which names
    are locals, and whether it is a generator, its code object tells (``settle_returns``)."""
    first = _first_line(function)
    plain_decorators = (("classmethod",), ("staticmethod",)) if owner is not None else ()
    if isinstance(function, ast.AsyncFunctionDef) or any(
        _chain(d) not in plain_decorators for d in function.decorator_list
    ):
        return (first, None)  # a coroutine, or whatever a decorator makes of the function
    is_classmethod = any(_chain(d) == ("classmethod",) for d in function.decorator_list)
    arguments = function.args
    parameters = [a.arg for a in (*arguments.posonlyargs, *arguments.args)]
    leaves: list[Chain] = []
    stack: list[ast.AST] = list(function.body)
    while stack:  # statements only: nested functions' returns are not this one's
        node = stack.pop()
        if isinstance(node, ast.Return):
            found = _plain_leaves(node.value) if node.value is not None else ()
            if found is None:
                return (first, None)
            for leaf in found:
                root_at = 1 if leaf[0] == CALL else 0
                if is_classmethod and parameters and leaf[root_at] == parameters[0]:
                    leaf = (*leaf[:root_at], owner, *leaf[root_at + 1 :])  # type: ignore[misc]
                leaves.append(leaf)
        elif not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            for part in ("body", "orelse", "finalbody", "handlers", "cases"):
                stack += getattr(node, part, ())
    return (first, tuple(dict.fromkeys(leaves)))


def settle_returns(facts: dict, module_code: CodeType) -> None:
    """Drop the return facts of generators and of functions returning their locals: only the
    compiled code knows those for sure (``co_varnames``, ``co_flags``)."""
    codes: dict[tuple[str, int], CodeType] = {}
    stack = [module_code]
    while stack:
        code = stack.pop()
        codes[(code.co_name, code.co_firstlineno)] = code
        stack += [c for c in code.co_consts if isinstance(c, CodeType)]
    settled: dict[str, tuple[Chain, ...] | None] = {}
    for key, (first, leaves) in facts["returns"].items():
        code = codes.get((key.rpartition(".")[2], first))
        if leaves is None or code is None or code.co_flags & _NOT_PLAIN_FLAGS:
            settled[key] = None
            continue
        local = set(code.co_varnames) | set(code.co_cellvars)
        roots = {leaf[1] if leaf[0] == CALL else leaf[0] for leaf in leaves}
        settled[key] = None if roots & local else leaves
    facts["returns"] = settled


#: Generators and coroutines return iterators and awaitables, never plain values.
_NOT_PLAIN_FLAGS = 0x20 | 0x80 | 0x100 | 0x200  # CO_GENERATOR, CO_(ITERABLE_)COROUTINE, ...


def _aliases(body: list[ast.stmt]) -> tuple[tuple[str, str, int, str | None], ...]:
    """What module-level imports bind: ``(name, module, level, attribute)``; attribute None
    binds the module itself (``import a.b as c``, or ``a`` for ``import a.b``), ``"*"`` is a
    star import."""
    found: list[tuple[str, str, int, str | None]] = []
    for stmt in body:
        for node in _import_time_nodes(stmt, into_classes=False):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.asname:
                        found.append((alias.asname, alias.name, 0, None))
                    else:
                        top = alias.name.partition(".")[0]
                        found.append((top, top, 0, None))
            elif isinstance(node, ast.ImportFrom):
                for alias in node.names:
                    bound = alias.asname or alias.name
                    found.append((bound, node.module or "", node.level, alias.name))
    return tuple(found)


def _literal_all(body: list[ast.stmt]) -> tuple[str, ...] | None:
    """``__all__`` when it is a literal list or tuple of strings, else None."""
    value = None
    for stmt in body:
        if isinstance(stmt, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in stmt.targets
        ):
            value = stmt.value
        elif isinstance(stmt, (ast.AnnAssign, ast.AugAssign)) and (
            isinstance(stmt.target, ast.Name) and stmt.target.id == "__all__"
        ):
            return None
    if isinstance(value, (ast.List, ast.Tuple)) and all(
        isinstance(item, ast.Constant) and isinstance(item.value, str) for item in value.elts
    ):
        return tuple(item.value for item in value.elts)  # type: ignore[union-attr]
    return None
