"""``%hmr_ast graph``: the dependency graph the session recorded, shown in the notebook.

SVG rendered by Graphviz's ``dot`` when it is installed; otherwise a Mermaid flowchart in a
Markdown cell output, which JupyterLab (4.1 and later) and GitHub draw themselves.
"""

from __future__ import annotations

import shutil
import subprocess

from ... import runtime
from ...engine import Engine
from ...export import GraphData, from_graph, to_dot, to_mermaid


def recorded_graph(engine: Engine) -> GraphData:
    """The loaded project modules and what each read from the others (the notebook's cells
    are not a module: nothing reruns them)."""
    files = {
        name: record.path
        for name, record in list(runtime.records.items())
        if record.namespace is not None
    }
    return from_graph(engine.graph, files, "__main__")


def svg_of(dot_source: str) -> str | None:
    """``dot_source`` rendered by Graphviz, or None without a working ``dot``."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    try:
        done = subprocess.run(
            [dot, "-Tsvg"], input=dot_source, capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout if done.returncode == 0 and "<svg" in done.stdout else None


def show_graph(engine: Engine, names: bool = False, style: str = "auto", rich: bool = True) -> None:
    """Display the graph: ``auto`` (SVG, else Mermaid), ``mermaid`` or ``dot`` (its text).
    Not ``rich`` (a terminal shows text only): Mermaid's text, printed."""
    from IPython.display import SVG, Markdown, display

    data = recorded_graph(engine)
    if not data.files:
        print("no project module is loaded yet: import one, then ask again")
        return
    if style == "dot":
        print(to_dot(data, names), end="")
        return
    if not rich:
        print(to_mermaid(data, names), end="")
        return
    if style == "auto":
        svg = svg_of(to_dot(data, names))
        if svg is not None:
            display(SVG(svg))
            return
    display(Markdown(f"```mermaid\n{to_mermaid(data, names)}```"))
