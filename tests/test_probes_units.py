"""The probes ``hmr-ast pytest`` puts in project functions: no line of their own, the
docstring kept, one key per function as ``rerun_selection.code_key`` names its code."""

from __future__ import annotations

import ast
import sys

import pytest

from hmr_ast.integrations.pytest.probed_code import PROBE_NAME, _Probes, key

pytestmark = pytest.mark.core

SOURCE = '''
def f(x):
    """Doc."""
    y = x + 1
    return y


def g():
    """Only a doc."""


class C:
    def method(self):
        def inner():
            return 1
        return inner()


async def h():
    return 2
'''


def compiled(probes: bool) -> dict:
    tree = ast.parse(SOURCE)
    if probes:
        _Probes("units.py").visit(tree)
    namespace: dict = {}
    exec(compile(tree, "units.py", "exec"), namespace)
    return namespace


def lines(code) -> set[int]:
    found = {line for _, _, line in code.co_lines() if line is not None}
    for const in code.co_consts:
        if hasattr(const, "co_lines"):
            found |= lines(const)
    return found


def test_probes_add_no_line_and_keep_the_docstring() -> None:
    plain, probed = compiled(False), compiled(True)
    for name in ("f", "g", "h"):
        assert lines(probed[name].__code__) == lines(plain[name].__code__), name
        assert probed[name].__doc__ == plain[name].__doc__
    method = vars(probed["C"])["method"]
    assert lines(method.__code__) == lines(vars(plain["C"])["method"].__code__)


def test_each_function_that_runs_records_its_key(monkeypatch) -> None:
    import builtins

    ran: dict = {}
    monkeypatch.setattr(builtins, PROBE_NAME, ran, raising=False)
    namespace = compiled(True)
    namespace["f"](1)
    namespace["C"]().method()
    qualified = sys.version_info >= (3, 11)  # code_key: co_qualname, or co_name on 3.10
    assert set(ran) == {
        key("units.py", "f"),
        key("units.py", "C.method" if qualified else "method"),
        key("units.py", "C.method.<locals>.inner" if qualified else "inner"),
    }
