"""The top-level statement is the unit of rerun: an edit runs again only the statements it
affects, functions and classes take new code in place, and the result equals a fresh run."""

from __future__ import annotations

import pytest

from harness import HotProcess, everything, fresh_run, make_project, reloaded, write
from web_harness import get, serve, wait_until

pytestmark = pytest.mark.core

SERVICE = """\
from fastapi import FastAPI

print("loading the model", flush=True)
MODEL = {"name": "big"}
app = FastAPI()


@app.get("/")
def read():
    return {"answer": "v0", "model": MODEL["name"]}


@app.get("/other")
def other():
    return {"other": 1}
"""


def test_single_file_service_loads_its_model_once_across_endpoint_edits(tmp_path):
    """The seed case: model load and endpoints in one main.py; five endpoint edits are
    served without loading the model again, and no route is registered twice."""
    write(tmp_path / "main.py", SERVICE)
    hot, port = serve(tmp_path, "-v")
    with hot:
        assert get(port) == (200, '{"answer":"v0","model":"big"}')
        for version in range(1, 6):
            write(tmp_path / "main.py", SERVICE.replace('"v0"', f'"v{version}"'))
            expected = f'{{"answer":"v{version}","model":"big"}}'
            wait_until(lambda expected=expected: get(port) == (200, expected), "the new body")
        assert get(port, "/other") == (200, '{"other":1}')
        routes = get(port, "/openapi.json")[1]
        assert routes.count('"/other"') == 1
        hot.err.wait_for(r"main: read patched in place")
        hot.stop()
    assert everything(hot.out).count("loading the model") == 1


def fresh_lines(root) -> list[str]:
    """What ``python -B app.py`` prints now, but the modules' own ``loading ...`` lines: a
    statement-level rerun does not print them again (the print statement did not change)."""
    lines = fresh_run(root, "-B", "app.py").stdout.splitlines()
    return [line for line in lines if not line.startswith("loading")]


def run_and_read(tmp_path, files: dict[str, str], edits: list[dict[str, str]], ready="^end$"):
    """Run app.py hot, apply each edit (waiting for its reload), compare every output with a
    fresh run's; return the hot process's stdout and stderr lines."""
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for(ready)
        assert hot.out.seen == fresh_run(tmp_path, "-B", "app.py").stdout.splitlines()
        for edit in edits:
            for name, text in edit.items():
                write(tmp_path / name, text)
            hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
            start = len(hot.out.seen)
            hot.out.wait_for(ready)
            hot_lines = [line for line in hot.out.seen[start:] if not line.startswith("loading")]
            assert hot_lines == fresh_lines(tmp_path)
        return everything(hot.out), everything(hot.err)


LIBRARY = """\
import functools
print("loading library")
CALLBACKS = []


def greet(name):
    return "hello " + name


class Greeter:
    def greet(self):
        return "method one"


CALLBACKS.append(greet)
PARTIAL = functools.partial(greet, "partial")
INSTANCE = Greeter()
BOUND = INSTANCE.greet
"""

USES_LIBRARY = """\
import library
print(library.CALLBACKS[0]("list"), library.PARTIAL(), library.BOUND(), library.INSTANCE.greet())
same = library.CALLBACKS[0] is library.greet
print("same objects", same, isinstance(library.INSTANCE, library.Greeter))
print("end")
"""


def test_old_references_run_the_new_code_of_an_edited_function_and_method(tmp_path):
    edited = LIBRARY.replace('"hello " + name', '"hi " + name').replace(
        '"method one"', '"method two"'
    )
    out, err = run_and_read(
        tmp_path,
        {"app.py": USES_LIBRARY, "library.py": LIBRARY},
        [{"library.py": edited}],
    )
    assert "hi list hi partial method two method two" in out
    assert out.count("loading library") == 1  # the print did not run again
    assert any("library: greet patched in place" in line for line in err)
    assert any("library: Greeter patched in place" in line for line in err)


