"""The dependency graph: module nodes, name nodes (``pkg.mod:NAME``) and who reads what.

An edge ``a -> b`` says "a reads b": module ``m`` read ``util:load`` while it executed, or the
function ``util:load`` reads ``config:PATH`` when called. A second, module-only graph orders
reruns deep to shallow (import cycles collapse into one step).
"""

from __future__ import annotations

from collections.abc import Iterable

import networkx as nx

MODULE = "module"
NAME = "name"


class DependencyGraph:
    def __init__(self) -> None:
        self.reads = nx.DiGraph()
        self.modules = nx.DiGraph()
        self._rank: dict[str, int] | None = None
        self._names_of: dict[str, set[str]] = {}  # module -> its name nodes

    # --- building ------------------------------------------------------------------

    def set_module(self, module: str, reads: Iterable[str], depends_on: Iterable[str]) -> None:
        """Replace what module ``module`` reads (name nodes) and which modules it needs."""
        self._replace_out_edges(module, MODULE, reads)
        before = set(self.modules.successors(module)) if module in self.modules else None
        after = {other for other in depends_on if other != module}
        if before != after:
            if before:
                self.modules.remove_edges_from([(module, other) for other in before - after])
            self.modules.add_node(module)
            self.modules.add_edges_from((module, other) for other in after - (before or set()))
            self._rank = None

    def set_name(self, name_node: str, reads: Iterable[str]) -> None:
        """Replace what the value behind ``name_node`` reads when used."""
        self._replace_out_edges(name_node, NAME, reads)

    def drop_names(self, module: str, keep: Iterable[str]) -> None:
        """Forget the outgoing reads of ``module``'s name nodes not in ``keep``."""
        keep = set(keep)
        for graph_node in self._names_of.get(module, set()) - keep:
            self.reads.remove_edges_from(list(self.reads.out_edges(graph_node)))

    def _replace_out_edges(self, source: str, kind: str, targets: Iterable[str]) -> None:
        graph = self.reads
        if source in graph:
            graph.remove_edges_from(list(graph.out_edges(source)))
        if source not in graph:
            self._add(source, kind)
        for target in targets:
            if target != source:
                if target not in graph:
                    self._add(target, NAME)
                graph.add_edge(source, target)

    def _add(self, graph_node: str, kind: str) -> None:
        self.reads.add_node(graph_node, kind=kind)
        if kind == NAME:
            module = graph_node.partition(":")[0]
            self._names_of.setdefault(module, set()).add(graph_node)

    # --- questions -----------------------------------------------------------------

    def dependents(
        self, changed: Iterable[str], skip: frozenset[tuple[str, str]] = frozenset()
    ) -> dict[str, str]:
        """Modules that read a changed name, directly or through functions they read.

        Returns each such module with the changed name that reaches it (for ``-v``).
        ``skip`` holds ``(reader, name)`` edges to leave out.
        """
        graph = self.reads
        found: dict[str, str] = {}
        reason: dict[str, str] = {}
        stack = []
        for name in changed:
            if name in graph:
                reason[name] = name
                stack.append(name)
        while stack:
            current = stack.pop()
            for reader in graph.predecessors(current):
                if reader in reason or (reader, current) in skip:
                    continue
                reason[reader] = reason[current]
                if graph.nodes[reader].get("kind") == MODULE:
                    found[reader] = reason[current]
                else:
                    stack.append(reader)
        return found

    def names_of(self, module: str) -> set[str]:
        """The name nodes of ``module`` the graph holds."""
        return self._names_of.get(module, set())

    def readers(self, module: str) -> set[str]:
        """Modules that read any name of ``module`` directly (for explanations)."""
        graph = self.reads
        return {
            reader
            for name_node in self._names_of.get(module, ())
            for reader in graph.predecessors(name_node)
            if graph.nodes[reader].get("kind") == MODULE and reader != module
        }

    def rank(self, module: str) -> int:
        """Lower ranks rerun first: a module's dependencies rank below it."""
        if self._rank is None:
            condensed = nx.condensation(self.modules)
            order = list(reversed(list(nx.topological_sort(condensed))))
            mapping = condensed.graph["mapping"]
            position = {component: index for index, component in enumerate(order)}
            self._rank = {name: position[mapping[name]] for name in mapping}
        return self._rank.get(module, -1)

    def rerun_order(self, modules: Iterable[str]) -> list[str]:
        return sorted(modules, key=lambda m: (self.rank(m), m))

    # --- export --------------------------------------------------------------------

    def to_json(self) -> dict:
        edges: dict[tuple[str, str], set[str]] = {}
        for source, target in self.reads.edges:
            if self.reads.nodes[source].get("kind") != MODULE:
                continue
            module, _, name = target.partition(":")
            if module != source:
                edges.setdefault((source, module), set()).add(name)
        for source, target in self.modules.edges:
            edges.setdefault((source, target), set())
        return {
            "modules": sorted(self.modules.nodes),
            "edges": [
                {"from": s, "to": t, "names": sorted(names)}
                for (s, t), names in sorted(edges.items())
            ],
        }
