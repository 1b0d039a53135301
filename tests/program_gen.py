"""Random programs whose modules import each other in every way real code does, and edits.

A program is a handful of modules (some top-level, some in a package ``pkg``) in an import
order: a module only imports modules earlier in the order, so imports never cycle. Each
module defines integer constants ``V<n>``, functions ``f<n>`` and classes ``C<n>`` (names are
unique across the program, so ``from m import *`` never shadows anything) whose values are
sums of a literal and references to other names:

    import m0            ->  m0.V1            (ATTR)
    from m0 import V1    ->  V1               (FROM)
    from m0 import *     ->  V1               (STAR)
    V1 defined above     ->  V1               (OWN)

spelt every way Python allows (``import pkg.m3`` / ``from pkg import m3`` / ``from . import
m3``, ``from pkg.m3 import V`` / ``from .m3 import V``, ``as`` aliases...). A reference to a
function is a call and one to a class is ``C<n>.get()``, so code that reads another module's
constant when called (a function, a classmethod) is called at import time by a third
module. Modules may re-export names they do not use (``from .m3 import V4`` in
``pkg/__init__.py``) and may limit ``import *`` with ``__all__``.

The package rule that keeps every program importable: ``pkg/__init__.py`` runs before any of
its submodules, so a module earlier than ``pkg`` in the order (which ``pkg/__init__`` may
import) must not import from the package unless it is itself in the package, and nothing
imports a name from ``pkg`` before ``pkg`` has run.

Edits change the model and are checked against it: every edited program is valid again
(removing a name removes every use of it, transitively through re-exports). ``render``
turns a program into the files a project holds.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import strategies as st

OWN, ATTR, FROM, STAR, ANCHOR = "own", "attr", "from", "star", "anchor"
PKG = "pkg"
APP = "app"


@dataclass(frozen=True)
class Ref:
    """One way a module reaches a name (or, for ANCHOR, just loads a module)."""

    module: str
    name: str
    style: str
    spelling: str = ""
    alias: bool = False  # ``import m0 as m0_mod`` / ``from m0 import V1 as V1_m0``

    def __str__(self) -> str:
        return " ".join(
            [self.style, f"{self.module}.{self.name}", self.spelling, "as" if self.alias else ""]
        ).strip()


@dataclass
class Item:
    """A constant ``V<n> = literal + refs...``, a function ``def f<n>(): return literal +
    refs...``, or a class ``C<n>`` whose body computes ``BASE`` from the literal and half the
    refs, and whose classmethod ``get()`` adds the other half when called."""

    name: str
    literal: int
    refs: list[Ref] = field(default_factory=list)


@dataclass
class Module:
    name: str
    items: list[Item] = field(default_factory=list)
    #: Imports the module does not use itself: re-exports and modules loaded for others.
    extra: list[Ref] = field(default_factory=list)
    #: ``__all__`` (None: the module has none), written as a tuple or as a list.
    public: tuple[str, ...] | None = None
    public_as_tuple: bool = False


class Program:
    """Modules in import order (each imports only earlier ones) and the entry's imports."""

    def __init__(self, order: list[str], modules: dict[str, Module], app_imports: list[str]):
        self.order = order
        self.modules = modules
        self.app_imports = app_imports
        self.next_name = 0  # names V<n> / f<n> are unique across the program
        self.next_module = len(order)

    def __repr__(self) -> str:
        return f"<program of {len(self.order)} modules: {', '.join(self.order)}>"

    def fresh_name(self, kind: str) -> str:
        """``kind`` is V (a constant), f (a function) or C (a class)."""
        self.next_name += 1
        return f"{kind}{self.next_name - 1}"

    def index(self, module: str) -> int:
        return self.order.index(module)


# --- structure rules ---------------------------------------------------------------------


def in_package(module: str) -> bool:
    return module == PKG or module.startswith(PKG + ".")


def short(module: str) -> str:
    return module.rpartition(".")[2]


def path_of(module: str) -> str:
    if module == PKG:
        return "pkg/__init__.py"
    return module.replace(".", "/") + ".py"


def allowed(program: Program, owner: str, target: str) -> bool:
    """Whether ``owner`` may import ``target`` without any import cycle or partial module."""
    if owner == APP:
        return True
    i, j = program.index(owner), program.index(target)
    if j >= i:
        return False
    if in_package(target) and not in_package(owner):
        return PKG in program.order and i > program.index(PKG)
    return True


