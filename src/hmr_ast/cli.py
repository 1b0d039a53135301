"""Command line: ``hmr-ast run app.py``, ``hmr-ast run -m pkg.mod``, ``hmr-ast demo``.

Nothing heavy is imported here: the user's program starts as fast as it can.
"""

from __future__ import annotations

import sys
from types import SimpleNamespace

from . import __version__

USAGE = """\
hmr-ast [run] [-v | -q] [--include GLOB] [--exclude GLOB] [--graph-out FILE]
               (SCRIPT | -m MODULE) [ARGS...]
       hmr-ast graph (SCRIPT | -m MODULE) [--dot | --json | --mermaid] [--names] [--runtime]
       hmr-ast impact (SCRIPT | -m MODULE) FILE [FILE...] [--json]
       hmr-ast demo | uvicorn MODULE:ATTR | pytest [ARGS...]
       hmr-ast flask [FLASK ARGS...] | django [MANAGE.PY ARGS...]"""

DESCRIPTION = """\
Run a Python program and keep it hot: when a file changes, rerun only the modules the edit
affects, deepest first, the entry last, inside the same process."""


def _run_parser():
    import argparse

    parser = argparse.ArgumentParser(prog="hmr-ast", usage=USAGE, description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"hmr-ast {__version__}")
    loudness = parser.add_mutually_exclusive_group()
    loudness.add_argument("-v", "--verbose", action="store_true", help="explain every decision")
    loudness.add_argument("-q", "--quiet", action="store_true", help="print nothing of our own")
    parser.add_argument(
        "--include",
        action="append",
        default=[],
        metavar="GLOB",
        help="also instrument files matching GLOB (outside the entry's folder)",
    )
    parser.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="GLOB",
        help="never instrument files matching GLOB",
    )
    parser.add_argument(
        "--graph-out",
        metavar="FILE",
        help="keep FILE (JSON) up to date with the dependency graph the program recorded",
    )
    parser.add_argument("-m", dest="module", metavar="MODULE", help="run a module, as python -m")
    return parser


def _split(argv: list[str]) -> tuple[list[str], list[str]]:
    """Our options come before the script (or ``-m MODULE``); the rest is the program's."""
    ours: list[str] = []
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "-m":
            return ours + argv[index : index + 2], argv[index + 2 :]
        if arg in ("--include", "--exclude", "--graph-out"):
            ours += argv[index : index + 2]
            index += 2
            continue
        if arg.startswith("-") and arg != "-":
            ours.append(arg)
            index += 1
            continue
        return ours, argv[index:]
    return ours, []


# Subcommands other than ``run``: name -> "module:function", imported only when used.
# Each function takes the remaining arguments and returns the exit code.
SUBCOMMANDS = {
    "demo": "hmr_ast.demo:run_demo",
    "django": "hmr_ast.integrations.django_command:main",
    "flask": "hmr_ast.integrations.flask_command:main",
    "graph": "hmr_ast.graph_cli:graph_main",
    "impact": "hmr_ast.graph_cli:impact_main",
    "pytest": "hmr_ast.integrations.pytest.plugin:main",
    "uvicorn": "hmr_ast.integrations.uvicorn_command:main",
}


def _subcommand(name: str):
    import importlib

    module, function = SUBCOMMANDS[name].split(":")
    return getattr(importlib.import_module(module), function)


_VALUED = {
    "--include": "include",
    "--exclude": "exclude",
    "--graph-out": "graph_out",
    "-m": "module",
}


def _parse_plain(ours: list[str]) -> SimpleNamespace | None:
    """The usual options without argparse, whose import (``re``, ``gettext``, ``shutil``...)
    costs the user's start-up ~8 ms; None for anything else (help, mistakes), which
    argparse then handles."""
    options = SimpleNamespace(
        verbose=False, quiet=False, include=[], exclude=[], graph_out=None, module=None
    )
    index = 0
    while index < len(ours):
        arg = ours[index]
        if arg in ("-v", "--verbose"):
            options.verbose = True
        elif arg in ("-q", "--quiet"):
            options.quiet = True
        elif arg in _VALUED and index + 1 < len(ours):
            index += 1
            field = _VALUED[arg]
            if field in ("include", "exclude"):
                getattr(options, field).append(ours[index])
            else:
                setattr(options, field, ours[index])
        else:
            return None
        index += 1
    return None if options.verbose and options.quiet else options


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv and argv[0] in SUBCOMMANDS:
        return _subcommand(argv[0])(argv[1:])
    if argv and argv[0] == "run":
        argv = argv[1:]
    ours, rest = _split(argv)
    options = _parse_plain(ours) or _run_parser().parse_args(ours)
    if options.module is None and not rest:
        _run_parser().error("give a script to run, or -m MODULE")
    from .config import scope_for
    from .session import Entry, Session

    if options.module is not None:
        entry, args = Entry(module=options.module), rest
        import os

        roots = [os.getcwd()]
    else:
        import os

        entry, args = Entry(path=rest[0]), rest[1:]
        if not os.path.isfile(rest[0]):
            sys.stderr.write(f"hmr-ast: can't open file {rest[0]!r}: no such file\n")
            return 2
        roots = [os.path.dirname(os.path.realpath(rest[0]))]
    scope = scope_for(roots, options.include, options.exclude)
    verbosity = 1 if options.verbose else -1 if options.quiet else 0
    session = Session(entry, args, scope, verbosity)
    if options.graph_out:
        from .graph_out import GraphWriter

        GraphWriter(session, options.graph_out).attach()
    code = session.run()
    _exit_now(code)
    return code


def _exit_now(code: int) -> None:
    """Ctrl-C ends hmr-ast at once: run atexit handlers (coverage and friends save their
    data), flush, and leave without waiting for threads the program left running."""
    import atexit
    import os

    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    os._exit(code)
