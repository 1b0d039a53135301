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


def test_a_name_a_star_imported_module_starts_exporting_comes_into_the_notebook() -> None:
    """``from m import *`` ran in a cell; ``m`` then defines ``NEW``: a fresh run of the
    cells would bind it, so the notebook gets it (it did not: only the names the import
    gave at the time were tracked). A name a cell bound itself is left alone."""
    import sys
    import types

    from hmr_ast.integrations.ipython.cell_imports import CellImports

    module = types.ModuleType("star_source")
    module.OLD = 1
    sys.modules["star_source"] = module
    try:
        namespace = {"OLD": 1, "MINE": "mine"}
        imports = CellImports(namespace)
        imports.scan(["from star_source import *"], also={"star_source"})
        module.NEW = 2
        module.MINE = "theirs"
        rebound, removed = imports.rebind({"star_source": {"NEW", "MINE"}})
        assert (rebound, removed) == (["NEW"], [])
        assert namespace == {"OLD": 1, "MINE": "mine", "NEW": 2}
    finally:
        del sys.modules["star_source"]
