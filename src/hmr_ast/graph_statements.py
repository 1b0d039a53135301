"""The top-level statements of each module for ``hmr-ast graph --names``: the unit the
engine reruns (issue 9), with the names each reads and binds, by the rules ``hmr-ast impact``
applies (``impact_statements.py``).

A statement reads a name node if it reads it while the module executes (a from-import reads
the name it imports); what a function or class it uses reads when called is already in the
name-to-name edges. A module the engine cannot split (the entry, import-time ``globals()``)
says so in ``whole``: an edit reruns all its statements.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import static

STAR = "*"


@dataclass(frozen=True)
class StatementNode:
    module: str
    line: int
    text: str  # its first line, as written
    binds: tuple[str, ...]
    reads: tuple[str, ...]  # name nodes (``pkg.mod:NAME``) of project modules
    calls: bool  # calls something at import time
    whole: str | None  # why the module reruns as a whole, if it does

    @property
    def node(self) -> str:
        """Its node in the graph: ``pkg.mod@LINE`` (``:`` is for names)."""
        return f"{self.module}@{self.line}"

    def as_json(self) -> dict:
        return {
            "module": self.module,
            "line": self.line,
            "text": self.text,
            "binds": list(self.binds),
            "reads": list(self.reads),
            "calls": self.calls,
            "whole": self.whole,
        }


def statement_nodes(analysis, files: dict[str, str]) -> list[StatementNode]:
    """Every top-level statement of the modules in ``files`` (an ``impact.Analysis``)."""
    found = []
    for name in sorted(files):
        module = analysis.project.modules.get(name)
        if module is None or module.error or not module.units:
            continue
        whole = None
        if name == "__main__":
            whole = "the entry runs whole, as python runs it"
        elif module.dynamic:
            whole = "reruns whole (import-time globals(), vars(), exec or setattr)"
        lines = _source_lines(module.path)
        for index, unit in enumerate(module.units):
            first = unit[static.FIRST]
            reads = {
                target
                for target in analysis.unit_reads(module, index)
                if target.partition(":")[0] in files
            }
            found.append(
                StatementNode(
                    module=name,
                    line=first,
                    text=lines[first - 1].strip() if 0 < first <= len(lines) else "",
                    binds=tuple(sorted(b for b in unit[static.BINDS] if b != STAR)),
                    reads=tuple(sorted(reads)),
                    calls=bool(unit[static.CALLS]),
                    whole=whole,
                )
            )
    return found


def _source_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            return file.read().splitlines()
    except OSError:
        return []