def test_a_bound_method_held_by_a_thread_runs_the_edited_body(tmp_path):
    files = {
        "app.py": (
            "import sys, threading, queue, worker\n"
            "requests, replies = queue.Queue(), queue.Queue()\n"
            "def serve():\n"
            "    handler = worker.Worker().handle  # held by the thread from now on\n"
            "    while True:\n"
            "        replies.put(handler(requests.get()))\n"
            "threading.Thread(target=serve, daemon=True).start()\n"
            "for line in sys.stdin:\n"
            "    requests.put(line.strip())\n"
            "    print(replies.get(), flush=True)\n"
        ),
        "worker.py": ("class Worker:\n    def handle(self, text):\n        return 'old ' + text\n"),
    }
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("a")
        hot.out.wait_for("^old a$")
        write(tmp_path / "worker.py", files["worker.py"].replace("'old '", "'new '"))
        hot.err.wait_for(reloaded(r"worker\.py", "worker"))
        hot.send("b")
        hot.out.wait_for("^new b$")


def test_a_statement_that_did_not_change_never_runs_again(tmp_path):
    files = {
        "app.py": "import heavy\nprint(heavy.RESULT, heavy.label())\nprint('end')\n",
        "heavy.py": (
            "print('loading heavy')\n"
            "DATA = [1, 2, 3]\n"
            "def label():\n    return 'one'\n"
            "RESULT = sum(DATA)\n"
        ),
    }
    edits = [
        {"heavy.py": files["heavy.py"].replace("'one'", "'two'")},
        {"heavy.py": files["heavy.py"].replace("'one'", "'three'").replace("[1, 2, 3]", "[4]")},
    ]
    out, err = run_and_read(tmp_path, files, edits)
    assert out.count("loading heavy") == 1
    assert any("heavy: ran 1 of 4 statements (lines 3)" in line for line in err)


def test_contributions_to_an_object_made_in_the_module_are_made_once(tmp_path):
    """``ITEMS.append(x)`` edited: the list is made again first, so nothing is added twice."""
    files = {
        "app.py": "import items\nprint(items.ITEMS, items.COUNT)\nprint('end')\n",
        "items.py": (
            "ITEMS = []\n"
            "ITEMS.append('a')\n"
            "def register(item):\n    ITEMS.append(item)\n"
            "register('b')\n"
            "COUNT = len(ITEMS)\n"
        ),
    }
    edits = [
        {"items.py": files["items.py"].replace("ITEMS.append('a')", "ITEMS.append('A')")},
        {"items.py": files["items.py"].replace("register('b')", "register('B')")},
    ]
    run_and_read(tmp_path, files, edits)


def test_names_only_removed_statements_bound_disappear(tmp_path):
    files = {
        "app.py": (
            "import mod\nprint(sorted(n for n in vars(mod) if not n.startswith('_')))\n"
            "print('end')\n"
        ),
        "mod.py": "A = 1\nB = 2\ndef f():\n    return A\nclass C:\n    pass\n",
    }
    edits = [{"mod.py": "A = 1\ndef f():\n    return A\n"}]
    run_and_read(tmp_path, files, edits)


def test_a_module_passed_to_a_call_depends_on_all_its_names(tmp_path):
    """``hasattr(b, "Y")``: nothing reads ``b.Y``, but the answer depends on it."""
    files = {
        "app.py": "import b\nprint(hasattr(b, 'Y'), vars(b).get('X'))\nprint('end')\n",
        "b.py": "X = 1\nY = 2\n",
    }
    run_and_read(tmp_path, files, [{"b.py": "X = 1\n"}, {"b.py": "X = 1\nY = 3\n"}])


def test_a_dependent_reruns_only_the_statements_that_read_the_changed_name(tmp_path):
    files = {
        "app.py": "import reader\nprint(reader.FROM_A, reader.FROM_B, reader.BOTH)\nprint('end')\n",
        "reader.py": (
            "import leaf\n"
            "print('loading reader')\n"
            "FROM_A = leaf.A * 10\n"
            "FROM_B = leaf.B * 10\n"
            "BOTH = FROM_A + FROM_B\n"
        ),
        "leaf.py": "A = 1\nB = 2\n",
    }
    out, err = run_and_read(tmp_path, files, [{"leaf.py": "A = 5\nB = 2\n"}])
    assert out.count("loading reader") == 1
    assert any("reader: ran 2 of 5 statements (lines 3, 5)" in line for line in err)


