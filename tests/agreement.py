"""Static prediction against the engine: for one edit, what ``impact`` says will rerun and
what a live ``hmr-ast run`` then really reran.

The live process writes the instrumented-code cache as it runs, so the cache holds the
version it last ran. Before each edit the project (cache included) is copied; the edit is
written to both; the copy is analysed, the live process reports its reruns. Shared by the
agreement tests and ``tools/bench_impact.py``.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from harness import TIMEOUT, HotProcess, write
from hmr_ast.config import scope_for
from hmr_ast.impact import Analysis, Project

_RELOADED = re.compile(r"^\[hmr-ast\] reloaded (.+?): (.*)$")
_RERAN = re.compile(r"reran (.+?) in [\d.]+ ms")
DONE = "entry done"


@dataclass
class Comparison:
    edited: set[str]
    predicted: set[str]
    actual: set[str]
    reasons: dict[str, list[str]] = field(default_factory=dict)

    @property
    def missed(self) -> set[str]:
        return self.actual - self.predicted

    @property
    def extra(self) -> set[str]:
        return self.predicted - self.actual

    def describe(self) -> str:
        return (
            f"edited {sorted(self.edited)}: predicted {sorted(self.predicted)}, "
            f"engine reran {sorted(self.actual)}; reasons {self.reasons}"
        )


@dataclass
class Tally:
    """Totals over many edits; precision counts dependents only (edited modules always
    rerun, so counting them would flatter it)."""

    edits: int = 0
    predicted: int = 0
    correct: int = 0
    actual: int = 0
    missed: int = 0

    def add(self, comparison: Comparison) -> None:
        self.edits += 1
        predicted = comparison.predicted - comparison.edited
        actual = comparison.actual - comparison.edited
        self.predicted += len(predicted)
        self.correct += len(predicted & actual)
        self.actual += len(actual)
        self.missed += len(actual - predicted)

    @property
    def precision(self) -> float:
        return self.correct / self.predicted if self.predicted else 1.0

    @property
    def recall(self) -> float:
        return (self.actual - self.missed) / self.actual if self.actual else 1.0


def entry_importing(modules: list[str]) -> str:
    """An entry that imports ``modules`` and finishes (then hmr-ast just watches)."""
    imports = "".join(f"import {module}\n" for module in modules)
    return f"{imports}\nprint({DONE!r}, flush=True)\n"


class LiveProgram:
    """``hmr-ast run -v app.py`` in ``root``, edited one change at a time."""

    def __init__(self, root: Path, entry: str = "app.py", ready: str = f"^{DONE}$") -> None:
        self.root = root
        self.entry = entry
        self.ready = ready
        self.process = HotProcess.run(root, entry, options=("-v",))

    def __enter__(self) -> LiveProgram:
        self.process.out.wait_for(self.ready)
        return self

    def __exit__(self, *exc) -> None:
        self.process.stop()

    def edit(self, files: dict[str, str], order: list[str] | None = None) -> Comparison:
        """Write ``files`` (path -> text), predict from a copy, return both sides."""
        with tempfile.TemporaryDirectory(prefix="hmr-impact-") as directory:
            copy = Path(directory) / "project"
            shutil.copytree(self.root, copy)
            existing = [p for p in files if (self.root / p).exists()]
            for path in order or list(files):
                write(copy / path, files[path])
            predicted, edited, reasons = predict(copy, self.entry, existing)
        actual = self._apply(files, order or list(files), existing)
        return Comparison(edited, predicted, actual, reasons)

    def _apply(self, files: dict[str, str], order: list[str], existing: list[str]) -> set[str]:
        for path in order:
            write(self.root / path, files[path])
        waiting = set(existing)
        actual: set[str] = set()
        deadline = time.monotonic() + TIMEOUT
        while waiting:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError("no reload line for " + ", ".join(sorted(waiting)))
            line = self.process.err.wait_for("", timeout=remaining).string
            if line.startswith("[hmr-ast] error in "):
                raise AssertionError(f"hmr-ast failed on a valid edit: {line}")
            match = _RELOADED.match(line)
            if not match:
                continue
            waiting -= set(match.group(1).split(", "))
            reran = _RERAN.search(match.group(2))
            if reran:
                actual |= set(reran.group(1).split(", "))
            if "__main__" in match.group(2).rpartition(" ms")[2] or match.group(2).startswith(
                ("rerunning __main__", "restarting __main__")
            ):
                actual.add("__main__")
        return actual


def predict(root: Path, entry: str, paths: list[str]) -> tuple[set[str], set[str], dict]:
    """What ``hmr-ast impact`` predicts for an edit of ``paths`` in ``root``."""
    project = Project.from_entry(scope_for([str(root)]), path=str(root / entry))
    analysis = Analysis(project)
    by_path = {os.path.realpath(m.path): name for name, m in project.modules.items()}
    edited = {
        by_path[os.path.realpath(root / p)] for p in paths if os.path.realpath(root / p) in by_path
    }
    prediction = analysis.predict(edited)
    return set(prediction.order), edited, prediction.reasons
