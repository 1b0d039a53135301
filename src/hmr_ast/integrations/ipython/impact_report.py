"""``%hmr_ast impact FILE``: what an edit to FILE would rerun, before it applies.

The static analysis of ``hmr-ast impact``, over the project modules the session loaded
(there is no entry file): it compares FILE as it is on disk with the version that ran last,
so asked after a save and before the next cell, it tells what that cell will rerun.
"""

from __future__ import annotations

import os
import sys

from ... import runtime
from ...errors import display_path
from ...finder import ProjectScope


def impact_lines(paths: list[str], scope: ProjectScope) -> list[str]:
    from ...impact import Analysis, Project
    from ...impact_statements import describe

    loaded = [name for name, r in list(runtime.records.items()) if r.namespace is not None]
    project = Project.from_modules(scope, loaded, [p or os.getcwd() for p in sys.path])
    analysis = Analysis(project)
    by_path: dict[str, list[str]] = {}
    for name, module in project.modules.items():
        by_path.setdefault(os.path.realpath(module.path), []).append(name)
    edited: list[str] = []
    notes: list[str] = []
    for path in paths:
        names = by_path.get(os.path.realpath(path))
        if names:
            edited += names
        elif not os.path.exists(path):
            notes.append(f"{path}: no such file")
        else:
            notes.append(f"{path}: no loaded module imports it; editing it reruns nothing")
    lines: list[str] = []
    prediction = analysis.predict(edited)
    if prediction.order:
        width = max(len(name) for name in prediction.order)
        lines.append(f"an edit to {', '.join(paths)} reruns, in this order:")
        for name in prediction.order:
            lines.append(f"  {name:<{width}}  {'; '.join(prediction.reasons[name])}")
            where = display_path(project.modules[name].path)
            lines += [
                f"      {line}" for line in describe(prediction.statements.get(name, []), where)
            ]
    else:
        lines.append("nothing reruns")
    return lines + [f"note: {note}" for note in notes + analysis.notes()]
