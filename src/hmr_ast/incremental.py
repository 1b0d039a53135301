"""An edit to a few statements of a big module: parse and analyse only those statements.

Instrumenting a whole 5,000-line module costs over 100 ms (parse, facts, rewrite, compile);
an edit to one function there must cost a few. The statements before and after the edited
region are recognised by their text (the fingerprints of the last run, at their old lines
and at their lines shifted by the edit); only the region between them is parsed. The result
is what a statement-level rerun needs: the module's statement facts with the region's
replaced, and the region's statements as trees. The whole module is instrumented (and
cached) again only if a rerun has to run all of it.

Where the region does not parse on its own, or holds a ``__future__`` import, the caller
instruments the whole file as usual (and reports its syntax error, with file and line).
"""

from __future__ import annotations

import ast

from . import static
from .bytecode import summarize

#: Past this share of the file, parsing the region saves too little to be worth it.
_MAX_SHARE = 0.5


def _shifted(unit: tuple, shift: int) -> tuple:
    return (
        unit[static.FIRST] + shift,
        unit[static.LAST] + shift,
        *unit[static.LAST + 1 :],
    )


def quick_load(meta: dict, path: str, data: bytes, digest: bytes) -> tuple | None:
    """``(None, meta, digest, data, nodes)`` for the edited ``data`` of a module whose last
    run's facts are ``meta``: ``nodes`` maps the new statement indices of the edited region to
    their trees. None when the whole file must be instrumented instead."""
    facts = meta.get("static")
    if not facts or "lines" not in facts or not meta.get("splittable"):
        return None
    units = facts["units"]
    spans = meta.get("statements", ())
    if len(spans) != len(units):
        return None
    lines = data.splitlines()
    shift = len(lines) - facts["lines"]
    prefix = 0
    while (
        prefix < len(units)
        and units[prefix][static.LAST] <= len(lines)
        and static.fingerprint(lines, units[prefix][static.FIRST], units[prefix][static.LAST])
        == units[prefix][static.PRINT]
    ):
        prefix += 1
    prefix_end = units[prefix - 1][static.LAST] if prefix else 0
    suffix = len(units)
    while suffix > prefix:
        unit = units[suffix - 1]
        first, last = unit[static.FIRST] + shift, unit[static.LAST] + shift
        if first <= prefix_end or static.fingerprint(lines, first, last) != unit[static.PRINT]:
            break
        suffix -= 1
    start = prefix_end + 1
    end = units[suffix][static.FIRST] + shift - 1 if suffix < len(units) else len(lines)
    if end - start + 1 > _MAX_SHARE * max(len(lines), 1):
        return None
    region = b"\n".join(lines[start - 1 : end])
    try:
        tree = ast.parse(region)
    except (SyntaxError, ValueError):
        return None
    removed = units[prefix:suffix]
    if any(isinstance(s, (ast.Import, ast.ImportFrom)) for s in tree.body) or any(
        unit[static.IMPORT] or "__all__" in unit[static.BINDS] for unit in removed
    ):
        return None  # what imports bind and __all__ are module-wide facts: made whole
    if any("__all__" in static.bound_names(s) for s in tree.body):
        return None
    ast.increment_lineno(tree, start - 1)
    postponed = static.annotations_postponed(facts.get("futures", ()))
    new_units = static.statement_facts(tree.body, postponed, lines)
    flags = 0
    if "annotations" in facts.get("futures", ()):
        import __future__

        flags = __future__.annotations.compiler_flag
    region_code = compile(tree, path, "exec", flags=flags, dont_inherit=True)
    summary = summarize(region_code)
    # What calling the region's functions returns (impact's plain values): theirs replace
    # those of the statements the edit removed.
    returns, class_attributes = static.callables(tree.body)
    region_facts = {"returns": returns}
    static.settle_returns(region_facts, region_code)
    gone = {name for unit in removed for name in unit[static.BINDS]}
    kept_returns = {
        key: value
        for key, value in facts.get("returns", {}).items()
        if key.split(".")[0] not in gone
    }
    kept_attributes = {
        key: value
        for key, value in facts.get("class_attributes", {}).items()
        if key.split(".")[0] not in gone
    }
    old_end = units[suffix][static.FIRST] - 1 if suffix < len(units) else facts["lines"]
    functions = {}
    for (name, line), chains in meta.get("functions", {}).items():
        if line < start:
            functions[(name, line)] = chains
        elif line > old_end:
            functions[(name, line + shift)] = chains
    functions.update(summary["functions"])
    new_meta = dict(meta)
    new_meta.update(
        static={
            **facts,
            "units": (
                *units[:prefix],
                *new_units,
                *(_shifted(unit, shift) for unit in units[suffix:]),
            ),
            "lines": len(lines),
            "returns": {**kept_returns, **region_facts["returns"]},
            "class_attributes": {**kept_attributes, **class_attributes},
        },
        statements=(
            *spans[:prefix],
            *((s.lineno, s.end_lineno or s.lineno) for s in tree.body),
            *((first + shift, last + shift) for first, last in spans[suffix:]),
        ),
        refs=meta.get("refs", frozenset()) | summary["refs"],
        functions=functions,
        global_stores=meta.get("global_stores", frozenset()) | summary["global_stores"],
        dynamic=meta.get("dynamic", False) or summary["dynamic"],
        splittable=summary["splittable"],
        imports=tuple(dict.fromkeys((*meta.get("imports", ()), *summary["imports"]))),
        suspect=meta.get("suspect", False) or summary["suspect"],
    )
    nodes = {prefix + offset: stmt for offset, stmt in enumerate(tree.body)}
    return (None, new_meta, digest, data, nodes)
