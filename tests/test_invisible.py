"""Instrumentation is invisible: tracebacks, source, pickling and module attributes are those of
a plain ``python`` run."""

from __future__ import annotations

import pytest

from harness import HotProcess, fresh_run, make_project, write
from streams import finish

RAISED = r"^\[hmr-ast\] __main__ raised; watching for changes$"

# Programs that crash on their first run: app.py imports bad.py (or crashes itself).
CRASHES = {
    "module-level": """\
import os
TABLE = {"prefix": "x"}
RESULT = os.sep + TABLE["prefix"] + TABLE["missing"] * 2
""",
    "function": """\
import os

def lookup(table, key):
    return table["prefix"] + table[key] * 2

CONFIG = {"prefix": "x"}
RESULT = os.path.join("a", "b") + lookup(CONFIG, "missing")
""",
    "class-body": """\
import os
class Settings:
    name = "x"
    size = len(name) + os.sep.count("/") + undefined_name
""",
    "comprehension-and-attribute": """\
import os
ITEMS = [1, 2, 0]
RATIOS = [os.sep.join("ab") + str(10 // item) for item in ITEMS]
""",
    "decorator": """\
import functools
def register(function):
    return function.registry.append(function)
@register
def handler(): pass
""",
    "method-called-at-import": """\
import os
class Point:
    def __init__(self, x):
        self.x = x
    def norm(self):
        return self.x.bit_length() + os.sep.nope
ORIGIN = Point(0).norm()
""",
    "through-a-stdlib-frame": """\
import os
SIZE = os.path.getsize("no-such-file") + 1
""",
    "chained-exception": """\
def parse(text):
    try:
        return int(text)
    except ValueError as error:
        raise RuntimeError("bad config") from error
LEVEL = parse("high")
""",
    "syntax-error": """\
import os
VALUE = (1,
""",
    "name-suggestion": """\
TOTAL = 1
RESULT = TOTLA + 1
""",
}

CORE_CRASHES = {"module-level", "function", "class-body"}


@pytest.mark.parametrize(
    "case",
    [
        pytest.param(name, marks=pytest.mark.core) if name in CORE_CRASHES else name
        for name in CRASHES
    ],
)
def test_first_run_traceback_is_that_of_plain_python(tmp_path, case):
    make_project(tmp_path, {"app.py": "import bad\n", "bad.py": CRASHES[case]})
    plain = fresh_run(tmp_path, "app.py")
    assert plain.returncode == 1 and plain.stderr.startswith("Traceback"), plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.err.wait_for(RAISED)
        printed = hot.err.seen[:-1]
    assert "\n".join(printed) + "\n" == plain.stderr
    assert "hmr_ast" not in plain.stderr


@pytest.mark.core
def test_traceback_from_the_entry_itself_is_that_of_plain_python(tmp_path):
    program = """\
import json

def load(text):
    return json.loads(text)["items"][3]

print("starting", flush=True)
VALUE = load('{"items": [1, 2]}') + 1
"""
    make_project(tmp_path, {"app.py": program})
    plain = fresh_run(tmp_path, "app.py")
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.err.wait_for(RAISED)
        assert "\n".join(hot.err.seen[:-1]) + "\n" == plain.stderr


