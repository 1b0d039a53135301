"""BENCHMARKS.md is shared: each benchmark script owns one ``## `` section of it and
replaces only that one (the generated block of ``bench.py`` sits between HTML markers)."""

from __future__ import annotations

import re
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parent.parent / "BENCHMARKS.md"


def write_section(section: str, text: str, kept: tuple[str, ...] = ()) -> None:
    """Replace (or add at the end) the section headed ``section`` with ``text``, keeping the
    ``### `` subsections of the old one whose headings start with one of ``kept`` (the
    hand-written notes a new run must not lose); every other section is someone else's."""
    current = BENCHMARKS.read_text() if BENCHMARKS.exists() else "# Benchmarks\n"
    start = current.find(section)
    if start < 0:
        BENCHMARKS.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = current.find("\n## ", start + len(section))
    ours = current[start:end] if end >= 0 else current[start:]
    parts = [
        part if part.endswith("\n") else part + "\n"
        for part in re.split(r"(?m)^(?=### )", ours)
        if kept and part.startswith(kept)
    ]
    if parts:
        text = text.rstrip("\n") + "\n\n" + "\n".join(parts)
    rest = current[end + 1 :] if end >= 0 else ""
    BENCHMARKS.write_text(current[:start] + text + ("\n" + rest if rest else ""))