def spellings(owner: str, target: str, style: str) -> list[str]:
    owner_in_package = owner != APP and in_package(owner)
    if style in (ATTR, ANCHOR):
        if target.startswith(PKG + "."):
            return ["import", "from_pkg"] + (["relative"] if owner_in_package else [])
        return ["import"]
    # FROM / STAR
    if in_package(target) and owner_in_package and not (target == PKG and owner == PKG):
        return ["absolute", "relative"]
    return ["absolute"]


def exports(program: Program, module: str, memo: dict[str, frozenset[str]] | None = None):
    """The V/f names bound in ``module`` once it has run."""
    memo = {} if memo is None else memo
    if module in memo:
        return memo[module]
    found = {item.name for item in program.modules[module].items}
    for ref in all_refs(program.modules[module]):
        if ref.style == FROM:
            found.add(bound_name(ref))
        elif ref.style == STAR:
            found |= star_exports(program, ref.module, memo)
    memo[module] = frozenset(found)
    return memo[module]


def star_exports(program: Program, module: str, memo: dict | None = None) -> frozenset[str]:
    """What ``from module import *`` binds: ``__all__``, or every name."""
    public = program.modules[module].public
    return frozenset(public) if public is not None else exports(program, module, memo)


def bound_name(ref: Ref) -> str:
    """The name a FROM reference binds and reads."""
    return f"{ref.name}_{short(ref.module)}" if ref.alias else ref.name


def module_alias(ref: Ref) -> str:
    """The name an ATTR reference's import binds, through which it reads."""
    if ref.alias:
        return f"{short(ref.module)}_mod"
    return ref.module if ref.spelling == "import" else short(ref.module)


def all_refs(module: Module) -> list[Ref]:
    return [ref for item in module.items for ref in item.refs] + list(module.extra)


def ref_is_valid(
    program: Program, owner: Module, position: int, ref: Ref, memo: dict | None = None
) -> bool:
    if ref.style == OWN:
        return ref.name in {item.name for item in owner.items[:position]}
    if ref.module not in program.modules or not allowed(program, owner.name, ref.module):
        return False
    if ref.spelling not in spellings(owner.name, ref.module, ref.style):
        return False
    if ref.style == STAR:
        return ref.name in star_exports(program, ref.module, memo)
    return ref.style == ANCHOR or ref.name in exports(program, ref.module, memo)


def remove_invalid_refs(program: Program) -> None:
    """Drop every reference to a name that no longer exists, to a fixed point."""
    changed = True
    while changed:
        changed = False
        memo: dict = {}
        for name in program.order:
            module = program.modules[name]
            for position, item in enumerate(module.items):
                keep = [r for r in item.refs if ref_is_valid(program, module, position, r, memo)]
                if keep != item.refs:
                    item.refs, changed = keep, True
            keep = [r for r in module.extra if ref_is_valid(program, module, 0, r, memo)]
            if keep != module.extra:
                module.extra, changed = keep, True
            if module.public is not None:
                bound = exports(program, name, memo)
                public = tuple(n for n in module.public if n in bound)
                if public != module.public:
                    module.public, changed = public, True
            if changed:
                break


def check_valid(program: Program) -> None:
    """The model's own invariant (the oracle run checks the real thing)."""
    memo: dict = {}
    for name in program.order:
        module = program.modules[name]
        for position, item in enumerate(module.items):
            for ref in item.refs:
                assert ref_is_valid(program, module, position, ref, memo), (name, item, ref)
        for ref in module.extra:
            assert ref_is_valid(program, module, 0, ref, memo), (name, ref)
        bound = exports(program, name, memo)
        assert all(n in bound for n in module.public or ()), (name, module.public)


# --- rendering ---------------------------------------------------------------------------


def _import(ref: Ref) -> tuple[str, str | None]:
    """(statement head, imported name or None): ``("from pkg.m3 import", "V4")``."""
    target = ref.module
    if ref.style in (ATTR, ANCHOR):
        alias = f" as {module_alias(ref)}" if ref.alias else ""
        if ref.spelling == "import":
            return f"import {target}{alias}", None
        source = "." if ref.spelling == "relative" else PKG
        return f"from {source} import", short(target) + alias
    if ref.style == FROM:
        what = f"{ref.name} as {bound_name(ref)}" if ref.alias else ref.name
    else:
        what = "*"
    if ref.spelling == "relative":
        source = "." if target == PKG else "." + short(target)
    else:
        source = target
    return f"from {source} import", what