@pytest.mark.core
def test_rerun_traceback_shows_the_users_frames_as_plain_python_does(tmp_path):
    make_project(
        tmp_path, {"app.py": "import bad\nprint('value', bad.VALUE)\n", "bad.py": "VALUE = 1\n"}
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^value 1$")
        write(tmp_path / "bad.py", CRASHES["function"])
        first = hot.err.wait_for(r"^\[hmr-ast\] error in ")
        hot.err.wait_for(r"^\[hmr-ast\] kept the previous bad; modules that use it were not rerun$")
        shown = hot.err.seen[hot.err.seen.index(first.string) + 1 : -1]
    plain = fresh_run(tmp_path, "app.py").stderr.splitlines()
    # A plain run imports bad from app.py; the rerun runs bad itself: the same frames after that.
    assert plain[1:3] == [f'  File "{tmp_path / "app.py"}", line 1, in <module>', "    import bad"]
    assert shown == [plain[0], *plain[3:]]
    assert first.string.endswith("bad.py, line 4: KeyError: 'missing'"), first.string


@pytest.mark.core
def test_warnings_point_at_the_users_lines_as_in_plain_python(tmp_path):
    module = """\
import warnings

def old_api():
    warnings.warn("old_api is deprecated", DeprecationWarning, stacklevel=2)

warnings.warn("careful at import")
VALUE = [old_api() for _ in range(1)]
"""
    make_project(
        tmp_path,
        {
            "app.py": "import warnings\nwarnings.simplefilter('always')\nimport mod\n"
            "print('done', flush=True)\n",
            "mod.py": module,
        },
    )
    plain = fresh_run(tmp_path, "app.py")
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^done$")
        finish(hot)
    assert [line for line in hot.err.seen if not line.startswith("[hmr-ast]")] == (
        plain.stderr.splitlines()
    )


def test_running_a_module_its_package_imported_warns_as_python_m_does(tmp_path):
    """``python -m pkg.mod`` where ``pkg/__init__.py`` imports ``mod``: runpy warns that the
    module runs twice (as ``pkg.mod`` and as ``__main__``); ``hmr-ast run -m`` the same."""
    make_project(
        tmp_path,
        {
            "pkg/__init__.py": "from . import mod\n",
            "pkg/mod.py": "print('runs as', __name__, flush=True)\n",
        },
    )
    plain = fresh_run(tmp_path, "-m", "pkg.mod")
    assert "RuntimeWarning" in plain.stderr
    with HotProcess.run(tmp_path, "-m", "pkg.mod") as hot:
        hot.out.wait_for("^runs as __main__$")
        finish(hot)
    assert hot.out.seen == plain.stdout.splitlines()
    assert [line for line in hot.err.seen if not line.startswith("[hmr-ast]")] == (
        plain.stderr.splitlines()
    )


SOURCES = """\
import inspect, pickle
import shapes

class Local:
    '''A class of the entry.'''

    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return type(other) is Local and other.n == self.n


def show():
    print(inspect.getsource(shapes.area), end='')
    print(inspect.getsource(shapes.Point), end='')
    print(inspect.getsource(Local.__init__), end='')
    print(inspect.getsourcefile(shapes.area), inspect.getsourcelines(shapes.area)[1])
    print('module source is the file', inspect.getsource(shapes) == open(shapes.__file__).read())
    print(shapes.area.__code__.co_firstlineno, shapes.area.__doc__)


show()
print('end', flush=True)
"""

SHAPES = '''\
"""Shapes."""
from dataclasses import dataclass


@dataclass
class Point:
    x: int
    y: int


def area(w, h):
    """Area of a w by h rectangle."""
    return w * h
'''


@pytest.mark.core
def test_inspect_getsource_is_that_of_plain_python(tmp_path):
    make_project(tmp_path, {"app.py": SOURCES, "shapes.py": SHAPES})
    plain = fresh_run(tmp_path, "app.py")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
    assert "\n".join(hot.out.seen) + "\n" == plain.stdout


def test_inspect_getsource_follows_a_function_moved_by_an_edit(tmp_path):
    make_project(tmp_path, {"app.py": SOURCES, "shapes.py": SHAPES})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        moved = SHAPES.replace('"""Shapes."""\n', '"""Shapes."""\n# two new lines\n# above\n')
        moved = moved.replace("y: int\n", "y: int\n    z: int = 0\n")  # Point changes: app reruns
        write(tmp_path / "shapes.py", moved)
        hot.err.wait_for(r"^\[hmr-ast\] reloaded shapes\.py: ")
        start = len(hot.out.seen)
        hot.out.wait_for("^end$")
    plain = fresh_run(tmp_path, "app.py")
    assert "\n".join(hot.out.seen[start:]) + "\n" == plain.stdout


PICKLING = """\
import pickle
import shapes

class Local:
    def __init__(self, n):
        self.n = n

    def __eq__(self, other):
        return type(other) is Local and other.n == self.n

point = pickle.loads(pickle.dumps(shapes.Point(1, 2)))
print('point', point, type(point) is shapes.Point)
local = pickle.loads(pickle.dumps(Local(3)))
print('local', local == Local(3), type(local) is Local)
print('end', flush=True)
"""


@pytest.mark.core
def test_pickle_round_trips_classes_of_imported_modules_and_main(tmp_path):
    make_project(tmp_path, {"app.py": PICKLING, "shapes.py": SHAPES})
    plain = fresh_run(tmp_path, "app.py")
    assert plain.stdout == "point Point(x=1, y=2) True\nlocal True True\nend\n", plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        assert hot.out.seen == plain.stdout.splitlines()
        write(tmp_path / "shapes.py", SHAPES.replace("y: int\n", "y: int\n    z: int = 0\n"))
        hot.out.wait_for("^point ")
        hot.out.wait_for("^end$")
        assert hot.out.seen[-3:] == ["point Point(x=1, y=2, z=0) True", "local True True", "end"]


SHOW_MODULES = """\
import json
import mod, pkg.sub

def describe(module):
    spec = module.__spec__
    return {
        'name': module.__name__,
        'file': module.__file__,
        'cached': module.__cached__,
        'doc': module.__doc__,
        'package': module.__package__,
        'path': getattr(module, '__path__', None),
        'spec': [spec.name, spec.origin, spec.cached, spec.parent, spec.has_location,
                 spec.submodule_search_locations],
        'vars': sorted(vars(module)),
        'dir': dir(module),
    }

print(json.dumps([describe(m) for m in (mod, pkg, pkg.sub)], sort_keys=True), flush=True)
print(json.dumps({'main': sorted(n for n in globals() if n != '__annotations__'),
                  'class': dir(mod.Thing), 'function_globals': sorted(mod.helper.__globals__)}))
print('end', flush=True)
"""

MOD = '''\
"""The mod module."""
from __future__ import annotations

import os as _os

LIMIT: int = 3
NAMES = [n for n in ("a", "b")]


class Thing:
    """A thing."""

    size: int = 1

    def method(self):
        return LIMIT


def helper(x=LIMIT):
    return x


for index in range(2):
    pass
del index
'''


@pytest.mark.core
def test_module_attributes_and_namespaces_are_those_of_plain_python(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": SHOW_MODULES,
            "mod.py": MOD,
            "pkg/__init__.py": '"""The package."""\n',
            "pkg/sub.py": "from . import sibling\nVALUE = sibling.X\n",
            "pkg/sibling.py": "X = 1\n",
        },
    )
    plain = fresh_run(tmp_path, "app.py")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        assert hot.out.seen == plain.stdout.splitlines()
        assert "hmr" not in plain.stdout
        edited = MOD.replace("LIMIT: int = 3\n", "LIMIT: int = 4\nEXTRA = 1\n").replace(
            "NAMES = ", "OTHER_NAMES = "
        )
        write(tmp_path / "mod.py", edited)
        hot.err.wait_for(r"^\[hmr-ast\] reloaded mod\.py: ")
        start = len(hot.out.seen)
        hot.out.wait_for("^end$")
        after_edit = hot.out.seen[start:]
    assert after_edit == fresh_run(tmp_path, "app.py").stdout.splitlines()


