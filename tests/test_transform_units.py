"""``instrument_source`` and ``summarize``: same behaviour, same positions, the right facts."""

from __future__ import annotations

import builtins
import sys
import textwrap
import traceback
import types

import pytest

from hmr_ast import runtime
from hmr_ast.bytecode import summarize
from hmr_ast.changes import same_code
from hmr_ast.transform import instrument_source

pytestmark = pytest.mark.core

FILENAME = "subject.py"


@pytest.fixture
def helpers(monkeypatch):
    """The runtime helpers in builtins, with empty records (no audit hook is installed)."""
    monkeypatch.setattr(runtime, "records", {})
    monkeypatch.setattr(runtime, "_by_namespace", {})
    for name, helper in runtime.helpers().items():
        monkeypatch.setattr(builtins, name, helper, raising=False)


def source(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def instrumented(text: str) -> types.CodeType:
    return instrument_source(source(text), FILENAME)[0]


def plain(text: str) -> types.CodeType:
    return compile(source(text), FILENAME, "exec", dont_inherit=True)


def failure_positions(code: types.CodeType) -> list[tuple]:
    """Where each frame in ``subject.py`` stood when ``code`` raised (lines and columns)."""
    try:
        exec(code, {"__name__": "subject"})
    except Exception as error:
        frames = traceback.extract_tb(error.__traceback__)
    else:
        raise AssertionError("the sample was meant to raise")
    return [
        (
            frame.name,
            frame.lineno,
            getattr(frame, "end_lineno", None),
            getattr(frame, "colno", None),
            getattr(frame, "end_colno", None),
            frame.line,
        )
        for frame in frames
        if frame.filename == FILENAME
    ]


RAISING = {
    "attribute in module body": """
        import types
        ns = types.SimpleNamespace(a=1)
        value = (
            ns.a +
            ns.missing
        )
    """,
    "chained attributes": """
        import os
        length = len(os.path.sep) + os.path.nothing.real
    """,
    "after docstring and future import": '''
        """The docstring."""
        from __future__ import annotations
        x: int = 1
        raise KeyError(x)
    ''',
    "class body": """
        import os
        class Settings:
            home = os.sep
            path = os.no_such_attribute
    """,
    "decorator": """
        def register(function):
            raise ValueError(function.__name__)

        @register
        def handler():
            pass
    """,
    "default value": """
        import os
        def f(a=os.missing_default):
            return a
    """,
    "function called at import time": """
        def load():
            data = {}
            return data['key']

        CONFIG = load()
    """,
    "comprehension": """
        import math
        values = [math.floor(1 / x) for x in (1, 0)]
    """,
    "loop and with": """
        import contextlib
        for index in range(3):
            with contextlib.nullcontext() as manager:
                if index == 2:
                    raise RuntimeError(index)
    """,
    "try and delete": """
        try:
            first = 1
        finally:
            del first
        first
    """,
    "match statement": """
        match (1, 2):
            case (a, b) if a < b:
                raise ValueError(a, b)
    """,
    "walrus in an if": """
        import types
        if (found := types.SimpleNamespace()) is not None:
            found.missing
    """,
}


@pytest.mark.parametrize("name", list(RAISING))
def test_instrumented_code_fails_at_the_same_lines_and_columns(helpers, name):
    text = RAISING[name]
    expected = failure_positions(plain(text))
    assert expected, "the sample must raise inside the subject file"
    assert failure_positions(instrumented(text)) == expected


BINDING = '''
"""Module docstring."""
from __future__ import annotations
import os.path
import collections as c
from math import pi, tau as full_turn
first, (second, *rest) = 1, (2, 3, 4)
total: int = first + second
declared_only: str
counter = 0
counter += 1
for index in range(2):
    squares = [index * index for index in range(3)]
with open(os.devnull) as handle:
    pass
if (walrus := 5) > 3:
    chosen = 'big'
else:
    chosen = 'small'
try:
    raise KeyError('x')
except KeyError as error:
    caught = str(error)
match {'kind': 'point', 'x': 1}:
    case {'kind': kind, 'x': x_value}:
        matched = kind
def function(a: int = 1) -> str:
    return str(a)
async def coroutine():
    return 1
class Point:
    x: int = 0
    def norm(self) -> int:
        return abs(self.x)
temporary = 1
del temporary
'''


def namespace_after(code: types.CodeType) -> dict:
    namespace = {"__name__": "subject"}
    exec(code, namespace)
    return {k: v for k, v in namespace.items() if k != "__builtins__"}


def test_instrumented_module_binds_what_plain_code_binds(helpers):
    expected = namespace_after(plain(BINDING))
    actual = namespace_after(instrumented(BINDING))
    assert actual.keys() == expected.keys()
    assert actual["__doc__"] == "Module docstring."
    assert (
        actual["__annotations__"]
        == expected["__annotations__"]
        == {
            "total": "int",
            "declared_only": "str",
        }
    )
    for name, value in expected.items():
        if isinstance(value, (int, str, tuple, list, float)):
            assert actual[name] == value, name


def test_function_bodies_are_left_exactly_as_written(helpers):
    text = """
        import os
        def reads(path):
            return os.path.join(path, os.sep).upper()
        class Holder:
            def method(self):
                return os.path.sep
        handler = lambda value: value.attribute
    """
    expected = namespace_after(plain(text))
    actual = namespace_after(instrumented(text))
    pairs = [
        (expected["reads"], actual["reads"]),
        (expected["Holder"].method, actual["Holder"].method),
        (expected["handler"], actual["handler"]),
    ]
    for old, new in pairs:
        assert same_code(old.__code__, new.__code__)
        assert not [name for name in new.__code__.co_names if name.startswith("@")]
        assert new.__code__.co_firstlineno == old.__code__.co_firstlineno


def test_instrumented_code_records_bindings_reads_and_imports(helpers, monkeypatch):
    dependency = types.ModuleType("dependency")
    dependency.__dict__.update(VALUE=1, OTHER=2, _private=3)
    record = runtime.register("dependency", "dependency.py", b"", {})
    runtime.bind(record, dependency.__dict__)
    monkeypatch.setitem(sys.modules, "dependency", dependency)

    code, meta = instrument_source(
        source(
            """
            import dependency
            from dependency import OTHER as renamed
            from dependency import *
            value = dependency.VALUE
            try:
                dependency.MISSING
            except AttributeError:
                pass
            gone = 1
            del gone
            for item in (1,):
                pass
            """
        ),
        FILENAME,
    )
    subject = runtime.register("subject", FILENAME, b"", meta)
    namespace = {"__name__": "subject"}
    runtime.bind(subject, namespace)
    exec(code, namespace)

    assert subject.imports == {"dependency"}
    assert subject.reads == {
        ("dependency", "OTHER"),
        ("dependency", runtime.STAR),
        ("dependency", "VALUE"),
        ("dependency", "MISSING"),
        ("dependency", runtime.GETATTR),
    }
    assert subject.written == {"dependency", "renamed", "VALUE", "OTHER", "value", "item"}


def test_reads_of_objects_that_are_not_project_modules_are_not_recorded(helpers):
    code, meta = instrument_source("import os\nsep = os.sep\n", FILENAME)
    subject = runtime.register("subject", FILENAME, b"", meta)
    namespace = {"__name__": "subject"}
    runtime.bind(subject, namespace)
    exec(code, namespace)
    assert subject.reads == set()
    assert subject.imports == {"os"}
    assert subject.written == {"os", "sep"}


# --- summarize -----------------------------------------------------------------------------

SUMMARIZED = '''
"""A module."""
import os
import config
X = os.path.join('a', 'b')
Y = [scale * v for v in items]
key = lambda v: v.size + offset

class C(Base):
    attr = helper()
    def method(self):
        return other.V.W

@decorate
def loader(a=default):
    return config.PATH.upper()

def outer():
    def inner():
        return cfg.A
    return inner

def set_x():
    global Z, W
    Z = 1
    del W

async def fetch():
    await client.session.get()
'''


@pytest.fixture(params=["instrumented", "plain"])
def summary(request):
    """The summary the cache stores (of instrumented code), and that of plain code: the same."""
    if request.param == "instrumented":
        return instrument_source(source(SUMMARIZED), FILENAME)[1]
    return summarize(plain(SUMMARIZED))


def test_summary_refs_are_the_names_import_time_code_reads(summary):
    # Class bodies and comprehensions run at import time; function bodies do not.
    assert summary["refs"] - {"__name__"} == {
        "os",
        "scale",
        "items",
        "Base",
        "helper",
        "decorate",
        "default",
    }


def test_summary_functions_are_the_attribute_chains_each_body_reads(summary):
    assert summary["functions"] == {
        ("<lambda>", 6): (("offset",),),
        ("method", 10): (("other", "V", "W"),),
        ("loader", 13): (("config", "PATH", "upper"),),
        ("outer", 17): (("cfg", "A"),),
        ("inner", 18): (("cfg", "A"),),
        ("set_x", 22): (),
        ("fetch", 27): (("client", "session", "get"),),
    }


def test_summary_global_stores_and_not_dynamic(summary):
    assert summary["global_stores"] == {"Z", "W"}
    assert summary["dynamic"] is False


def test_summary_keys_match_the_functions_the_module_makes(helpers, monkeypatch):
    code, meta = instrument_source(source(SUMMARIZED), FILENAME)
    namespace = {
        "__name__": "subject",
        "scale": 2,
        "items": [1],
        "Base": object,
        "helper": lambda: None,
        "decorate": lambda function: function,
        "default": None,
    }
    monkeypatch.setitem(sys.modules, "config", types.ModuleType("config"))
    exec(code, namespace)
    functions = [
        namespace["key"],
        namespace["C"].method,
        namespace["loader"],
        namespace["outer"],
        namespace["outer"](),
        namespace["set_x"],
        namespace["fetch"],
    ]
    for function in functions:
        assert (function.__code__.co_name, function.__code__.co_firstlineno) in meta["functions"]


@pytest.mark.parametrize(
    "text",
    [
        "globals()['made'] = 1\n",
        "vars()['made'] = 1\n",
        "exec('made = 1')\n",
        "import sys\nsetattr(sys.modules[__name__], 'made', 1)\n",
        "def later():\n    globals().update(made=1)\n",
    ],
)
def test_summary_flags_modules_that_may_bind_names_no_statement_shows(text):
    assert summarize(plain(text))["dynamic"] is True


@pytest.mark.parametrize(
    ("text", "splittable"),
    [
        ("def f(obj, k, v):\n    setattr(obj, k, v)\n    return vars(obj)\n", True),
        ("setattr(object(), 'x', 1)\n", False),
        ("def later():\n    globals().update(made=1)\n", False),
        ("def later():\n    exec('made = 1')\n", False),
    ],
)
def test_summary_says_whether_a_module_can_rerun_statement_by_statement(text, splittable):
    """``setattr``/``vars`` inside a function never bind the module's names; import-time
    code using them, or ``globals()``/``exec`` anywhere, may."""
    assert summarize(plain(text))["splittable"] is splittable


def test_summary_of_an_empty_module():
    assert summarize(plain("")) == {
        "refs": frozenset(),
        "functions": {},
        "global_stores": frozenset(),
        "dynamic": False,
        "splittable": True,
        "imports": (),
        "suspect": False,
    }


def test_summary_lists_every_import_with_its_level_and_names():
    code = plain(
        "import os\nfrom . import x\nfrom .a.b import c as d, e\n"
        "def f():\n    import json\n    from pkg import sub\n"
    )
    assert summarize(code)["imports"] == (
        ("os", 0, None),
        ("", 1, ("x",)),
        ("a.b", 1, ("c", "e")),
        ("json", 0, None),
        ("pkg", 0, ("sub",)),
    )


def test_instrumenting_reports_syntax_errors_with_the_file_and_line():
    with pytest.raises(SyntaxError) as raised:
        instrument_source("x = 1\nif x\n    pass\n", FILENAME)
    assert raised.value.filename == FILENAME
    assert raised.value.lineno == 2
