"""Which files are the project's: the entry's folder, changed by ``[tool.hmr-ast]`` and flags."""

from __future__ import annotations

import os
import sys

from .finder import ProjectScope


def _pyproject_settings(start: str) -> dict:
    directory = os.path.abspath(start)
    while True:
        candidate = os.path.join(directory, "pyproject.toml")
        if os.path.isfile(candidate):
            if sys.version_info >= (3, 11):
                import tomllib
            else:  # pragma: no cover - exercised on 3.10 only
                import tomli as tomllib
            try:
                with open(candidate, "rb") as file:
                    return tomllib.load(file).get("tool", {}).get("hmr-ast", {})
            except (OSError, ValueError) as error:
                sys.stderr.write(f"[hmr-ast] ignoring {candidate}: {error}\n")
                return {}
        parent = os.path.dirname(directory)
        if parent == directory:
            return {}
        directory = parent


def scope_for(roots: list[str], include: list[str] = (), exclude: list[str] = ()) -> ProjectScope:
    """The project scope for ``roots``, with pyproject settings and command-line globs."""
    settings = _pyproject_settings(roots[0])
    return ProjectScope(
        roots,
        include=[*settings.get("include", ()), *include],
        exclude=[*settings.get("exclude", ()), *exclude],
    )