def _term(ref: Ref) -> str:
    text = f"{module_alias(ref)}.{ref.name}" if ref.style == ATTR else bound_name(ref)
    return text + USE[ref.name[0]]


#: How a name is used, by its first letter: a constant is read, a function called, and a
#: class asked for ``get()``.
USE = {"V": "", "f": "()", "C": ".get()"}


def _item_source(item: Item) -> str:
    if item.name.startswith("f"):
        return f"def {item.name}():\n    return {expression(item)}\n"
    if item.name.startswith("C"):
        base = " + ".join([str(item.literal), *(_term(ref) for ref in item.refs[0::2])])
        get = " + ".join(["cls.BASE", *(_term(ref) for ref in item.refs[1::2])])
        return (
            f"class {item.name}:\n    BASE = {base}\n\n"
            f"    @classmethod\n    def get(cls):\n        return {get}\n"
        )
    return f"{item.name} = {expression(item)}\n"


def expression(item: Item) -> str:
    return " + ".join([str(item.literal), *(_term(ref) for ref in item.refs)])


def import_lines(refs: list[Ref]) -> list[str]:
    """The import statements ``refs`` need, ``from`` imports of one module grouped."""
    plain: set[str] = set()
    grouped: dict[str, list[str]] = {}
    for ref in refs:
        if ref.style == OWN:
            continue
        head, name = _import(ref)
        if name is None:
            plain.add(head)
        elif name not in grouped.setdefault(head, []):
            grouped[head].append(name)
    lines = sorted(plain)
    for head in sorted(grouped):
        names = grouped[head]
        if "*" in names:
            lines.append(f"{head} *")
            names = [n for n in names if n != "*"]
        if names:
            lines.append(f"{head} {', '.join(sorted(names))}")
    return lines


def render_module(program: Program, name: str, raise_after: int | None = None) -> str:
    """The module's source; ``raise_after=k`` adds a top-level raise after the k-th item."""
    module = program.modules[name]
    parts = [f'"""Module {name} of a generated program."""\n']
    imports = import_lines(all_refs(module))
    if imports:
        parts.append("\n".join(imports) + "\n")
    body = []
    for position, item in enumerate(module.items):
        if raise_after == position:
            body.append('raise RuntimeError("broken on purpose")\n')
        body.append(_item_source(item))
    if raise_after is not None and raise_after >= len(module.items):
        body.append('raise RuntimeError("broken on purpose")\n')
    if module.public is not None:
        names = ", ".join(f'"{n}"' for n in module.public)
        if module.public_as_tuple:
            body.append(f"__all__ = ({names}{',' if len(module.public) == 1 else ''})\n")
        else:
            body.append(f"__all__ = [{names}]\n")
    if body:
        parts.append("\n".join(body))
    return "\n".join(parts)


APP_TEMPLATE = '''\
"""Entry of a generated program: prints every project module's integer names on request."""

import json
import os
import sys

{imports}

VERSION = {version}  # which app.py answers: its number of imports (edits only add some)
HERE = os.path.realpath(os.path.dirname(os.path.abspath(__file__)))


def snapshot():
    state = {{}}
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if module is sys.modules["__main__"] or not path:
            continue  # the entry may also be there as __mp_main__ (multiprocessing's alias)
        if not os.path.realpath(path).startswith(HERE + os.sep):
            continue
        state[name] = {{
            key: value
            for key, value in vars(module).items()
            if not key.startswith("_") and type(value) is int
        }}
    return state


print("ready", flush=True)
for line in sys.stdin:
    reply = {{"request": line.strip(), "version": VERSION, "state": snapshot()}}
    print(json.dumps(reply, sort_keys=True), flush=True)
'''


def entry_source(imports: list[str]) -> str:
    """``app.py``: imports ``imports``, then answers each line of stdin with a snapshot."""
    lines = "\n".join(f"import {module}" for module in imports)
    return APP_TEMPLATE.format(imports=lines, version=len(imports))


