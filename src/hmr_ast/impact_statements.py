"""Which statements of each module an edit reruns, and why: ``hmr-ast impact`` at the
statement level, by the engine's rules (``statements.py``) on facts read from source.

A statement runs again if its text is new (edited, added or moved) or if it reads, directly
or through the functions and classes it uses, a name that may change; a statement that runs
may change the names it binds. Where the engine cannot split a module (import-time
``globals()``, no earlier run to compare with), every statement runs. Like the module-level
prediction it may list a statement the engine then skips (a value that came out equal),
never the reverse.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from . import static
from .summaries import node

STAR = "*"


@dataclass
class Statement:
    line: int
    text: str  # its first line, as written
    runs: bool
    why: str
    calls: bool  # it calls something at import time (a model load, an app made)


def plan(
    analysis, module, changed: set[str], edited: bool, forced: dict[int, str] | None = None
) -> list[Statement]:
    """The statements of ``module`` (an ``impact.Module``) in source order, with whether
    they run again when ``changed`` (name nodes) may change, and why (``forced``: statements
    that run for another reason, by index: an owner made again, a contributor to one)."""
    units = module.units
    if module.error or not units:
        return []
    lines = _source_lines(module.path)
    whole = None
    if module.name == "__main__":
        whole = "the entry runs whole, as python runs it"
    elif module.dynamic:
        whole = "the module reruns whole (import-time globals(), vars(), exec or setattr)"
    elif edited and module.previous is None:
        whole = "edited; no earlier run to compare with"
    before = (
        Counter(u[static.PRINT] for u in module.previous.get("units", ()))
        if edited and module.previous
        else Counter()
    )
    own: set[str] = set()
    found: list[Statement] = []
    for index, unit in enumerate(units):
        why = whole
        if why is None and edited:
            if before[unit[static.PRINT]] > 0:
                before[unit[static.PRINT]] -= 1
            else:
                why = "edited"
        if why is None and forced:
            why = forced.get(index)
        if why is None:
            hit = analysis._reach(module, index) & (changed | own)
            if hit:
                why = f"reads {min(hit)}, which may change"
        runs = why is not None
        if runs:
            own |= {node(module.name, name) for name in unit[static.BINDS] if name != STAR}
        first = unit[static.FIRST]
        text = lines[first - 1].strip() if 0 < first <= len(lines) else ""
        found.append(
            Statement(
                first,
                text,
                runs,
                why or "not rerun, reads nothing that changed",
                bool(unit[static.CALLS]),
            )
        )
    return found


def describe(statements: list[Statement], where: str, limit: int = 12) -> list[str]:
    """What ``impact`` prints under a module: the statements that run, and those that do
    not but call something (where the time goes: ``MODEL = load()``); one line when the
    whole module runs."""
    if statements and all(s.runs and s.why == statements[0].why for s in statements):
        if statements[0].why != "edited" and not statements[0].why.startswith("reads"):
            return [f"{where}: every statement ({statements[0].why})"]
    lines = []
    for statement in [s for s in statements if s.runs or s.calls][:limit]:
        text = statement.text if len(statement.text) <= 50 else statement.text[:47] + "..."
        lines.append(f"{where}:{statement.line} {text}: {statement.why}")
    return lines


def _source_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().splitlines()
    except OSError:
        return []
