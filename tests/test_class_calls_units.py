"""``class_calls``: what a call runs of a class's code, member by member."""

from __future__ import annotations

import sys
import types

import pytest

from hmr_ast.class_calls import CONSTRUCTION, CallReach, changed_members, entry_members

pytestmark = pytest.mark.core

MODEL = """
import json


class Model:
    LIMIT = 5

    def __init__(self):
        self.scale = self._default()

    def _default(self):
        return 2

    @classmethod
    def load(cls):
        return cls()

    def predict(self, x):
        return x * self.scale

    def describe(self):
        return json.dumps({"limit": self.LIMIT, **SETTINGS})


SETTINGS = {"unit": "m"}


class Pipeline:
    def __init__(self):
        self.model = make()

    def run(self):
        return self.model.predict(2)


def make():
    return Model()


HANDLERS = []


def hello():
    return "hello"


def run_all():
    return [handler() for handler in HANDLERS]


class Rule:
    def __call__(self, value):
        return bool(value)


def check(rules, value):
    return all(rule(value) for rule in rules)
"""


@pytest.fixture
def module():
    """The code above as the project module ``units_model``."""
    name = "units_model"
    mod = types.ModuleType(name)
    sys.modules[name] = mod
    exec(compile(MODEL, f"{name}.py", "exec"), vars(mod))
    mod.HANDLERS.append(mod.hello)
    yield mod
    del sys.modules[name]


def reach(module, starts, held=(), members=None, patched=()):
    """What ``starts`` run, with ``members`` (class -> edited names) patched."""
    edited = {id(cls): frozenset(names) for cls, names in (members or {}).items()}
    return CallReach(
        lambda name: name == module.__name__, edited, {id(obj) for obj in patched}
    ).run(starts, held)


def test_making_a_model_runs_its_construction_not_its_other_methods(module):
    Model = module.Model
    assert reach(module, [(Model, "load")], members={Model: {"predict"}}).hit is None
    assert reach(module, [(Model, "load")], members={Model: {"_default"}}).hit == (
        "Model._default"  # load -> cls() -> __init__ -> self._default()
    )
    assert reach(module, [(Model, n) for n in CONSTRUCTION], members={Model: {"__init__"}}).hit


def test_a_method_reaches_what_it_names_and_globals_are_left_to_the_graph(module):
    Model = module.Model
    found = reach(module, [(Model, "describe")], members={Model: {"predict"}})
    assert found.hit is None
    assert ("units_model", "SETTINGS") in found.globals  # data: what made it may change
    assert not any(name == "json" for _, name in found.globals)  # not project code


def test_an_object_an_instance_holds_is_at_hand(module):
    """``PIPE.run()`` calls ``predict`` on the model ``PIPE`` holds: made before, found by
    walking the instance."""
    Model, pipe = module.Model, module.Pipeline.__new__(module.Pipeline)
    pipe.model = Model.__new__(Model)
    found = reach(module, [(module.Pipeline, "run")], held=[pipe], members={Model: {"predict"}})
    assert found.hit == "Model.predict"


def test_an_object_another_function_makes_is_in_play(module):
    """``factory.make().predict()``: ``make`` makes the Model; ``predict`` is named by the
    caller: methods are found by name across every class in play."""
    Model = module.Model
    caller = types.FunctionType(
        compile("def first():\n    return make().predict(1)\n", "units_model.py", "exec").co_consts[
            0
        ],
        vars(module),
    )
    found = reach(module, [(caller, "")], members={Model: {"predict"}})
    assert found.hit == "Model.predict"


def test_a_callback_held_in_a_registry_is_followed(module):
    found = reach(module, [(module.run_all, "")], patched=[module.hello])
    assert found.hit == "hello"


def test_an_edited_dunder_runs_wherever_an_instance_is_at_hand(module):
    """``check(RULES, v)`` calls each rule through a local name: no code names ``__call__``."""
    Rule = module.Rule
    found = reach(module, [(module.check, "")], held=[[Rule()]], members={Rule: {"__call__"}})
    assert found.hit == "Rule.__call__"
    assert reach(module, [(module.check, "")], members={Rule: {"__call__"}}).hit is None


def test_entry_members_name_what_a_call_runs(module):
    Model = module.Model
    assert entry_members(Model, ()) == (Model, CONSTRUCTION)
    assert entry_members(Model, ("load",)) == (Model, frozenset({"load"}))
    instance = Model.__new__(Model)
    assert entry_members(instance, ("predict",)) == (Model, frozenset({"predict"}))
    assert entry_members(instance, ()) == (Model, frozenset({"__call__"}))
    assert entry_members(Model, ("a", "b")) is None


def test_changed_members_are_code_and_data_not_pythons_bookkeeping():
    namespace: dict = {}

    def define(source: str) -> type:  # as a statement rerun makes it: in the same module
        exec(source, namespace)
        return namespace["A"]

    old = define("class A:\n    X = 1\n    def f(self):\n        return 1\n")
    assert changed_members(
        old, define("class A:\n    X = 2\n    def f(self):\n        return 1\n")
    ) == {"X"}
    assert changed_members(
        old, define("class A:\n    X = 1\n    def f(self):\n        return 2\n")
    ) == {"f"}
    assert changed_members(
        old,
        define(
            "class A:\n    X = 1\n    def f(self):\n        return 1\n"
            "    def __eq__(self, o):\n        return True\n"
        ),
    ) == {"__eq__"}
    old.__slotnames__ = []  # what copy caches
    assert (
        changed_members(old, define("class A:\n    X = 1\n    def f(self):\n        return 1\n"))
        == set()
    )