def render(program: Program) -> dict[str, str]:
    """Every file of the project: relative path -> text."""
    files = {path_of(name): render_module(program, name) for name in program.order}
    files["app.py"] = entry_source(program.app_imports)
    return files


def describe(program: Program) -> str:
    """The program's modules, for a failure report (app.py only by what it imports)."""
    files = render(program)
    del files["app.py"]
    modules = [f"# --- {path}\n{text}" for path, text in sorted(files.items())]
    return "\n".join([f"# --- app.py imports {', '.join(program.app_imports)}", *modules])


# --- generation ----------------------------------------------------------------------------

literals = st.integers(min_value=0, max_value=99)


@st.composite
def refs_at(draw, program: Program, owner: Module, position: int) -> Ref | None:
    """One valid reference for ``owner``'s item at ``position`` (None if there is none)."""
    own = [item.name for item in owner.items[:position]]
    memo: dict = {}
    targets = [
        t
        for t in program.order
        if t != owner.name and allowed(program, owner.name, t) and exports(program, t, memo)
    ]
    choices = ([OWN] if own else []) + targets
    if not choices:
        return None
    target = draw(st.sampled_from(choices))
    if target == OWN:
        return Ref(owner.name, draw(st.sampled_from(own)), OWN)
    name = draw(st.sampled_from(sorted(exports(program, target, memo))))
    style = draw(st.sampled_from(styles_for(program, target, name, memo)))
    return draw(spelt(owner.name, target, name, style))


def styles_for(program: Program, target: str, name: str, memo: dict | None = None) -> list[str]:
    star = name in star_exports(program, target, memo)
    return [ATTR, FROM, STAR] if star else [ATTR, FROM]


@st.composite
def spelt(draw, owner: str, target: str, name: str, style: str) -> Ref:
    """A reference in one of the spellings Python allows (an alias one time in four)."""
    spelling = draw(st.sampled_from(spellings(owner, target, style)))
    alias = style in (ATTR, FROM) and draw(st.integers(0, 3)) == 0
    return Ref(target, name, style, spelling, alias)


@st.composite
def new_item(draw, program: Program, owner: Module, position: int) -> Item:
    """A constant (or a function, or a class) with up to three references."""
    kind = draw(st.sampled_from(["V", "V", "V", "f", "C"]))
    item = Item(program.fresh_name(kind), draw(literals))
    for _ in range(draw(st.integers(0, 3))):
        ref = draw(refs_at(program, owner, position))
        if ref is not None and ref not in item.refs:
            item.refs.append(ref)
    return item


@st.composite
def reexport(draw, program: Program, owner: Module) -> Ref | None:
    """An import that only makes a name (``from m import V``) or names (``*``) available."""
    ref = draw(refs_at(program, owner, 0))
    if ref is None or ref.style == OWN:
        return None
    styles = [s for s in styles_for(program, ref.module, ref.name) if s != ATTR]
    return draw(spelt(owner.name, ref.module, ref.name, draw(st.sampled_from(styles))))


@st.composite
def public_names(draw, program: Program, module: Module) -> tuple[str, ...]:
    """A value for ``__all__``: some of the names the module binds."""
    names = sorted(exports(program, module.name))
    if not names:
        return ()
    return tuple(draw(st.lists(st.sampled_from(names), unique=True, max_size=len(names))))


@st.composite
def programs(draw) -> Program:
    """3-7 modules; maybe a package ``pkg`` (``__init__`` plus submodules)."""
    count = draw(st.integers(3, 7))
    with_package = draw(st.booleans())
    submodules = draw(st.integers(1, count - 2)) if with_package else 0
    top = count - submodules - (1 if with_package else 0)
    names = [f"m{k}" for k in range(top)]
    names += [f"{PKG}.m{top + k}" for k in range(submodules)]
    if with_package:
        names.append(PKG)
    order = list(draw(st.permutations(names)))
    program = Program(order=[], modules={}, app_imports=list(order))
    program.next_module = count
    for name in order:
        program.order.append(name)
        module = program.modules[name] = Module(name)
        for position in range(draw(st.integers(1, 3))):
            module.items.append(draw(new_item(program, module, position)))
        weight = 3 if name == PKG else 1
        if draw(st.integers(0, 3)) < weight:
            ref = draw(reexport(program, module))
            if ref is not None:
                module.extra.append(ref)
        if draw(st.integers(0, 3)) == 0:
            module.public = draw(public_names(program, module))
            module.public_as_tuple = draw(st.booleans())
    check_valid(program)
    return program


