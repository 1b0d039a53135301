"""Static summaries of compiled code: which globals and ``global.attr`` chains it reads.

Function bodies are not instrumented; what they read is learned here, once, when a module
is compiled (the result is cached beside the code). The scan walks the raw bytecode:
``dis.get_instructions`` is several times slower, and this runs for every function of every
module on a cold start.
"""

from __future__ import annotations

import opcode
import sys
from types import CodeType

_CO_NEWLOCALS = 0x2
_COMPREHENSIONS = frozenset({"<listcomp>", "<dictcomp>", "<setcomp>", "<genexpr>"})
#: Names whose use means a module may bind globals in ways no statement shows.
_DYNAMIC_NAMES = frozenset({"globals", "vars", "locals", "exec", "setattr", "__dict__"})
#: Names whose use, even inside a function, may bind a module's globals behind its statements.
_UNSPLITTABLE_NAMES = frozenset({"globals", "exec", "eval"})
#: Names whose use a static analysis cannot follow (``getattr(m, name)``, ``import_module``).
_SUSPECT_NAMES = _DYNAMIC_NAMES | {"eval", "getattr", "__import__", "import_module", "open"}


def _code_objects(code: CodeType):
    for const in code.co_consts:
        if isinstance(const, CodeType):
            yield const


def _op(name: str) -> int:
    number = opcode.opmap.get(name, -1)
    return number if number < 256 else -1  # 3.12+ pseudo-instructions never appear


_CACHE = _op("CACHE")
_EXTENDED_ARG = _op("EXTENDED_ARG")
_LOAD_NAME = frozenset({_op("LOAD_NAME"), _op("LOAD_FROM_DICT_OR_GLOBALS")} - {-1})
_LOAD_GLOBAL = _op("LOAD_GLOBAL")
_LOAD_ATTR = _op("LOAD_ATTR")
_LOAD_METHOD = _op("LOAD_METHOD")
_LOAD_CONST = _op("LOAD_CONST")
_IMPORT_NAME = _op("IMPORT_NAME")
_STORE_GLOBALS = frozenset({_op("STORE_GLOBAL"), _op("DELETE_GLOBAL")})
#: From 3.11 LOAD_GLOBAL, from 3.12 LOAD_ATTR, keep a flag in the low bit of their argument.
_GLOBAL_SHIFT = 1 if sys.version_info >= (3, 11) else 0
_ATTR_SHIFT = 1 if sys.version_info >= (3, 12) else 0


class _Scan:
    """Global names loaded, ``global.attr`` chains and global stores of one code object."""

    __slots__ = ("loads", "chains", "stores", "imports")

    def __init__(self, code: CodeType) -> None:
        self.loads: set[str] = set()
        self.chains: set[tuple[str, ...]] = set()
        self.stores: set[str] = set()
        #: (module, level, names imported from it or None): what ``import`` statements load.
        self.imports: list[tuple[str, int, tuple[str, ...] | None]] = []
        names = code.co_names
        raw = code.co_code
        chain: list[str] | None = None
        extended = 0
        constants: list[int] = [-1, -1]  # arguments of the last two LOAD_CONSTs
        for index in range(0, len(raw), 2):
            op = raw[index]
            if op == _CACHE:
                continue
            arg = raw[index + 1] | extended
            if op == _EXTENDED_ARG:
                extended = arg << 8
                continue
            extended = 0
            if op == _LOAD_GLOBAL or op in _LOAD_NAME:
                name = names[arg >> _GLOBAL_SHIFT] if op == _LOAD_GLOBAL else names[arg]
                if chain:
                    self.chains.add(tuple(chain))
                if name.startswith("@"):
                    chain = None
                    continue
                self.loads.add(name)
                chain = [name]
            elif chain is not None and op == _LOAD_ATTR:
                chain.append(names[arg >> _ATTR_SHIFT])
            elif chain is not None and op == _LOAD_METHOD:
                chain.append(names[arg])
            else:
                if chain:
                    self.chains.add(tuple(chain))
                chain = None
                if op in _STORE_GLOBALS:
                    self.stores.add(names[arg])
                elif op == _LOAD_CONST:
                    constants = [constants[1], arg]
                elif op == _IMPORT_NAME:
                    self._add_import(code, names[arg], constants)
        if chain:
            self.chains.add(tuple(chain))

    def _add_import(self, code: CodeType, module: str, constants: list[int]) -> None:
        """``import x`` compiles to LOAD_CONST level, LOAD_CONST fromlist, IMPORT_NAME x."""
        level, fromlist = (code.co_consts[i] if i >= 0 else None for i in constants)
        if not isinstance(level, int):
            level = 0
        names = tuple(fromlist) if isinstance(fromlist, tuple) else None
        self.imports.append((module, level, names))


def chains(code: CodeType, into: set[tuple[str, ...]]) -> None:
    """Collect ``global.attr.attr`` chains read by ``code`` and the code nested in it."""
    into |= _Scan(code).chains
    for nested in _code_objects(code):
        chains(nested, into)


def summarize(module_code: CodeType) -> dict:
    """Static facts about a module, stored beside its instrumented code in the cache.

    ``refs``: names the module-level code (class bodies and comprehensions included) reads.
    ``functions``: for each function, keyed by (name, first line), the ``global.attr`` chains
    its body reads, nested functions included. ``global_stores``: names functions bind with
    ``global``. ``dynamic``: the module may bind globals in ways no statement shows.
    ``splittable``: it cannot: no import-time code, and no function, uses ``globals()``,
    ``exec`` or ``eval`` (a statement-level rerun can tell what each statement binds).
    """
    refs: set[str] = set()
    functions: dict[tuple[str, int], tuple[tuple[str, ...], ...]] = {}
    global_stores: set[str] = set()
    imports: dict[tuple, None] = {}
    suspect: set[str] = set()
    dynamic = False
    splittable = True
    scans: dict[CodeType, _Scan] = {}

    def chains_of(code: CodeType) -> set[tuple[str, ...]]:
        scan = scans[code]
        found = set(scan.chains)
        for nested in _code_objects(code):
            found |= chains_of(nested)
        return found

    order: list[tuple[CodeType, bool]] = []
    stack = [(module_code, True)]
    while stack:
        code, import_time = stack.pop()
        scan = scans[code] = _Scan(code)
        order.append((code, import_time))
        if not dynamic and any(name in _DYNAMIC_NAMES for name in code.co_names):
            dynamic = True
        if splittable and (
            (import_time and any(name in _DYNAMIC_NAMES for name in code.co_names))
            or any(name in _UNSPLITTABLE_NAMES for name in code.co_names)
        ):
            splittable = False
        imports.update(dict.fromkeys(scan.imports))
        suspect.update(_SUSPECT_NAMES.intersection(code.co_names))
        if import_time:
            refs |= scan.loads
        else:
            global_stores |= scan.stores
        for nested in _code_objects(code):
            is_function = nested.co_flags & _CO_NEWLOCALS and nested.co_name not in _COMPREHENSIONS
            stack.append((nested, import_time and not is_function))
    for code, import_time in order:
        if not import_time:
            key = (code.co_name, code.co_firstlineno)
            functions[key] = tuple(sorted(set(functions.get(key, ())) | chains_of(code)))
    return {
        "refs": frozenset(refs),
        "functions": functions,
        "global_stores": frozenset(global_stores),
        "dynamic": dynamic,
        "splittable": splittable,
        "imports": tuple(imports),
        "suspect": bool(suspect),
    }
