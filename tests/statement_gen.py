"""Random modules of many top-level statements, and edits of single statements.

One module, ``mod.py``, holds a sequence of statements over a leaf module ``leaf.py``:

    V3 = hit('s3', 4 + V1 + leaf.X0 + f2())     # a constant; may call functions
    @mark('s2')
    def f2():                                   # a function, called at import time by others
        return 7 + leaf.X1 + V1
    class C4:                                   # a class whose body reads names
        BASE = hit('s4', 2 + V3)
        def get(self): return self.BASE + 5
    L5 = hit('s5', [])                          # a list, and statements that add to it
    L5.append(hit('s6', 3 + V3))
    reg.ITEMS.append(hit('s7', V3))             # adds to a list another module made
    K8 = hit('s8', ids.next_id() + 1)           # takes a number from a counter elsewhere

``hit`` and ``mark`` (in ``counter.py``) record each execution of a statement by its id and
return what they are given, so that a test can tell which statements ran after an edit.
Edits change a literal, insert a statement, delete one nothing uses, swap two neighbours
that do not depend on each other, or change a leaf constant.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from hypothesis import strategies as st

LEAF_NAMES = ("X0", "X1", "X2")


@dataclass
class Stmt:
    id: str  # also the statement's text key: s<n>
    kind: str  # "V", "f", "C", "L" (a list), "A" (an append to it), "R" (to reg.ITEMS),
    # "K" (a number from ids.next_id(), which rebinds a global of ids.py)
    name: str  # what it binds (for "A": the list it appends to)
    literal: int
    refs: list[str] = field(default_factory=list)  # own names (V, f, C) or leaf.X<n>


@dataclass
class Program:
    statements: list[Stmt]
    leaf: dict[str, int]
    counter: int = 0

    def fresh_id(self) -> int:
        self.counter += 1
        return self.counter


def term(ref: str, kinds: dict[str, str]) -> str:
    if ref.startswith("leaf."):
        return ref
    kind = kinds[ref]
    return {"V": ref, "K": ref, "f": f"{ref}()", "C": f"{ref}().get()"}[kind]


def render_statement(stmt: Stmt, kinds: dict[str, str]) -> str:
    expression = " + ".join([str(stmt.literal), *(term(r, kinds) for r in stmt.refs)])
    if stmt.kind == "V":
        return f"{stmt.name} = hit({stmt.id!r}, {expression})\n"
    if stmt.kind == "f":
        return f"@mark({stmt.id!r})\ndef {stmt.name}():\n    return {expression}\n"
    if stmt.kind == "C":
        return (
            f"class {stmt.name}:\n"
            f"    BASE = hit({stmt.id!r}, {expression})\n\n"
            f"    def get(self):\n        return self.BASE + {stmt.literal}\n"
        )
    if stmt.kind == "L":
        return f"{stmt.name} = hit({stmt.id!r}, [])\n"
    if stmt.kind == "R":
        return f"reg.ITEMS.append(hit({stmt.id!r}, {expression}))\n"
    if stmt.kind == "K":
        return f"{stmt.name} = hit({stmt.id!r}, ids.next_id() + {expression})\n"
    return f"{stmt.name}.append(hit({stmt.id!r}, {expression}))\n"


def render(program: Program) -> dict[str, str]:
    kinds = {s.name: s.kind for s in program.statements if s.kind not in ("A", "R")}
    body = "".join(render_statement(s, kinds) + "\n" for s in program.statements)
    return {
        "counter.py": COUNTER,
        "leaf.py": "".join(f"{name} = {value}\n" for name, value in program.leaf.items()),
        "reg.py": "ITEMS = []\n",
        "ids.py": IDS,
        "mod.py": "import ids\nimport leaf\nimport reg\nfrom counter import hit, mark\n\n" + body,
        "app.py": APP,
    }


IDS = """\
_next = 0


def next_id():
    global _next
    _next += 1
    return _next
"""

COUNTER = '''\
"""Records which statement of mod.py ran: ``hit(id, value)`` returns ``value``."""
RAN = []


def hit(key, value):
    RAN.append(key)
    return value


def mark(key):
    def decorate(function):
        RAN.append(key)
        return function

    return decorate
'''

APP = """\
import json
import sys

import counter
import mod
import reg


def snapshot():
    state = {}
    for key, value in sorted(vars(mod).items()):
        if key.startswith(("V", "L", "K")):
            state[key] = value
        elif key.startswith("f"):
            state[key] = value()
        elif key.startswith("C"):
            state[key] = value().get()
    state["reg.ITEMS"] = reg.ITEMS
    return state


print("ready", flush=True)
for line in sys.stdin:
    ran, counter.RAN[:] = list(counter.RAN), []
    print(json.dumps({"request": line.strip(), "state": snapshot(), "ran": ran}), flush=True)
