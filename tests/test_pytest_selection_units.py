"""The pure parts of choosing which tests rerun: what a patch in place changed, whether a
test's definition is the same, and which class members a test can use (no process, ~10 ms)."""

from __future__ import annotations

import datetime
import decimal

from hmr_ast.integrations.pytest.patched_code import changed_code, shape
from hmr_ast.integrations.pytest.test_definitions import class_members, same_data
from hmr_ast.patching import patch_class, patch_function


def _define(source: str, name: str) -> object:
    namespace: dict = {"__name__": "units"}
    exec(compile(source, "units.py", "exec"), namespace)
    return namespace[name]


SHAPE = """
class Shape:
    SIDES = 4

    def area(self):
        return [n for n in range(3)]

    def name(self):
        return "shape"
"""


def test_a_method_body_edit_is_a_change_of_that_methods_code_only() -> None:
    old = _define(SHAPE, "Shape")
    area = vars(old)["area"].__code__
    before = shape(old)
    patch_class(old, _define(SHAPE.replace("range(3)", "range(4)"), "Shape"))
    changed = changed_code(before, shape(old))
    assert changed is not None and area in changed
    assert vars(old)["name"].__code__ not in changed  # re-made, but the same code
    assert all(code is area or code in area.co_consts for code in changed)  # and nested


def test_a_changed_class_attribute_leaves_the_decision_to_the_static_reads() -> None:
    old = _define(SHAPE, "Shape")
    before = shape(old)
    patch_class(old, _define(SHAPE.replace("SIDES = 4", "SIDES = 5"), "Shape"))
    assert changed_code(before, shape(old)) is None


def test_a_new_docstring_leaves_the_decision_to_the_static_reads() -> None:
    old = _define("def f():\n    return 1\n", "f")
    before = shape(old)
    patch_function(old, _define('def f():\n    """Doc."""\n    return 1\n', "f"))
    assert changed_code(before, shape(old)) is None


def test_a_function_body_edit_is_a_change_of_its_code() -> None:
    old = _define("def f():\n    return 1\n", "f")
    code = old.__code__
    before = shape(old)
    patch_function(old, _define("def f():\n    return 2\n", "f"))
    assert changed_code(before, shape(old)) == {code}


def test_equal_plain_and_standard_values_are_the_same_data_and_objects_are_not() -> None:
    assert same_data(
        (datetime.time(1, 2), "a", [decimal.Decimal("1.0")], {"k": (1, None)}),
        (datetime.time(1, 2), "a", [decimal.Decimal("1.0")], {"k": (1, None)}),
    )
    assert not same_data(decimal.Decimal("1.0"), decimal.Decimal("1.00"))
    assert not same_data(object(), object())


def test_a_test_can_use_the_members_it_names_and_what_they_name_not_its_siblings() -> None:
    cls = _define(
        "class TestX:\n"
        "    def helper(self):\n        return self.deeper()\n"
        "    def deeper(self):\n        return 1\n"
        "    def unused(self):\n        return 2\n"
        "    def setup_method(self):\n        pass\n"
        "    def test_a(self):\n        assert self.helper()\n"
        "    def test_b(self):\n        assert getattr(self, 'unused')()\n",
        "TestX",
    )
    names = set(class_members(cls, vars(cls)["test_a"]))
    assert {"helper", "deeper", "setup_method"} <= names
    assert not names & {"unused", "test_b"}
    assert "unused" in class_members(cls, vars(cls)["test_b"])  # named as a string


GENERIC = """
import copy
import typing

T = typing.TypeVar("T")


class Field(typing.Generic[T]):
    pass


class String(Field[str]):
    def serialize(self, value):
        return str(value)


copy.copy(String())  # copy caches __slotnames__ in the class
"""


def test_a_generic_class_takes_a_method_edit_in_place_as_a_change_of_code_only() -> None:
    """``typing.Generic``'s ``__init_subclass__`` records nothing elsewhere, and the data
    dunders Python remakes with the class (``__orig_bases__``, ``__parameters__``,
    ``__slotnames__``) are not edits: marshmallow's fields are such classes."""
    from hmr_ast.class_calls import changed_members
    from hmr_ast.patching import can_patch_class

    namespace: dict = {"__name__": "units"}
    exec(compile(GENERIC, "units.py", "exec"), namespace)
    old = namespace["String"]
    statement = GENERIC[GENERIC.index("class String") : GENERIC.index("copy.copy")]
    exec(compile(statement.replace("str(value)", "repr(value)"), "units.py", "exec"), namespace)
    new = namespace["String"]  # made again by its statement alone, as a rerun makes it
    assert can_patch_class(old, new)
    assert changed_members(old, new) == {"serialize"}
    serialize = vars(old)["serialize"].__code__
    before = shape(old)
    patch_class(old, new)
    assert changed_code(before, shape(old)) == {serialize}