POSTPONED_MODELS = """\
from __future__ import annotations

import dataclasses
import typing as t

from pydantic import BaseModel


class Item(BaseModel):
    tags: t.List[str] = []
    size: t.Optional[int] = None


class Movie(t.TypedDict):
    title: t.List[str]


@dataclasses.dataclass
class Point:
    x: t.Optional[int] = None


def describe(item: t.Optional[Item]) -> t.Dict[str, int]:
    return {}
"""


@pytest.mark.core
def test_postponed_annotations_import_as_in_plain_python(tmp_path):
    """pydantic, TypedDict and dataclasses read the annotations' text: it is the user's."""
    show = (
        "import typing, models\n"
        "print(models.Item(tags=['a'], size=2).model_dump())\n"
        "print(typing.get_type_hints(models.Movie))\n"
        "print([(f.name, f.type) for f in __import__('dataclasses').fields(models.Point)])\n"
        "print(models.describe.__annotations__)\n"
        "print('end')\n"
    )
    make_project(tmp_path, {"app.py": show, "models.py": POSTPONED_MODELS})
    plain = fresh_run(tmp_path, "app.py")
    assert plain.returncode == 0, plain.stderr
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        assert hot.out.seen == plain.stdout.splitlines()
        write(
            tmp_path / "models.py", POSTPONED_MODELS.replace("size: t.Optional[int]", "size: int")
        )
        hot.err.wait_for(r"^\[hmr-ast\] reloaded models\.py: ")
        start = len(hot.out.seen)
        hot.out.wait_for("^end$")
        after_edit = hot.out.seen[start:]
    assert after_edit == fresh_run(tmp_path, "app.py").stdout.splitlines()
