"""``hmr-ast graph`` and ``hmr-ast impact``: the dependency graph and what an edit reruns,
from the source alone (``impact.py``) or, for ``graph --runtime``, from one real run."""

from __future__ import annotations

import argparse
import json
import os
import sys

from .cache import write_atomically
from .errors import display_path
from .export import GraphData, from_graph, to_dot, to_json, to_mermaid

_FORMATS = {"json": to_json, "dot": to_dot, "mermaid": to_mermaid}


def _entry_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-m", dest="module", metavar="MODULE", help="the entry is a module")
    parser.add_argument("--include", action="append", default=[], metavar="GLOB")
    parser.add_argument("--exclude", action="append", default=[], metavar="GLOB")


def _graph_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmr-ast graph",
        description="Print the program's dependency graph: modules, and with --names the "
        "names they read. Static (from the source alone) unless --runtime.",
    )
    parser.add_argument("entry", nargs="?", metavar="ENTRY.py")
    _entry_arguments(parser)
    style = parser.add_mutually_exclusive_group()
    for name in _FORMATS:
        style.add_argument(f"--{name}", dest="format", action="store_const", const=name)
    parser.add_argument("-o", "--output", metavar="FILE", help="write to FILE, not stdout")
    parser.add_argument(
        "--names",
        action="store_true",
        help="show name nodes (pkg.mod:NAME) and, from the source, each top-level statement "
        "(pkg.mod@LINE) with the names it reads and binds",
    )
    parser.add_argument(
        "--runtime",
        action="store_true",
        help="run the program once (no watching) and show the graph it really recorded "
        "(the program's own output goes to stdout too: use -o)",
    )
    parser.set_defaults(format="dot")
    return parser


def _impact_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hmr-ast impact",
        description="Print, without running anything, the modules an edit to FILES would "
        "rerun, in rerun order, each with its reason.",
    )
    parser.add_argument("paths", nargs="+", metavar="ENTRY.py FILE")
    _entry_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _scope(options: argparse.Namespace, entry: str | None):
    from .config import scope_for

    root = os.path.dirname(os.path.realpath(entry)) if entry else os.getcwd()
    return scope_for([root], options.include, options.exclude)


def _analysis(options: argparse.Namespace, entry: str | None):
    from .impact import Analysis, Project

    if entry is not None and not os.path.isfile(entry):
        raise SystemExit(f"hmr-ast: can't open file {entry!r}: no such file")
    try:
        project = Project.from_entry(_scope(options, entry), path=entry, module=options.module)
    except FileNotFoundError as error:
        raise SystemExit(f"hmr-ast: {error}")
    return Analysis(project)


def graph_main(argv: list[str]) -> int:
    options = _graph_parser().parse_args(argv)
    if (options.entry is None) == (options.module is None):
        _graph_parser().error("give ENTRY.py or -m MODULE")
    if options.runtime:
        data = _runtime_graph(options)
    else:
        analysis = _analysis(options, options.entry)
        files = {name: module.path for name, module in analysis.project.modules.items()}
        data = from_graph(analysis.graph, files, "__main__", analysis.notes())
        if options.names:
            from .graph_statements import statement_nodes

            data.statements = statement_nodes(analysis, files)
    text = _FORMATS[options.format](data, options.names)
    _write(text, options.output)
    return 0


def _runtime_graph(options: argparse.Namespace) -> GraphData:
    from . import runtime
    from .session import Entry, Session

    entry = Entry(path=options.entry, module=options.module)
    session = Session(entry, [], _scope(options, options.entry), verbosity=-1)
    session.run_once()
    files = {name: record.path for name, record in runtime.records.items()}
    return from_graph(session.engine.graph, files, "__main__")


def _write(text: str, output: str | None) -> None:
    if output is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    write_atomically(output, text.encode())


def impact_main(argv: list[str]) -> int:
    options = _impact_parser().parse_args(argv)
    paths = list(options.paths)
    entry = None if options.module else paths.pop(0)
    if not paths:
        _impact_parser().error("name the changed files after the entry")
    analysis = _analysis(options, entry)
    by_path: dict[str, list[str]] = {}
    for name, module in analysis.project.modules.items():
        by_path.setdefault(os.path.realpath(module.path), []).append(name)
    edited: list[str] = []
    notes: list[str] = []
    for path in paths:
        names = by_path.get(os.path.realpath(path))
        if names:
            edited += names
        elif path.endswith(".py"):
            notes.append(f"{path}: not imported by the program; editing it reruns nothing")
        else:
            notes.append(
                f"{path}: not a module; a data file reruns the modules that opened it while "
                "they ran, which only a run shows (hmr-ast run -v)"
            )
    prediction = analysis.predict(edited)
    notes += analysis.notes()
    if options.json:
        document = {
            "order": prediction.order,
            "reasons": prediction.reasons,
            "statements": {
                name: [vars(statement) for statement in statements]
                for name, statements in prediction.statements.items()
            },
            "notes": notes,
        }
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
        return 0
    if prediction.order:
        from .impact_statements import describe

        width = max(len(name) for name in prediction.order)
        print(f"an edit to {', '.join(paths)} reruns, in this order:")
        for name in prediction.order:
            print(f"  {name:<{width}}  {'; '.join(prediction.reasons[name])}")
            where = display_path(analysis.project.modules[name].path)
            for line in describe(prediction.statements.get(name, []), where):
                print(f"      {line}")
    else:
        print("nothing reruns")
    for note in notes:
        print(f"note: {note}")
    return 0
