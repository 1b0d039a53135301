"""The dependency graph: module nodes, name nodes (``pkg.mod:NAME``) and who reads what.

An edge ``a -> b`` says "a reads b": module ``m`` read ``util:load`` while it executed, or the
function ``util:load`` reads ``config:PATH`` when called. A second, module-only graph orders
reruns deep to shallow (import cycles collapse into one step).

Plain dicts of sets, not networkx: the engine builds this graph inside the user's program,
where ``import networkx`` alone cost 70-150 ms and 23 MiB of peak memory. What a name's value
reads is worked out lazily (``set_names``, or ``set_name`` with a ``Deferred``): only once the
name is reachable from a module, or asked for, which in a large project is half the names.
Only an export of every edge (``edges``) works out all of them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Iterator, Mapping

MODULE = "module"
NAME = "name"
_MISSING = object()
_ATTRIBUTES: dict[str | None, dict] = {None: {}, MODULE: {"kind": MODULE}, NAME: {"kind": NAME}}


class Deferred:
    """Reads not worked out yet: ``compute()`` gives them when the graph needs them."""

    __slots__ = ("compute",)

    def __init__(self, compute: Callable[[], Iterable[str]]) -> None:
        self.compute = compute


class Digraph:
    """A directed graph on dicts of sets, with the part of networkx's ``DiGraph`` interface
    its readers use (``successors``, ``predecessors``, ``edges``, ``nodes[n]``, ``in``), so
    that networkx's algorithms still accept it where a command wants one."""

    def __init__(self) -> None:
        self.nodes: dict[str, dict] = {}  # node -> its attributes (shared: never mutated)
        self._succ: dict[str, set[str]] = {}
        self._pred: dict[str, set[str]] = {}
        # name node -> its reads, not worked out yet; those something reads wait in _due
        self._deferred: dict[str, Deferred] = {}
        self._due: list[str] = []
        self.names_of: dict[str, set[str]] = {}  # module -> its name nodes (``pkg.mod:NAME``)
        #: For a name node not made yet: its reads, deferred, if the name is one to hold
        #: (``DependencyGraph.set_names``), else None.
        self.resolver: Callable[[str], Deferred | None] | None = None
        self.make_every_name: Callable[[], None] = lambda: None  # before listing every edge

    def __contains__(self, node: object) -> bool:
        if node in self.nodes:
            return True
        return self._made(node) if self.resolver is not None else False

    def _made(self, node: object) -> bool:
        """Make ``node`` if the resolver knows it (a behaviour of a module whose names are
        set): it is in the graph as if every such name had been added up front."""
        reads = self.resolver(node) if isinstance(node, str) else None  # type: ignore[misc]
        if reads is None:
            return False
        self._deferred[node] = reads
        self.add_node(node, NAME)
        return True

    def __len__(self) -> int:
        return len(self.nodes)

    def __iter__(self) -> Iterator[str]:
        return iter(self.nodes)

    def is_directed(self) -> bool:
        return True

    def add_node(self, node: str, kind: str | None = None) -> None:
        new = node not in self.nodes
        if new or kind is not None:
            self.nodes[node] = _ATTRIBUTES[kind]
        if new:
            self._succ[node] = set()
            self._pred[node] = set()
        if kind == NAME:
            self.names_of.setdefault(node.partition(":")[0], set()).add(node)
            if new and self.resolver is not None and node not in self._deferred:
                reads = self.resolver(node)
                if reads is not None:
                    self._deferred[node] = reads

    def add_edge(self, source: str, target: str) -> None:
        if source not in self.nodes:
            self.add_node(source)
        if target not in self.nodes:
            self.add_node(target)
        self._succ[source].add(target)
        self._pred[target].add(source)
        if target in self._deferred:
            self._due.append(target)

    def clear_out_edges(self, source: str) -> None:
        self._deferred.pop(source, None)
        targets = self._succ.get(source)
        if targets:
            for target in targets:
                self._pred[target].discard(source)
            targets.clear()

    def defer_out_edges(self, source: str, reads: Deferred) -> None:
        """``source``'s out-edges are ``reads.compute()``, worked out when first needed."""
        if self._succ.get(source) or source in self._deferred:
            self.clear_out_edges(source)
        if source not in self.nodes:
            self.add_node(source)
        self._deferred[source] = reads
        if self._pred[source]:
            self._due.append(source)

    def successors(self, node: str) -> Iterator[str]:
        if node in self._deferred:
            self._resolve(node)
        elif node not in self.nodes:
            self._made(node)
            if node in self._deferred:
                self._resolve(node)
        return iter(self._succ[node])

    neighbors = successors

    def predecessors(self, node: str) -> Iterator[str]:
        self.settle()
        return iter(self._pred[node])

    def out_edges(self, node: str) -> list[tuple[str, str]]:
        return [(node, target) for target in self.successors(node)]

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every edge: every name is made and its reads worked out first."""
        self.make_every_name()
        while self._deferred:
            self._resolve(next(iter(self._deferred)))
        return [(source, target) for source, targets in self._succ.items() for target in targets]

    def settle(self) -> None:
        """Work out the deferred reads of every node something reads: a path from a module
        to a changed name can pass only through those."""
        due = self._due
        while due:
            node = due.pop()
            if node in self._deferred:
                self._resolve(node)

    def _resolve(self, node: str) -> None:
        reads = self._deferred.pop(node).compute()
        for target in reads:
            if target != node:
                if target not in self.nodes:
                    self.add_node(target, NAME)
                self.add_edge(node, target)

    def descendants(self, start: str) -> set[str]:
        """Every node reachable from ``start`` (itself not included)."""
        seen: set[str] = set()
        stack = [start]
        while stack:
            for target in self.successors(stack.pop()):
                if target not in seen:
                    seen.add(target)
                    stack.append(target)
        seen.discard(start)
        return seen


class DependencyGraph:
    def __init__(self) -> None:
        self.reads = Digraph()
        self.modules = Digraph()
        self._rank: dict[str, int] | None = None
        self._names_of = self.reads.names_of
        self._namespaces: dict[str, Mapping[str, object]] = {}  # set_names

    # --- building ------------------------------------------------------------------

    def set_module(self, module: str, reads: Iterable[str], depends_on: Iterable[str]) -> None:
        """Replace what module ``module`` reads (name nodes) and which modules it needs."""
        self._replace_out_edges(module, MODULE, reads)
        modules = self.modules
        before = set(modules._succ[module]) if module in modules else None
        after = {other for other in depends_on if other != module}
        if before != after:
            modules.add_node(module)
            modules.clear_out_edges(module)
            for other in after:
                modules.add_edge(module, other)
            self._rank = None

    def set_name(self, name_node: str, reads: Iterable[str] | Deferred) -> None:
        """Replace what the value behind ``name_node`` reads when used (a ``Deferred`` is
        worked out once the name is reachable from a module, or asked for)."""
        if isinstance(reads, Deferred):
            if name_node not in self.reads:
                self.reads.add_node(name_node, NAME)
            self.reads.defer_out_edges(name_node, reads)
        else:
            self._replace_out_edges(name_node, NAME, reads)

    def set_names(self, module: str, namespace: Mapping[str, object]) -> None:
        """``module``'s names read what their values in ``namespace`` read when used: worked
        out per name once something reads it, or asks (a large project's first edit waited
        for all of them: 6,000 names in 1,000 modules, half of them never read)."""
        if self.reads.resolver is None:
            self.reads.resolver = self._name_reads
            self.reads.make_every_name = self._make_every_name
        self._namespaces[module] = namespace
        for graph_node in self._names_of.get(module, ()):
            self.reads.clear_out_edges(graph_node)
            reads = self._name_reads(graph_node)
            if reads is not None:
                self.reads.defer_out_edges(graph_node, reads)

    def _make_every_name(self) -> None:
        for module, namespace in list(self._namespaces.items()):
            for name in list(namespace):
                _ = f"{module}:{name}" in self.reads  # made if its value is behaviour

    def _name_reads(self, graph_node: str) -> Deferred | None:
        """What using the value behind ``graph_node`` reads, deferred; None if the graph
        holds no namespace for its module, or the name is not bound to behaviour there."""
        module, _, name = graph_node.partition(":")
        namespace = self._namespaces.get(module)
        if namespace is None:
            return None
        from .summaries import is_behaviour, reads_now

        value = namespace.get(name, _MISSING)
        if value is _MISSING or not is_behaviour(value):
            return None
        return Deferred(functools.partial(reads_now, value))

    def drop_names(self, module: str, keep: Iterable[str]) -> None:
        """Forget the outgoing reads of ``module``'s name nodes not in ``keep``."""
        keep = set(keep)
        for graph_node in self._names_of.get(module, set()) - keep:
            self.reads.clear_out_edges(graph_node)

    def _replace_out_edges(self, source: str, kind: str, targets: Iterable[str]) -> None:
        graph = self.reads
        nodes = graph.nodes
        if source in nodes:
            graph.clear_out_edges(source)
        else:
            graph.add_node(source, kind)
        for target in targets:
            if target != source:
                if target not in nodes:
                    graph.add_node(target, NAME)
                graph.add_edge(source, target)

    # --- questions -----------------------------------------------------------------

    def dependents(
        self, changed: Iterable[str], skip: frozenset[tuple[str, str]] = frozenset()
    ) -> dict[str, str]:
        """Modules that read a changed name, directly or through functions they read.

        Returns each such module with the changed name that reaches it (for ``-v``).
        ``skip`` holds ``(reader, name)`` edges to leave out.
        """
        graph = self.reads
        graph.settle()
        nodes, predecessors = graph.nodes, graph._pred
        found: dict[str, str] = {}
        reason: dict[str, str] = {}
        stack = []
        for name in changed:
            if name in nodes:
                reason[name] = name
                stack.append(name)
        while stack:
            current = stack.pop()
            for reader in predecessors[current]:
                if reader in reason or (reader, current) in skip:
                    continue
                reason[reader] = reason[current]
                if nodes[reader].get("kind") == MODULE:
                    found[reader] = reason[current]
                else:
                    stack.append(reader)
        return found

    def descendants(self, start: str) -> set[str]:
        """Every node ``start`` reads, directly or through the functions it reads."""
        return self.reads.descendants(start) if start in self.reads else set()

    def names_of(self, module: str) -> set[str]:
        """The name nodes of ``module`` the graph holds."""
        return self._names_of.get(module, set())

    def readers(self, module: str) -> set[str]:
        """Modules that read any name of ``module`` directly (for explanations)."""
        graph = self.reads
        graph.settle()
        return {
            reader
            for name_node in self._names_of.get(module, ())
            for reader in graph._pred[name_node]
            if graph.nodes[reader].get("kind") == MODULE and reader != module
        }

    def rank(self, module: str) -> int:
        """Lower ranks rerun first: a module's dependencies rank below it."""
        if self._rank is None:
            from . import runtime

            def first_imported(name: str) -> int:
                record = runtime.records.get(name)
                return record.order if record is not None else 1 << 30

            self._rank = {
                name: index
                for index, component in enumerate(
                    in_import_order(strongly_connected(self.modules), self.modules, first_imported)
                )
                for name in component
            }
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