# --- edits ---------------------------------------------------------------------------------


class Edit:
    """A new program, or for a broken save the (module, text) written instead of one."""

    def __init__(
        self,
        kind: str,
        program: Program,
        description: str,
        broken: tuple[str, str] | None = None,
    ) -> None:
        self.kind = kind
        self.program = program
        self.description = description
        self.broken = broken

    def __repr__(self) -> str:
        return f"<{self.kind} edit: {self.description}>"


def _pick_item(draw, program: Program, predicate=lambda module, item: True):
    choices = [
        (name, position)
        for name in program.order
        for position, item in enumerate(program.modules[name].items)
        if predicate(program.modules[name], item)
    ]
    if not choices:
        return None
    return draw(st.sampled_from(choices))


@st.composite
def literal_edit(draw, program: Program) -> Edit | None:
    picked = _pick_item(draw, program)
    if picked is None:
        return None
    new = copy.deepcopy(program)
    name, position = picked
    item = new.modules[name].items[position]
    old = item.literal
    item.literal = draw(literals.filter(lambda value: value != old))
    return Edit("literal", new, f"{name}.{item.name}: literal {old} -> {item.literal}")


@st.composite
def retarget_edit(draw, program: Program) -> Edit | None:
    """Add, drop, replace or re-spell one reference of one item."""
    picked = _pick_item(draw, program)
    if picked is None:
        return None
    new = copy.deepcopy(program)
    name, position = picked
    module = new.modules[name]
    item = module.items[position]
    operations = ["add"] + (["drop", "replace", "restyle"] if item.refs else [])
    operation = draw(st.sampled_from(operations))
    if operation in ("drop", "replace", "restyle"):
        index = draw(st.integers(0, len(item.refs) - 1))
        old = item.refs.pop(index)
    if operation == "restyle":
        if old.style == OWN:
            return None
        styles = [
            Ref(old.module, old.name, style, spelling, alias)
            for style in styles_for(program, old.module, old.name)
            for spelling in spellings(name, old.module, style)
            for alias in ((False, True) if style in (ATTR, FROM) else (False,))
        ]
        ref = draw(st.sampled_from([r for r in styles if r != old]))
    elif operation in ("add", "replace"):
        ref = draw(refs_at(new, module, position))
        if ref is None or ref in item.refs or (operation == "replace" and ref == old):
            return None
    if operation != "drop":
        item.refs.insert(draw(st.integers(0, len(item.refs))), ref)
    remove_invalid_refs(new)
    detail = {
        "add": lambda: f"add {ref}",
        "drop": lambda: f"drop {old}",
        "replace": lambda: f"replace {old} by {ref}",
        "restyle": lambda: f"restyle {old} as {ref}",
    }[operation]()
    _ensure_bytes_change(program, new, name, position)
    return Edit("retarget", new, f"{name}.{item.name}: {detail}")


def _ensure_bytes_change(old: Program, new: Program, name: str, position: int) -> None:
    """Two spellings can give the same text (``from m import V`` beside ``from m import *``):
    then the literal changes too, so that every edit really changes bytes."""
    if render(old) == render(new):
        new.modules[name].items[position].literal += 1


@st.composite
def add_name_edit(draw, program: Program) -> Edit:
    new = copy.deepcopy(program)
    name = draw(st.sampled_from(new.order))
    module = new.modules[name]
    position = draw(st.integers(0, len(module.items)))
    item = draw(new_item(new, module, position))
    module.items.insert(position, item)
    check_valid(new)
    return Edit("add_name", new, f"{name}: add {item.name} = {expression(item)}")


@st.composite
def remove_name_edit(draw, program: Program) -> Edit | None:
    picked = _pick_item(draw, program)
    if picked is None:
        return None
    new = copy.deepcopy(program)
    name, position = picked
    item = new.modules[name].items.pop(position)
    remove_invalid_refs(new)
    return Edit("remove_name", new, f"{name}: remove {item.name} and every use of it")


