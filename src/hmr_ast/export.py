"""The dependency graph as data, Graphviz DOT or Mermaid, from the static analysis or from a
running program (both are a ``DependencyGraph``).

JSON: ``{"entry", "modules": [{"name", "file"}], "edges": [{"from", "to", "names"}]}``, the
importer in ``from``; with names, also ``"names": [{"from": "a:f", "to": "b:X"}]``: what using
a name reads (a function's body, a class's methods), and ``"statements"``: each top-level
statement with the names it reads and binds (``graph_statements.py``), when given.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from .errors import display_path
from .graph import MODULE, DependencyGraph


@dataclass
class GraphData:
    entry: str
    files: dict[str, str]  # module -> file
    edges: dict[tuple[str, str], set[str]]  # (importer, imported) -> names read
    name_edges: set[tuple[str, str]] = field(default_factory=set)
    notes: list[str] = field(default_factory=list)
    statements: list = field(default_factory=list)  # graph_statements.StatementNode


def from_graph(
    graph: DependencyGraph, files: dict[str, str], entry: str, notes: list[str] = ()
) -> GraphData:
    """Module edges labelled with the names read; name-to-name edges for ``--names``."""
    edges: dict[tuple[str, str], set[str]] = {}
    name_edges: set[tuple[str, str]] = set()
    reads = graph.reads
    for source, target in reads.edges:
        module, _, name = target.partition(":")
        if module not in files:
            continue
        if reads.nodes[source].get("kind") == MODULE:
            if module != source and source in files:
                edges.setdefault((source, module), set()).add(name)
        elif source.partition(":")[0] in files:
            name_edges.add((source, target))
    for source, target in graph.modules.edges:
        if source in files and target in files:
            edges.setdefault((source, target), set())
    return GraphData(entry, dict(files), edges, name_edges, list(notes))


def to_json(data: GraphData, names: bool = False) -> str:
    document: dict = {
        "entry": data.entry,
        "modules": [
            {"name": name, "file": display_path(path)} for name, path in sorted(data.files.items())
        ],
        "edges": [
            {"from": source, "to": target, "names": sorted(read)}
            for (source, target), read in sorted(data.edges.items())
        ],
    }
    if names:
        document["names"] = [{"from": s, "to": t} for s, t in sorted(data.name_edges)]
        if data.statements:
            document["statements"] = [statement.as_json() for statement in data.statements]
    if data.notes:
        document["notes"] = data.notes
    return json.dumps(document, indent=2) + "\n"


def _cycle_edges(data: GraphData) -> set[tuple[str, str]]:
    from .graph import Digraph, strongly_connected

    graph = Digraph()
    for source, target in data.edges:
        graph.add_edge(source, target)
    cyclic: set[tuple[str, str]] = set()
    for component in map(set, strongly_connected(graph)):
        if len(component) > 1:
            cyclic |= {(s, t) for s, t in data.edges if s in component and t in component}
    return cyclic


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def to_dot(data: GraphData, names: bool = False) -> str:
    """Graphviz: the entry drawn double and bold, import cycles in red."""
    cyclic = _cycle_edges(data)
    lines = [
        "digraph hmr_ast {",
        "  rankdir=LR;",
        '  node [shape=box, fontname="Helvetica"];',
        '  edge [fontname="Helvetica", fontsize=10];',
    ]
    for module, path in sorted(data.files.items()):
        label = f"{module}\\n{display_path(path)}"
        style = ", peripheries=2, style=bold" if module == data.entry else ""
        lines.append(f'  {_quote(module)} [label="{label}"{style}];')
    for (source, target), read in sorted(data.edges.items()):
        attributes = []
        if read:
            attributes.append(f"label={_quote(', '.join(sorted(read)))}")
        if (source, target) in cyclic:
            attributes.append("color=red")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(source)} -> {_quote(target)}{suffix};")
    if names:
        name_nodes = {n for edge in data.name_edges for n in edge}
        for statement in data.statements:
            name_nodes.update(statement.reads)
            name_nodes.update(f"{statement.module}:{bound}" for bound in statement.binds)
        for name in sorted(name_nodes):
            lines.append(f"  {_quote(name)} [shape=ellipse, fontsize=10];")
        for source, target in sorted(data.name_edges):
            lines.append(f"  {_quote(source)} -> {_quote(target)} [style=dashed];")
        for statement in data.statements:  # reads: dotted; a name bound by it: bold
            label = _quote(f"{statement.line}: {statement.text}")
            lines.append(f"  {_quote(statement.node)} [shape=note, fontsize=9, label={label}];")
            for target in statement.reads:
                lines.append(f"  {_quote(statement.node)} -> {_quote(target)} [style=dotted];")
            for bound in statement.binds:
                name = _quote(f"{statement.module}:{bound}")
                lines.append(f"  {name} -> {_quote(statement.node)} [style=bold];")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(data: GraphData, names: bool = False) -> str:
    """A Mermaid flowchart, to paste into Markdown (in a ```mermaid block)."""
    ids: dict[str, str] = {}

    def ident(name: str) -> str:
        return ids.setdefault(name, f"n{len(ids)}")

    cyclic = _cycle_edges(data)
    lines = ["flowchart LR"]
    for module, path in sorted(data.files.items()):
        label = f"{module}<br/>{display_path(path)}".replace('"', "'")
        lines.append(f'  {ident(module)}["{label}"]')
    for (source, target), read in sorted(data.edges.items()):
        arrow = f"-->|{', '.join(sorted(read))}|" if read else "-->"
        lines.append(f"  {ident(source)} {arrow} {ident(target)}")
    if names:
        for source, target in sorted(data.name_edges):
            for name in (source, target):
                if name not in ids:
                    lines.append(f'  {ident(name)}(["{name}"])')
            lines.append(f"  {ident(source)} -.-> {ident(target)}")
        for statement in data.statements:
            text = f"{statement.module}:{statement.line} {statement.text}".replace('"', "'")
            lines.append(f'  {ident(statement.node)}[/"{text}"/]')
            for target in statement.reads:
                if target not in ids:
                    lines.append(f'  {ident(target)}(["{target}"])')
                lines.append(f"  {ident(statement.node)} -.-> {ident(target)}")
            for bound in statement.binds:
                name = f"{statement.module}:{bound}"
                if name not in ids:
                    lines.append(f'  {ident(name)}(["{name}"])')
                lines.append(f"  {ident(name)} ==> {ident(statement.node)}")
    lines.append("  classDef entry stroke-width:3px")
    if data.entry in ids:
        lines.append(f"  class {ids[data.entry]} entry")
    links = [index for index, edge in enumerate(sorted(data.edges)) if edge in cyclic]
    if links:
        lines.append(f"  linkStyle {','.join(map(str, links))} stroke:red")
    return "\n".join(lines) + "\n"