def strongly_connected(graph: Digraph) -> list[list[str]]:
    """The strongly connected components of ``graph``, each after every component it
    reaches (Tarjan's algorithm, without recursion: import chains can be deep)."""
    successors = graph._succ
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    for root in graph.nodes:
        if root in index:
            continue
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        work = [(root, iter(sorted(successors[root])))]
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(successors[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def in_import_order(
    components: list[list[str]], graph: Digraph, order: Callable[[str], int]
) -> list[list[str]]:
    """``components`` again, each still after every component it reaches, and otherwise in
    the order a fresh run imports them: two modules that add to the same registry without
    importing each other rerun in their import order, so the registry's order is a fresh
    run's."""
    import heapq

    home = {name: number for number, component in enumerate(components) for name in component}
    waiting = [0] * len(components)  # components it reaches, not placed yet
    reached_by: list[set[int]] = [set() for _ in components]
    for number, component in enumerate(components):
        reaches = {home[t] for name in component for t in graph._succ[name]} - {number}
        waiting[number] = len(reaches)
        for target in reaches:
            reached_by[target].add(number)
    ready = [(min(map(order, c)), n) for n, c in enumerate(components) if not waiting[n]]
    heapq.heapify(ready)
    placed = []
    while ready:
        _, number = heapq.heappop(ready)
        placed.append(components[number])
        for reader in reached_by[number]:
            waiting[reader] -= 1
            if not waiting[reader]:
                heapq.heappush(ready, (min(map(order, components[reader])), reader))
    return placed
