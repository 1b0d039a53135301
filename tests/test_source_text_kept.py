"""Where Python keeps the user's source as text, or evaluates it later, instrumented code shows
exactly what plain code shows: annotations (postponed or not), f-string ``{x=}``, docstrings,
signatures, qualified names and ``__future__`` flags.

Each sample computes ``OBSERVED`` from itself; the instrumented module must compute the same.
"""

from __future__ import annotations

import sys
import textwrap

import pytest

from hmr_ast.transform import instrument_source
from test_transform_units import helpers  # noqa: F401 - the runtime helpers, fresh records

pytestmark = [pytest.mark.core, pytest.mark.usefixtures("helpers")]

FILENAME = "subject.py"


def observed(code) -> object:
    namespace = {"__name__": "subject"}
    exec(code, namespace)
    return namespace["OBSERVED"]


POSTPONED_CLASS = """
from __future__ import annotations
import typing as t
class Plain:
    x: t.Optional[int] = None
    y: t.List[str]
    z: "t.Dict[str, int]"
OBSERVED = Plain.__annotations__
"""

SAMPLES = {
    "postponed class annotations": POSTPONED_CLASS,
    "postponed after a docstring and comments": '"""Doc."""\n# comment\n' + POSTPONED_CLASS,
    "postponed function annotations": """
from __future__ import annotations
import typing as t
import collections.abc as abc
def f(a: t.List[int], *rest: t.Tuple[int, ...], key: abc.Callable[[], None] = None,
      **options: t.Any) -> t.Dict[str, int]:
    pass
async def g(a: t.Set[int]) -> t.FrozenSet[int]:
    pass
lam = lambda a=t.List: a
OBSERVED = (f.__annotations__, g.__annotations__, lam())
""",
    "postponed module annotations": """
from __future__ import annotations
import typing as t
import types
ns = types.SimpleNamespace(attr=1)
value: t.Optional[int] = 3
ns.attr: t.List[int] = 5
OBSERVED = (__annotations__, value, ns.attr)
""",
    "postponed TypedDict and get_type_hints": """
from __future__ import annotations
import typing as t
class Movie(t.TypedDict):
    title: t.List[str]
    year: t.Optional[int]
OBSERVED = (Movie.__annotations__, t.get_type_hints(Movie, globals()))
""",
    "postponed dataclass fields": """
from __future__ import annotations
import dataclasses
import typing as t
@dataclasses.dataclass
class Point:
    x: t.Optional[int] = None
    tags: t.List[str] = dataclasses.field(default_factory=list)
OBSERVED = [(f.name, f.type) for f in dataclasses.fields(Point)]
""",
    "evaluated annotations": """
import typing as t
class C:
    x: t.Optional[int] = None
def f(a: t.List[int]) -> t.Dict[str, int]:
    pass
y: t.Set[int] = set()
OBSERVED = (C.__annotations__, f.__annotations__, __annotations__)
""",
    "f-string self-documenting expressions": """
import types
ns = types.SimpleNamespace(a=1, b=types.SimpleNamespace(c="x"))
OBSERVED = (f"{ns.a=}", f"{ns.b.c = !r:>6}", f"{ns.a + 1=}", f"{ns.b.c=:}")
""",
    "docstrings": '''
"""Module doc."""
import types
ns = types.SimpleNamespace(a=1)
class C:
    """Class doc."""
    attr = ns.a
    def m(self):
        """Method doc."""
def f():
    """Function doc."""
OBSERVED = (__doc__, C.__doc__, C.m.__doc__, f.__doc__)
''',
    "signatures and default reprs": """
import inspect
import types
ns = types.SimpleNamespace(limit=3, name="n")
def f(a, b=ns.limit, *, c=ns.name, d=[ns.limit]):
    pass
OBSERVED = (str(inspect.signature(f)), f.__defaults__, f.__kwdefaults__)
""",
    "qualified names": """
import types
ns = types.SimpleNamespace(k=1)
class Outer:
    class Inner:
        def m(self): pass
    key = (lambda: ns.k)
    values = [ns.k for _ in range(2)]
make = lambda: ns.k
OBSERVED = (Outer.Inner.__qualname__, Outer.Inner.m.__qualname__, Outer.key.__qualname__,
            make.__qualname__, Outer.values)
""",
    "future flags reach the compiled code": """
from __future__ import generator_stop, annotations
def f(x: undefined_name.attr) -> undefined_name: pass
OBSERVED = f.__annotations__
""",
}

if sys.version_info >= (3, 12):
    SAMPLES["type aliases are evaluated lazily"] = """
import types
ns = types.SimpleNamespace(t=int)
type Alias = list[ns.t]
OBSERVED = (Alias.__value__, Alias.__name__)
"""


@pytest.mark.parametrize("name", SAMPLES)
def test_instrumented_module_observes_what_plain_python_observes(name):
    text = textwrap.dedent(SAMPLES[name]).lstrip("\n")
    plain = observed(compile(text, FILENAME, "exec", dont_inherit=True))
    assert observed(instrument_source(text, FILENAME)[0]) == plain


def test_postponed_annotations_hold_no_instrumented_text():
    """The strings are the user's own text, with nothing of hmr-ast's helpers in them."""
    text = textwrap.dedent(POSTPONED_CLASS).lstrip("\n")
    annotations = observed(instrument_source(text, FILENAME)[0])
    assert annotations == {"x": "t.Optional[int]", "y": "t.List[str]", "z": "'t.Dict[str, int]'"}
