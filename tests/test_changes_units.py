"""When a rerun re-creates a value, does it count as the same one? (``hmr_ast.changes``)"""

from __future__ import annotations

import sys
import textwrap
import types

import pytest

from hmr_ast.changes import adopt_new_code, same_code, same_value

pytestmark = pytest.mark.core


@pytest.fixture
def module(monkeypatch):
    """A real module in ``sys.modules``, as the engine reruns one: same globals each run."""
    module = types.ModuleType("changes_subject")
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def run(module: types.ModuleType, source: str) -> dict:
    """Execute ``source`` in ``module`` (as a rerun does) and return what it bound."""
    exec(compile(textwrap.dedent(source), "changes_subject.py", "exec"), module.__dict__)
    return dict(module.__dict__)


def runs(module: types.ModuleType, old: str, new: str, name: str) -> tuple[object, object]:
    """``name`` as bound by a run of ``old`` and then by a rerun of ``new``."""
    return run(module, old)[name], run(module, new)[name]


def code_of(source: str, name: str = "f") -> types.CodeType:
    namespace: dict = {}
    exec(textwrap.dedent(source), namespace)
    return namespace[name].__code__


# --- plain values --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "old, new",
    [
        (1000, 999 + 1),
        ("max " + "size", "max size"),
        (b"ab", bytes([97, 98])),
        (0.5, 1 / 2),
        (float("nan"), float("nan")),
        (None, None),
        ((1, ("a", 2.0)), (1, ("a", 2.0))),
        (frozenset({1, 2}), frozenset({2, 1})),
        (1j, complex(0, 1)),
    ],
)
def test_equal_plain_immutable_values_are_the_same(old, new):
    assert same_value(old, new)


@pytest.mark.parametrize(
    "old, new",
    [
        (1, 1.0),
        (1, True),
        (0, False),
        ("1", 1),
        ((1, 2), (1, 3)),
        ((1, [2]), (1, [2])),
        ([1], [1]),
        ({"a": 1}, {"a": 1}),
        (frozenset({1}), frozenset({1, 2})),
    ],
)
def test_other_values_count_as_changed(old, new):
    assert not same_value(old, new)


def test_the_same_object_is_always_the_same():
    shared = {"mutable": [1]}
    assert same_value(shared, shared)


# --- functions -----------------------------------------------------------------------------


FUNCTION = '''
def f(x, y=(1, 'a'), *, z=None):
    """Adds."""
    return x + len(y) + (z or 0)
'''


def test_function_shifted_down_the_file_is_the_same(module):
    old, new = runs(module, FUNCTION, "# a comment\n\n\n" + FUNCTION, "f")
    assert old.__code__.co_firstlineno + 3 == new.__code__.co_firstlineno
    assert same_code(old.__code__, new.__code__)
    assert same_value(old, new)


def test_function_with_a_changed_docstring_is_changed(module):
    old, new = runs(module, FUNCTION, FUNCTION.replace("Adds.", "Adds up."), "f")
    assert not same_value(old, new)


def test_function_with_a_changed_body_is_changed(module):
    old, new = runs(module, FUNCTION, FUNCTION.replace("x + len", "x - len"), "f")
    assert not same_code(old.__code__, new.__code__)
    assert not same_value(old, new)


def test_function_with_a_changed_constant_is_changed(module):
    old, new = runs(module, "def f():\n    return 1\n", "def f():\n    return 2\n", "f")
    assert not same_value(old, new)


def test_function_with_a_changed_default_is_changed(module):
    old, new = runs(module, FUNCTION, FUNCTION.replace("(1, 'a')", "(1, 'b')"), "f")
    assert same_code(old.__code__, new.__code__)
    assert not same_value(old, new)


def test_function_with_a_changed_keyword_default_is_changed(module):
    old, new = runs(module, FUNCTION, FUNCTION.replace("z=None", "z=0"), "f")
    assert not same_value(old, new)


def test_function_with_changed_annotations_is_changed(module):
    old, new = runs(module, "def f(x: int): pass\n", "def f(x: str): pass\n", "f")
    assert not same_value(old, new)


def test_function_with_changed_attributes_is_changed(module):
    source = "def f(): pass\nf.route = '/a'\n"
    old, new = runs(module, source, source.replace("/a", "/b"), "f")
    assert not same_value(old, new)
    old, new = runs(module, source, source, "f")
    assert same_value(old, new)


CLOSURE = """
def make(value, helper):
    def f():
        return helper(value)
    return f

def double(number):
    return number * 2

f = make({value}, double)
"""


def test_closures_over_equal_values_and_same_functions_are_the_same(module):
    old, new = runs(module, CLOSURE.format(value=21), "\n" + CLOSURE.format(value=21), "f")
    assert old is not new
    assert same_value(old, new)


def test_closures_over_different_values_are_changed(module):
    old, new = runs(module, CLOSURE.format(value=21), CLOSURE.format(value=22), "f")
    assert same_code(old.__code__, new.__code__)
    assert not same_value(old, new)


def test_functions_from_different_modules_are_not_the_same():
    first, second = {}, {}
    exec(FUNCTION, first)
    exec(FUNCTION, second)
    assert not same_value(first["f"], second["f"])