def test_a_wrapping_decorator_makes_the_statement_run_again(tmp_path):
    """``lru_cache`` and ``functools.wraps`` wrappers keep state: the def runs again."""
    files = {
        "app.py": "import cached\nprint(cached.square(3), cached.twice(2))\nprint('end')\n",
        "cached.py": (
            "import functools\n"
            "@functools.lru_cache\n"
            "def square(x):\n    return x * x\n"
            "def logged(f):\n"
            "    @functools.wraps(f)\n"
            "    def wrapper(*a):\n        return f(*a)\n"
            "    return wrapper\n"
            "@logged\n"
            "def twice(x):\n    return 2 * x\n"
        ),
    }
    edited = files["cached.py"].replace("x * x", "x * x + 1").replace("2 * x", "3 * x")
    out, err = run_and_read(tmp_path, files, [{"cached.py": edited}])
    assert "10 6" in out
    assert not any("patched in place" in line for line in err)


def test_a_statement_that_moved_keeps_its_traceback_lines(tmp_path):
    files = {
        "app.py": (
            "import sys, traceback, mod\n"
            "for line in sys.stdin:\n"
            "    try:\n        mod.fail()\n"
            "    except ValueError as error:\n"
            "        line = traceback.extract_tb(error.__traceback__)[-1].lineno\n"
            "        print('line', line, flush=True)\n"
        ),
        "mod.py": "def fail():\n    raise ValueError('x')\n",
    }
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("?")
        hot.out.wait_for("^line 2$")
        write(tmp_path / "mod.py", "X = 1\n\n\n" + files["mod.py"])
        hot.err.wait_for(reloaded(r"mod\.py", "mod"))
        hot.send("?")
        hot.out.wait_for("^line 5$")


def test_a_module_that_cannot_be_split_reruns_whole_and_says_why(tmp_path):
    files = {
        "app.py": "import dyn\nprint(dyn.A, dyn.B)\nprint('end')\n",
        "dyn.py": "print('loading dyn')\nglobals()['A'] = 1\nB = 2\n",
    }
    out, err = run_and_read(
        tmp_path, files, [{"dyn.py": files["dyn.py"].replace("B = 2", "B = 3")}]
    )
    assert out.count("loading dyn") == 2
    assert any(
        "dyn: the whole module reruns: its import-time code may use globals()" in line
        for line in err
    )


POSTPONED = """\
from __future__ import annotations

import typing as t

from pydantic import BaseModel

print("loading models")


class Item(BaseModel):
    tags: t.List[str] = []


def describe(item: t.Optional[Item]) -> str:
    return "one"
"""


def test_a_module_with_postponed_annotations_reruns_statement_by_statement(tmp_path):
    files = {
        "app.py": "import models\nprint(models.describe(None), models.Item(tags=['a']))\n"
        "print('end')\n",
        "models.py": POSTPONED,
    }
    edits = [{"models.py": POSTPONED.replace('"one"', '"two"')}]
    out, err = run_and_read(tmp_path, files, edits)
    assert out.count("loading models") == 1
    assert any("models: describe patched in place" in line for line in err)


def test_a_name_two_star_imports_bind_stays_when_one_stops_exporting_it(tmp_path):
    """``from a import *`` then ``from b import *``, both exporting ``X``: when b's
    ``__all__`` drops ``X``, the rerun of ``from b import *`` leaves ``X`` as a's, as in a
    fresh run (it deleted ``X``: found by the random-edit property test)."""
    files = {
        "a.py": "X = 'from a'\nY = 1\n",
        "b.py": "X = 'from b'\nZ = 2\n__all__ = ['X', 'Z']\n",
        "both.py": "from a import *\nfrom b import *\n",
        "app.py": "import both\nprint(both.X, both.Y, both.Z)\nprint('end')\n",
    }
    edits = [
        {"b.py": files["b.py"].replace("['X', 'Z']", "['Z']")},
        {"b.py": files["b.py"]},
        {"b.py": files["b.py"].replace("'from b'", "'from b, edited'")},
    ]
    run_and_read(tmp_path, files, edits)


