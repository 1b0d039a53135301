"""``%hmr_ast``: the session's switches and questions, one line magic with subcommands."""

from __future__ import annotations

import argparse
import os
import shlex

from IPython.core.magic import Magics, line_magic, magics_class

from ... import runtime
from ...config import scope_for
from ...errors import display_path
from .notebook_session import NotebookSession

USAGE = """\
%hmr_ast status             watched modules, the last errors, the mode
%hmr_ast live [off]         apply edits at once (off: just before the next cell, the default)
%hmr_ast quiet [off]        no line per reload (errors are still shown)
%hmr_ast verbose [off]      explain every decision
%hmr_ast graph [--names] [--mermaid | --dot]
                            the dependency graph: SVG with Graphviz, else Mermaid
%hmr_ast impact FILE...     what an edit to FILE would rerun
%hmr_ast scope [--include GLOB]... [--exclude GLOB]...
                            which files are the project's (as hmr-ast run's flags;
                            a glob starting with ./ or ../ is relative to this folder)"""


class UsageError(Exception):
    """A mistyped %hmr_ast line: its message says what to type instead."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # argparse would exit the kernel
        raise UsageError(f"{self.prog}: {message}")


def _anchored(glob: str) -> str:
    """``../src/*`` as the absolute glob it means here: a relative glob only matches files
    under the working directory (``ProjectScope``), and a notebook's package often sits
    beside its folder."""
    if glob.startswith(("./", "../")) or glob in (".", ".."):
        return os.path.join(os.path.abspath(os.path.dirname(glob) or "."), os.path.basename(glob))
    return glob


@magics_class
class HmrAstMagics(Magics):
    def __init__(self, shell, session: NotebookSession) -> None:
        super().__init__(shell)
        self.session = session

    @line_magic
    def hmr_ast(self, line: str) -> None:
        """Control hmr-ast's hot reload (type ``%hmr_ast help``)."""
        try:
            words = shlex.split(line)
        except ValueError as error:
            print(f"%hmr_ast: {error}")
            return
        command, arguments = (words[0], words[1:]) if words else ("status", [])
        handler = getattr(self, f"_{command.replace('-', '_')}", None)
        if handler is None or command.startswith("_"):
            print(f"%hmr_ast: unknown command {command!r}\n{USAGE}")
            return
        try:
            handler(arguments)
        except UsageError as error:
            print(f"{error}\n{USAGE}")

    # --- switches ------------------------------------------------------------------------

    def _switch(self, name: str, arguments: list[str]) -> bool:
        if arguments not in ([], ["on"], ["off"]):
            raise UsageError(f"%hmr_ast {name}: say {name}, {name} on or {name} off")
        return arguments != ["off"]

    def _live(self, arguments: list[str]) -> None:
        self.session.live = self._switch("live", arguments)
        if self.session.live:
            print("[hmr-ast] live: edits apply as soon as they are saved")
        else:
            print("[hmr-ast] edits apply just before the next cell runs")

    def _quiet(self, arguments: list[str]) -> None:
        self.session.quiet = self._switch("quiet", arguments)

    def _verbose(self, arguments: list[str]) -> None:
        self.session.set_verbosity(1 if self._switch("verbose", arguments) else 0)

    def _help(self, arguments: list[str]) -> None:
        print(USAGE)

    # --- questions -----------------------------------------------------------------------

    def _status(self, arguments: list[str]) -> None:
        session = self.session
        mode = "live (at once)" if session.live else "just before the next cell"
        quiet = ", quiet" if session.quiet else ""
        print(f"hmr-ast: edits apply {mode}{quiet}; {session.reloads} reloads so far")
        if session.last_reload:
            print(f"last: {session.last_reload}")
        roots = ", ".join(display_path(root) or "." for root in session.scope.roots)  # type: ignore[union-attr]
        print(f"project: files under {roots}")
        loaded = sorted(
            (name, record.path)
            for name, record in list(runtime.records.items())
            if record.namespace is not None
        )
        if loaded:
            width = max(len(name) for name, _ in loaded)
            print(f"watched modules ({len(loaded)}):")
            for name, path in loaded:
                mark = "  (taken over)" if name in session.taken_over else ""
                print(f"  {name:<{width}}  {display_path(path)}{mark}")
        else:
            print("watched modules: none yet (import one)")
        failed = session.engine.failed
        if failed:
            print("last errors (these modules keep their previous version):")
            for name in sorted(failed):
                print(f"  {name}: {session.last_errors.get(name) or failed[name]}")
        else:
            print("last errors: none")

    def _graph(self, arguments: list[str]) -> None:
        from .graph_display import show_graph

        parser = _Parser(prog="%hmr_ast graph", add_help=False)
        parser.add_argument("--names", action="store_true")
        style = parser.add_mutually_exclusive_group()
        style.add_argument("--mermaid", dest="style", action="store_const", const="mermaid")
        style.add_argument("--dot", dest="style", action="store_const", const="dot")
        options = parser.parse_args(arguments)
        rich = "text/markdown" in self.shell.display_formatter.active_types
        show_graph(self.session.engine, options.names, options.style or "auto", rich)

    def _impact(self, arguments: list[str]) -> None:
        from .impact_report import impact_lines

        if not arguments:
            raise UsageError("%hmr_ast impact: name the file(s) an edit would change")
        print("\n".join(impact_lines(arguments, self.session.scope)))  # type: ignore[arg-type]

    def _scope(self, arguments: list[str]) -> None:
        parser = _Parser(prog="%hmr_ast scope", add_help=False)
        parser.add_argument("--include", action="append", default=[], metavar="GLOB")
        parser.add_argument("--exclude", action="append", default=[], metavar="GLOB")
        options = parser.parse_args(arguments)
        if options.include or options.exclude:
            include = [_anchored(glob) for glob in options.include]
            exclude = [_anchored(glob) for glob in options.exclude]
            scope = scope_for([os.getcwd()], include, exclude)
            self.session.set_scope(scope)
        scope = self.session.scope
        print(f"project: files under {', '.join(scope.roots)}")  # type: ignore[union-attr]
        print(f"  also (--include): {', '.join(scope.include) or 'nothing'}")  # type: ignore[union-attr]
        print(f"  never (--exclude): {', '.join(scope.exclude) or 'nothing'}")  # type: ignore[union-attr]