def test_same_code_ignores_positions_but_not_names():
    assert same_code(code_of("def f(a):\n    return a.x\n"), code_of("\n\ndef f(a): return a.x\n"))
    assert not same_code(
        code_of("def f(a):\n    return a.x\n"), code_of("def f(a):\n    return a.y\n")
    )
    assert not same_code(code_of("def f(a):\n    return a\n"), code_of("def f(b):\n    return b\n"))
    assert not same_code(
        code_of("def f(a, b):\n    pass\n"), code_of("def f(a, *, b):\n    pass\n")
    )


def test_same_code_compares_nested_code():
    outer = "def f():\n    def inner():\n        return {value}\n    return inner\n"
    assert same_code(code_of(outer.format(value=1)), code_of("\n" + outer.format(value=1)))
    assert not same_code(code_of(outer.format(value=1)), code_of(outer.format(value=2)))


def test_same_code_tells_zero_from_negative_zero():
    # CPython's own code equality tells them apart: math.copysign(1, f()) differs.
    assert code_of("def f():\n    return 0.0\n") != code_of("def f():\n    return -0.0\n")
    assert not same_code(
        code_of("def f():\n    return 0.0\n"), code_of("def f():\n    return -0.0\n")
    )


def test_kept_function_adopts_the_new_code_and_lines(module):
    old, new = runs(module, FUNCTION, "\n\n\n\n" + FUNCTION, "f")
    adopt_new_code(old, new)
    assert old.__code__ is new.__code__
    assert old(1, z=2) == 5


# --- classes -------------------------------------------------------------------------------


CLASS = '''
class Shape:
    """A shape."""
    sides = 4
    def __init__(self, size):
        super().__init__()
        self.size = size
    def kind(self):
        return __class__.__name__
    @property
    def area(self):
        return self.size ** 2
    @classmethod
    def unit(cls):
        return cls(1)
    @staticmethod
    def describe():
        return 'shape'
'''


def test_class_recreated_from_the_same_source_is_the_same(module):
    # Methods that use super() or __class__ hold the class in a cell: the comparison recurses
    # back into the class it started from and must still end, with the right answer.
    old, new = runs(module, CLASS, "\n# moved\n" + CLASS, "Shape")
    assert same_value(old, new)


@pytest.mark.parametrize(
    "edit",
    [
        ("sides = 4", "sides = 5"),
        ("A shape.", "Any shape."),
        ("self.size ** 2", "self.size ** 3"),
        ("return cls(1)", "return cls(2)"),
        ("return 'shape'", "return 'form'"),
        ("super().__init__()", "object.__init__(self)"),
    ],
)
def test_class_with_any_member_edited_is_changed(module, edit):
    old, new = runs(module, CLASS, CLASS.replace(*edit), "Shape")
    assert not same_value(old, new)


def test_class_with_a_member_added_is_changed(module):
    old, new = runs(module, CLASS, CLASS + "    colour = 'red'\n", "Shape")
    assert not same_value(old, new)


def test_kept_class_adopts_the_new_code_of_its_methods(module):
    old, new = runs(module, CLASS, "\n\n" + CLASS, "Shape")
    adopt_new_code(old, new)
    for name in ("__init__", "kind"):
        assert vars(old)[name].__code__ is vars(new)[name].__code__
    assert vars(old)["area"].fget.__code__ is vars(new)["area"].fget.__code__
    assert vars(old)["unit"].__func__.__code__ is vars(new)["unit"].__func__.__code__
    assert old.unit().kind() == "Shape"


def test_classes_that_refer_to_each_other_compare_and_end(module):
    source = """
    class Node:
        def other(self):
            return Edge
    class Edge:
        def other(self):
            return Node
    """
    old, new = runs(module, source, "\n" + source, "Node")
    assert same_value(old, new)


def test_subclass_of_a_class_in_the_same_module_recreated_from_the_same_source_is_the_same(module):
    source = """
    class Base:
        def greet(self):
            return 'hi'
    class Child(Base):
        def greet(self):
            return super().greet() + '!'
    """
    first = run(module, source)
    second = run(module, "\n" + source)
    assert same_value(first["Base"], second["Base"])
    # The rerun made a new Base, and a new Child on top of it: the same class all the same.
    assert same_value(first["Child"], second["Child"])


DATACLASS = """
from dataclasses import dataclass, field

@dataclass
class Point:
    x: int = 0
    y: int = 0
    tags: list = field(default_factory=list)

    def norm(self):
        return abs(self.x) + abs(self.y)

@dataclass(frozen=True, order=True)
class Version:
    major: int
    minor: int = 0
"""


@pytest.mark.parametrize("name", ["Point", "Version"])
def test_dataclass_recreated_from_the_same_source_is_the_same(module, name):
    old, new = runs(module, DATACLASS, "\n# edited above\n" + DATACLASS, name)
    assert same_value(old, new)


def test_dataclass_with_a_changed_field_default_is_changed(module):
    old, new = runs(module, DATACLASS, DATACLASS.replace("y: int = 0", "y: int = 1"), "Point")
    assert not same_value(old, new)