def test_an_instance_made_before_a_failed_edit_gets_the_fixed_method(tmp_path):
    """An edit that fails at import keeps the previous module; the fix that follows is
    compared with that version, so the class is patched in place and an instance made
    before both runs the fixed method (the fix reran the module whole, making a new class)."""
    files = {
        "app.py": (
            "import sys, shapes\nheld = []\nfor line in sys.stdin:\n"
            "    if not held:\n        held.append(shapes.Square())\n"
            "    print(held[0].area(), type(held[0]) is shapes.Square, flush=True)\n"
        ),
        "shapes.py": "class Square:\n    def area(self):\n        return 'old'\n",
    }
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("")
        hot.out.wait_for("^old True$")
        write(tmp_path / "shapes.py", files["shapes.py"] + "UNDEFINED_NAME\n")
        hot.err.wait_for(r"NameError")
        write(tmp_path / "shapes.py", files["shapes.py"].replace("'old'", "'fixed'"))
        hot.err.wait_for(reloaded(r"shapes\.py", "shapes"))
        hot.send("")
        hot.out.wait_for("^fixed True$")


def test_a_statement_calling_a_star_imported_function_patched_in_place_runs_again(tmp_path):
    """``from lib import *`` binds ``f0``; ``V = f3()`` calls ``f3``, which calls ``f0``.
    Editing ``f0``'s body patches it in place, and ``V`` is computed again (it kept the
    old result: the name bound by the star import was not known to hold the patched
    function until after the statements that call it; found by the random-edit test)."""
    files = {
        "lib.py": "def f0():\n    return 1\n\n\n__all__ = ['f0']\n",
        "mid.py": "from lib import *\n\n\ndef f3():\n    return f0()\n\n\nV = f3()\n",
        "app.py": "import lib, mid\nprint(mid.V)\nprint('end')\n",
    }
    run_and_read(tmp_path, files, [{"lib.py": files["lib.py"].replace("return 1", "return 0")}])


def test_a_cached_function_is_made_again_when_what_it_reads_changes(tmp_path):
    """``@functools.cache def double(): return lib.SIZE * 2``: when ``lib.SIZE`` changes,
    the cache is made again and ``X = double()`` gives the new value, as a fresh run does
    (it gave the cached old result: what the wrapped function reads was not followed)."""
    files = {
        "lib.py": "SIZE = 3\n",
        "mid.py": (
            "import functools\n\nimport lib\n\n\n@functools.cache\ndef double():\n"
            "    return lib.SIZE * 2\n\n\nX = double()\n"
        ),
        "app.py": "import mid\nprint(mid.X, mid.double())\nprint('end')\n",
    }
    run_and_read(tmp_path, files, [{"lib.py": "SIZE = 5\n"}, {"lib.py": "SIZE = 7\n"}])


SCRIPT = """\
import sys

import lib

print("loading the model", flush=True)
MODEL = {"w": 2}


def predict(x):
    return x * MODEL["w"]


for line in sys.stdin:
    print(predict(int(line)), lib.shift(0), flush=True)
"""


def test_a_running_entry_takes_edited_functions_in_place_without_starting_over(tmp_path):
    """A worker loop in the entry: editing a function the loop calls (in the entry, or in
    a module) patches it, and the loop goes on with its model loaded once; editing the loop
    itself starts the entry over, as before."""
    files = {"app.py": SCRIPT, "lib.py": "def shift(x):\n    return x\n"}
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("3")
        hot.out.wait_for("^6 0$")
        write(tmp_path / "app.py", SCRIPT.replace('x * MODEL["w"]', 'x * MODEL["w"] + 100'))
        hot.err.wait_for(reloaded(r"app\.py", "__main__"))
        hot.send("3")
        hot.out.wait_for("^106 0$")
        write(tmp_path / "lib.py", "def shift(x):\n    return x + 1\n")
        hot.err.wait_for(reloaded(r"lib\.py", "lib"))
        hot.send("3")
        hot.out.wait_for("^106 1$")
        write(tmp_path / "app.py", SCRIPT.replace("print(predict", "print('loop', predict"))
        hot.err.wait_for(r"reloaded app\.py: restarting __main__")
        hot.out.wait_for("^loading the model$")
        hot.send("3")
        hot.out.wait_for("^loop 6 1$")
    assert everything(hot.out).count("loading the model") == 2