@st.composite
def break_edit(draw, program: Program) -> Edit:
    """A save that cannot run: a syntax error, or a valid change then a raise."""
    name = draw(st.sampled_from(program.order))
    text = render_module(program, name)
    if draw(st.booleans()):
        lines = text.splitlines(keepends=True)
        at = draw(st.integers(1, len(lines)))
        bad = draw(st.sampled_from(["def broken(:\n", "V_broken = (1 +\n", "import\n"]))
        broken = "".join(lines[:at] + [bad] + lines[at:])
        return Edit(
            "syntax_error",
            program,
            f"{name}: insert {bad.strip()!r} at line {at + 1}",
            (name, broken),
        )
    changed = copy.deepcopy(program)
    module = changed.modules[name]
    if module.items and draw(st.booleans()):
        item = draw(st.sampled_from(module.items))
        item.literal += 1
    after = draw(st.integers(0, len(module.items)))
    broken = render_module(changed, name, raise_after=after)
    return Edit("runtime_error", program, f"{name}: raise after item {after}", (name, broken))


@st.composite
def fix_edit(draw, program: Program, broken_module: str) -> Edit:
    """Repair the broken module: its last good text, or that with one literal changed."""
    module = program.modules[broken_module]
    if module.items and draw(st.booleans()):
        new = copy.deepcopy(program)
        item = draw(st.sampled_from(new.modules[broken_module].items))
        item.literal += 1
        return Edit("fix", new, f"{broken_module}: fixed, with {item.name}'s literal changed")
    return Edit("fix", program, f"{broken_module}: fixed (the last good text again)")


@st.composite
def add_module_edit(draw, program: Program) -> Edit:
    """A new module file, imported by a module later in the order (or by the entry)."""
    new = copy.deepcopy(program)
    in_pkg = PKG in new.modules and draw(st.booleans())
    name = f"{PKG}.m{new.next_module}" if in_pkg else f"m{new.next_module}"
    new.next_module += 1
    position = draw(st.integers(0, len(new.order)))
    new.order.insert(position, name)
    module = new.modules[name] = Module(name)
    for index in range(draw(st.integers(1, 2))):
        module.items.append(draw(new_item(new, module, index)))
    importers = [m for m in new.order[position + 1 :] if allowed(new, m, name)] + [APP]
    importer = draw(st.sampled_from(importers))
    if importer == APP:
        new.app_imports.append(name)
    else:
        anchor = Ref(name, "", ANCHOR, draw(st.sampled_from(spellings(importer, name, ANCHOR))))
        target = new.modules[importer]
        target.extra.append(anchor)
        if target.items and draw(st.booleans()):
            position = draw(st.integers(0, len(target.items) - 1))
            used = draw(st.sampled_from([item.name for item in module.items]))
            style = draw(st.sampled_from([ATTR, FROM, STAR]))
            use = draw(spelt(importer, name, used, style))
            if use not in target.items[position].refs:
                target.items[position].refs.append(use)
    check_valid(new)
    return Edit("add_module", new, f"add {path_of(name)}, imported by {importer}")


@st.composite
def public_names_edit(draw, program: Program) -> Edit | None:
    """Give a module an ``__all__``, change it, or take it away (and every use through
    ``import *`` of a name it no longer lists)."""
    new = copy.deepcopy(program)
    name = draw(st.sampled_from(new.order))
    module = new.modules[name]
    if module.public is not None and draw(st.booleans()):
        module.public = None
        detail = "remove __all__"
    else:
        module.public = draw(public_names(new, module))
        module.public_as_tuple = draw(st.booleans())
        detail = f"__all__ = {list(module.public)}"
    remove_invalid_refs(new)
    if render(new) == render(program):
        return None
    return Edit("public_names", new, f"{name}: {detail}")


EDIT_KINDS = (
    "literal",
    "retarget",
    "add_name",
    "remove_name",
    "public_names",
    "break",
    "add_module",
)


@st.composite
def edits(draw, program: Program) -> Edit:
    """One edit of ``program``, every kind possible."""
    while True:
        kind = draw(st.sampled_from(EDIT_KINDS))
        strategy = {
            "literal": literal_edit,
            "retarget": retarget_edit,
            "add_name": add_name_edit,
            "remove_name": remove_name_edit,
            "public_names": public_names_edit,
            "break": break_edit,
            "add_module": add_module_edit,
        }[kind](program)
        edit = draw(strategy)
        if edit is not None:
            if edit.broken is None:
                check_valid(edit.program)
            return edit
