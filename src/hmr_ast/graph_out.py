"""``hmr-ast run --graph-out FILE.json``: the graph the running program really recorded,
kept up to date for an editor or a tool to read (written whole, atomically, after start-up
settles and after each reload)."""

from __future__ import annotations

import os

from . import runtime
from .engine import ENTRY, Outcome
from .session import Session


class GraphWriter:
    def __init__(self, session: Session, path: str) -> None:
        self.session = session
        self.path = os.path.abspath(path)

    def attach(self) -> None:
        self.session.engine.after_batch.append(self.after_batch)
        self.session.when_settled.append(self.write)

    def after_batch(self, outcome: Outcome) -> None:
        if outcome.reran:
            self.write()

    def write(self) -> None:
        from .cache import write_atomically
        from .export import from_graph, to_json

        files = {name: record.path for name, record in list(runtime.records.items())}
        text = to_json(from_graph(self.session.engine.graph, files, ENTRY), names=True)
        try:
            write_atomically(self.path, text.encode())
        except OSError as error:
            self.session.log(f"could not write {self.path}: {error.strerror}")