def test_an_abstract_base_class_is_patched_in_place(tmp_path):
    """An ``ABC`` subclass (marshmallow's validators are) takes an edited method in place:
    an instance made before runs it, ``isinstance`` holds, a virtual subclass registered
    with ``register`` stays registered (it was replaced: a new class)."""
    shapes = (
        "import abc\n\n\nclass Shape(abc.ABC):\n    @abc.abstractmethod\n"
        "    def area(self): ...\n\n\nclass Square(Shape):\n    def area(self):\n"
        "        return 'old'\n\n\nclass Circle:\n    pass\n\n\nShape.register(Circle)\n"
    )
    files = {
        "app.py": (
            "import sys, shapes\nheld = []\nfor line in sys.stdin:\n"
            "    if not held:\n        held.append(shapes.Square())\n"
            "    print(held[0].area(), type(held[0]) is shapes.Square,\n"
            "          isinstance(shapes.Circle(), shapes.Shape), flush=True)\n"
        ),
        "shapes.py": shapes,
    }
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", stdin=True, options=("-v",)) as hot:
        hot.send("")
        hot.out.wait_for("^old True True$")
        write(tmp_path / "shapes.py", shapes.replace("'old'", "'new'"))
        hot.err.wait_for("Square patched in place")
        hot.send("")
        hot.out.wait_for("^new True True$")


MODEL_CLASS = """\
class Model:
    LIMIT = 5

    def __init__(self):
        print("loading the model", flush=True)
        self.scale = 2

    @classmethod
    def load(cls):
        return cls()

    def predict(self, x):
        return x * self.scale
"""

MODEL_SERVICE = """\
from model import Model

MODEL = Model.load()
LIMIT = Model.LIMIT
FIRST = MODEL.predict(1)
DOUBLE = Model().predict(2)
"""

MODEL_APP = """\
import service
print(service.MODEL.predict(3), service.LIMIT, service.FIRST, service.DOUBLE)
print("end")
"""


def test_a_model_made_by_its_class_is_not_made_again_when_another_method_changes(tmp_path):
    """``MODEL = Model.load()`` runs ``load`` and the construction only: an edit of
    ``predict`` patches the class and leaves the model alone, while what runs or reads a
    changed member (``MODEL.predict(1)``, ``Model().predict(2)``, ``Model.LIMIT``, a changed
    ``__init__``) runs again, as a fresh run would have it."""
    out, err = run_and_read(
        tmp_path,
        {"model.py": MODEL_CLASS, "service.py": MODEL_SERVICE, "app.py": MODEL_APP},
        [
            {"model.py": MODEL_CLASS.replace("x * self.scale", "x * self.scale + 1")},
            {
                "model.py": MODEL_CLASS.replace("x * self.scale", "x * self.scale + 1").replace(
                    "LIMIT = 5", "LIMIT = 6"
                )
            },
            {
                "model.py": MODEL_CLASS.replace("x * self.scale", "x * self.scale + 1")
                .replace("LIMIT = 5", "LIMIT = 6")
                .replace("self.scale = 2", "self.scale = 3")
            },
        ],
    )
    assert out[-2:] == ["10 6 4 7", "end"]
    # two loads at start (MODEL, and the instance line 6 makes and uses at once); line 6
    # runs at each edit, MODEL = Model.load() only when __init__ changes
    assert out.count("loading the model") == 2 + 1 + 1 + 2
    assert [e for e in err if "service: line 3 runs again" in e] == [
        "[hmr-ast]   service: line 3 runs again: calls Model.load, which runs Model.__init__, "
        "whose code changed"
    ]
    assert any(
        "service: line 5 runs again: calls MODEL.predict, which runs Model.predict" in e
        for e in err
    )
    assert any("service: line 4 runs again: reads Model.LIMIT, and Model.LIMIT" in e for e in err)


PIPELINE_FACTORY = """\
from model import Model


def make():
    return Model()
"""

PIPELINE_SERVICE = """\
import factory
from model import Model


class Pipeline:
    def __init__(self):
        self.model = factory.make()

    def run(self):
        return self.model.predict(2)


def first():
    return factory.make().predict(1)


PIPE = Pipeline()
FIRST = first()
OUT = PIPE.run()
"""