"""


def defined_before(program: Program, position: int) -> list[Stmt]:
    return [s for s in program.statements[:position] if s.kind not in ("A", "R")]


@st.composite
def new_statement(draw, program: Program, position: int) -> Stmt:
    """A statement that may stand at ``position``: it reads only names bound before it
    (functions and class bodies run when called, but their callers run later anyway)."""
    earlier = defined_before(program, position)
    lists = [s for s in earlier if s.kind == "L"]
    kinds = ["V", "f", "C", "L", "R", "K"] + (["A"] if lists else [])
    kind = draw(st.sampled_from(kinds))
    number = program.fresh_id()
    candidates = [s.name for s in earlier if s.kind in ("V", "K", "f", "C")] + [
        f"leaf.{n}" for n in LEAF_NAMES
    ]
    refs = (
        [] if kind == "L" else draw(st.lists(st.sampled_from(candidates), max_size=2, unique=True))
    )
    name = draw(st.sampled_from(lists)).name if kind == "A" else f"{kind}{number}"
    if kind == "R":
        name = "ITEMS"
    return Stmt(f"s{number}", kind, name, draw(st.integers(0, 9)), refs)


@st.composite
def programs(draw) -> Program:
    program = Program([], {name: draw(st.integers(0, 9)) for name in LEAF_NAMES})
    for _ in range(draw(st.integers(3, 9))):
        program.statements.append(draw(new_statement(program, len(program.statements))))
    return program


def users(program: Program, name: str) -> list[Stmt]:
    return [s for s in program.statements if name in s.refs or (s.kind == "A" and s.name == name)]


@st.composite
def edits(draw, program: Program) -> tuple[str, Program, set[str]]:
    """One edit of one statement (or of the leaf): its description, the result, and the ids
    of statements it moved (a moved statement may run again: it is matched by its text)."""
    new = copy.deepcopy(program)
    kinds = ["literal", "insert", "leaf"]
    removable = [
        i for i, s in enumerate(new.statements) if s.kind in ("A", "R") or not users(new, s.name)
    ]
    if removable:
        kinds.append("delete")
    swappable = [
        i
        for i in range(len(new.statements) - 1)
        if _independent(new.statements[i], new.statements[i + 1])
    ]
    if swappable:
        kinds.append("swap")
    kind = draw(st.sampled_from(kinds))
    if kind == "literal" and new.statements:
        index = draw(st.integers(0, len(new.statements) - 1))
        stmt = new.statements[index]
        if stmt.kind == "L":
            kind = "leaf"
        else:
            stmt.literal = draw(st.integers(0, 9).filter(lambda n: n != stmt.literal))
            return f"literal of {stmt.id} ({stmt.name}) -> {stmt.literal}", new, set()
    if kind == "insert":
        position = draw(st.integers(0, len(new.statements)))
        stmt = draw(new_statement(new, position))
        new.statements.insert(position, stmt)
        return f"insert {stmt.id} ({stmt.kind} {stmt.name}) at {position}", new, set()
    if kind == "delete":
        index = draw(st.sampled_from(removable))
        stmt = new.statements.pop(index)
        return f"delete {stmt.id} ({stmt.name})", new, set()
    if kind == "swap":
        index = draw(st.sampled_from(swappable))
        statements = new.statements
        statements[index], statements[index + 1] = statements[index + 1], statements[index]
        moved = {statements[index].id, statements[index + 1].id}
        return f"swap {statements[index + 1].id} and {statements[index].id}", new, moved
    name = draw(st.sampled_from(LEAF_NAMES))
    new.leaf[name] = draw(st.integers(10, 99).filter(lambda n: n != new.leaf[name]))
    return f"leaf {name} -> {new.leaf[name]}", new, set()


def _independent(first: Stmt, second: Stmt) -> bool:
    """Two neighbours that can trade places: the second does not read the first, and
    neither adds to a list the other makes or adds to (their order is the list's order)."""
    if first.name in second.refs or second.name in first.refs:
        return False
    if first.kind == second.kind and first.kind in ("R", "K"):
        return False  # their order is the registry's order, or which number each gets
    return not (
        first.kind in ("L", "A") and second.kind in ("L", "A") and first.name == second.name
    )


def may_run(before: Program, after: Program, changed_values: set[str], moved: set[str]) -> set[str]:
    """Ids of the statements of ``after`` that may run after the edit: new or edited ones,
    those that read (directly, or through the functions and classes they use) a name that
    was edited or whose value changed, and every statement of a list that any of these
    touch (its maker runs again, then all that add to it). A statement outside this set
    whose text and inputs did not change must not run again."""
    old_text = {s.id: _text(s, before) for s in before.statements}
    changed = set(changed_values)
    changed |= {f"leaf.{n}" for n in LEAF_NAMES if before.leaf[n] != after.leaf[n]}
    for stmt in after.statements:
        if old_text.get(stmt.id) != _text(stmt, after) and stmt.kind not in ("A", "R"):
            changed.add(stmt.name)
    removed = {s.name for s in before.statements} - {s.name for s in after.statements}
    changed |= removed
    # Functions and classes that read a changed name are changed for their callers.
    grew = True
    while grew:
        grew = False
        for stmt in after.statements:
            if stmt.kind in ("f", "C") and stmt.name not in changed and set(stmt.refs) & changed:
                changed.add(stmt.name)
                grew = True
    allowed = set(moved)
    for stmt in after.statements:
        if old_text.get(stmt.id) != _text(stmt, after) or set(stmt.refs) & changed:
            allowed.add(stmt.id)
    touched_lists = {s.name for s in after.statements if s.id in allowed and s.kind in ("L", "A")}
    kept = {s.id for s in after.statements}
    touched_lists |= {s.name for s in before.statements if s.kind == "A" and s.id not in kept}
    allowed |= {s.id for s in after.statements if s.kind in ("L", "A") and s.name in touched_lists}
    # reg.ITEMS is made in reg.py: when one statement adding to it runs or goes, reg.py makes
    # it again, and every statement adding to it runs again, in order.
    # Likewise ids.py's counter, for the statements that take a number from it.
    for kind in ("R", "K"):
        if any(s.kind == kind and s.id in allowed for s in after.statements) or any(
            s.kind == kind and s.id not in kept for s in before.statements
        ):
            allowed |= {s.id for s in after.statements if s.kind == kind}
    return allowed


def _text(stmt: Stmt, program: Program) -> str:
    kinds = {s.name: s.kind for s in program.statements if s.kind not in ("A", "R")}
    return render_statement(stmt, kinds)
