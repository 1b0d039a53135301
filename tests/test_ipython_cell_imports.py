"""Which names a cell took with ``from m import X``: the ones hmr-ast rebinds after a reload."""

from __future__ import annotations

from hmr_ast.integrations.ipython.cell_imports import from_imports


def test_top_level_from_imports_are_found_with_their_bound_names() -> None:
    cell = "from a import X as Y, Z\nfrom pkg.mod import *\n"
    assert from_imports(cell) == [("Y", "a", "X"), ("Z", "a", "Z"), ("*", "pkg.mod", "*")]


def test_imports_under_if_try_and_with_bind_names_too() -> None:
    cell = (
        "if True:\n    from a import A\n"
        "try:\n    from b import B\nexcept ImportError:\n    from c import B\n"
        "with open(__file__):\n    from d import D\n"
    )
    found = sorted(from_imports(cell))
    assert found == [("A", "a", "A"), ("B", "b", "B"), ("B", "c", "B"), ("D", "d", "D")]


def test_imports_in_functions_classes_and_relative_ones_are_not_the_notebooks() -> None:
    cell = "def f():\n    from a import X\nclass K:\n    from b import Y\nfrom . import rel\n"
    assert from_imports(cell) == []


def test_a_cell_with_top_level_await_or_a_syntax_error_is_read_or_skipped() -> None:
    assert from_imports("import asyncio\nawait asyncio.sleep(0)\nfrom a import X\n") == [
        ("X", "a", "X")
    ]
    assert from_imports("from a import (\n") == []