PIPELINE_APP = """\
import service
print(service.FIRST, service.OUT, service.PIPE.run())
print("end")
"""


def test_calls_are_followed_into_the_code_they_run_through_other_modules(tmp_path):
    """``first()`` gets a Model from another module's function and calls ``predict`` on it:
    an edit of ``predict`` runs it again. ``PIPE = Pipeline()`` only makes and holds a
    Model: it is not made again (the model is not loaded again), and ``PIPE.run()``, which
    calls ``predict``, runs again."""
    edited = MODEL_CLASS.replace("x * self.scale", "x * self.scale + 10")
    out, err = run_and_read(
        tmp_path,
        {
            "model.py": MODEL_CLASS,
            "factory.py": PIPELINE_FACTORY,
            "service.py": PIPELINE_SERVICE,
            "app.py": PIPELINE_APP,
        },
        [{"model.py": edited}],
    )
    assert out[-2:] == ["12 14 14", "end"]
    # PIPE's model and FIRST's at start; FIRST's again after the edit, PIPE's not
    assert out.count("loading the model") == 3
    assert not any("service: line 17 runs again" in e for e in err)
    assert any(
        "service: line 18 runs again: calls first, which runs Model.predict" in e for e in err
    )
    assert any(
        "service: line 19 runs again: calls PIPE.run, which runs Model.predict" in e for e in err
    )


VALIDATORS = """\
class Length:
    def __init__(self, least):
        self.least = least

    def __call__(self, value):
        return len(value) >= self.least
"""

VALIDATED = """\
from validators import Length


def check(rules, value):
    return all(rule(value) for rule in rules)


RULES = [Length(2)]
OK = check(RULES, "abc")
print(OK)
print("end")
"""


def test_a_callable_instance_called_through_a_local_name_runs_its_edited_call(tmp_path):
    """``check`` calls each rule through a local name: nothing names ``__call__``, yet an
    edit to it changes what ``OK = check(RULES, "abc")`` computes."""
    out, _err = run_and_read(
        tmp_path,
        {"validators.py": VALIDATORS, "app.py": VALIDATED},
        [{"validators.py": VALIDATORS.replace(">= self.least", "> 5")}],
    )
    assert out[-2:] == ["False", "end"]


MODEL_WORKER = """\
import sys

from model import Model

MODEL = Model.load()
for line in sys.stdin:
    print(MODEL.predict(int(line)), flush=True)
"""


def test_a_running_worker_keeps_its_model_when_a_method_of_the_model_class_changes(tmp_path):
    """The seed case with the model's class in its own module: the entry's loop calls
    ``MODEL.predict``; an edit of ``predict`` patches the class, and the loop goes on with
    the model it loaded, calling the new code (it restarted and loaded the model again)."""
    make_project(tmp_path, {"model.py": MODEL_CLASS, "app.py": MODEL_WORKER})
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("3")
        hot.out.wait_for("^6$")
        write(tmp_path / "model.py", MODEL_CLASS.replace("x * self.scale", "x * self.scale + 1"))
        hot.err.wait_for(reloaded(r"model\.py", "model"))
        hot.send("3")
        hot.out.wait_for("^7$")
    assert everything(hot.out).count("loading the model") == 1


def test_a_callback_another_module_registered_runs_its_edited_code_when_called(tmp_path):
    """``REPORT = registry.run_all()`` calls what ``HANDLERS`` holds; a handler another
    module appended there is edited and patched in place: the call runs again."""
    files = {
        "registry.py": (
            "HANDLERS = []\n\n\ndef run_all():\n    return [handler() for handler in HANDLERS]\n"
        ),
        "plugin.py": (
            "import registry\n\n\ndef hello():\n    return 'hello'\n\n\n"
            "registry.HANDLERS.append(hello)\n"
        ),
        "app.py": (
            "import plugin\nimport registry\n\nREPORT = registry.run_all()\n"
            "print(REPORT)\nprint('end')\n"
        ),
    }
    out, _err = run_and_read(
        tmp_path, files, [{"plugin.py": files["plugin.py"].replace("'hello'", "'hi'")}]
    )
    assert out[-2:] == ["['hi']", "end"]
