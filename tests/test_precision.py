"""Exactly what reads a changed value reruns; nothing else does, not even the entry."""

from __future__ import annotations

import pytest

from harness import RERUNNING_MAIN, HotProcess, everything, make_project, reloaded, write

pytestmark = pytest.mark.core


def test_editing_a_leaf_reruns_only_modules_that_read_the_changed_name(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import reads_a, reads_b\nprint('values', reads_a.VALUE, reads_b.VALUE)\n",
            "reads_a.py": "print('loading reads_a')\nimport leaf\nVALUE = leaf.A\n",
            "reads_b.py": "print('loading reads_b')\nimport leaf\nVALUE = leaf.B\n",
            "leaf.py": "A = 1\nB = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^values 1 1$")
        write(tmp_path / "leaf.py", "A = 2\nB = 1\n")
        hot.err.wait_for(r"reads_a: line 3 runs again: reads leaf:A, which changed$")
        hot.err.wait_for(reloaded("leaf.py", "leaf, reads_a", RERUNNING_MAIN))
        hot.out.wait_for("^values 2 1$")
        # Only the statement that reads the changed name ran again, not the module's print.
        assert everything(hot.out).count("loading reads_a") == 1
        assert everything(hot.out).count("loading reads_b") == 1
        about_b = [line for line in everything(hot.err) if "reads_b" in line]
        assert about_b == ["[hmr-ast]   reads_b: not rerun; it reads only unchanged names of leaf"]


def test_a_rerun_that_changes_nothing_stops_there(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import check\nprint('positive', check.POSITIVE)\n",
            "check.py": "print('loading check')\nimport leaf\nPOSITIVE = leaf.A > 0\n",
            "leaf.py": "A = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^positive True$")
        write(tmp_path / "leaf.py", "A = 5\n")
        hot.err.wait_for(r"check: line 3 runs again: reads leaf:A, which changed$")
        hot.err.wait_for(r"check: reran; changed names: none$")
        hot.err.wait_for(reloaded("leaf.py", "leaf, check"))
        assert everything(hot.out).count("positive True") == 1


LIBRARY = (
    'def documented():\n    """{doc}"""\n    return \'d\'\n\n\ndef neighbour():\n    return \'n\'\n'
)


def test_a_docstring_edit_reruns_readers_of_that_function_only(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import uses_documented, uses_neighbour\n"
                "print('results', uses_documented.RESULT, uses_neighbour.RESULT)\n"
            ),
            "uses_documented.py": (
                "print('loading uses_documented')\n"
                "import library\n"
                "RESULT = library.documented() + library.documented.__doc__\n"
            ),
            "uses_neighbour.py": (
                "print('loading uses_neighbour')\nimport library\nRESULT = library.neighbour()\n"
            ),
            "library.py": LIBRARY.format(doc="one"),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^results done n$")
        write(tmp_path / "library.py", LIBRARY.format(doc="two"))
        hot.err.wait_for(r"library: reran; changed names: documented$")
        hot.err.wait_for(reloaded("library.py", "library, uses_documented", RERUNNING_MAIN))
        hot.out.wait_for("^results dtwo n$")
        assert everything(hot.out).count("loading uses_neighbour") == 1


CALLBACKS = "def on_event():\n    raise ValueError('boom')\n"
ENTRY_WITH_REGISTRY = (
    "import sys, traceback\n"
    "import callbacks, registry\n"
    "registry.HANDLERS.append(callbacks.on_event)\n"
    "print('ready')\n"
    "for line in sys.stdin:\n"
    "    print('same object', registry.HANDLERS[0] is callbacks.on_event)\n"
    "    try:\n"
    "        registry.HANDLERS[0]()\n"
    "    except ValueError as error:\n"
    "        frame = traceback.extract_tb(error.__traceback__)[-1]\n"
    "        print('raised at line', frame.lineno, frame.line)\n"
)


def test_function_recreated_from_same_code_keeps_identity_and_gets_new_lines(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": ENTRY_WITH_REGISTRY,
            "registry.py": "HANDLERS = []\n",
            "callbacks.py": CALLBACKS,
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",), stdin=True) as hot:
        hot.out.wait_for("^ready$")
        hot.send("fire")
        hot.out.wait_for("^same object True$")
        hot.out.wait_for(r"^raised at line 2 raise ValueError\('boom'\)$")
        write(tmp_path / "callbacks.py", "# a comment\n\n\n" + CALLBACKS)
        hot.err.wait_for(r"callbacks: reran; changed names: none$")
        hot.err.wait_for(reloaded("callbacks.py", "callbacks"))
        hot.send("fire")
        hot.out.wait_for("^same object True$")
        hot.out.wait_for(r"^raised at line 5 raise ValueError\('boom'\)$")
        assert everything(hot.out).count("ready") == 1


def test_names_removed_from_a_file_are_gone_after_the_rerun(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys, shapes\n"
                "print('ready')\n"
                "for line in sys.stdin:\n"
                "    names = [n for n in ('KEPT', 'CONSTANT', 'helper', 'Shape', 'maybe')"
                " if hasattr(shapes, n)]\n"
                "    print('names', *names)\n"
            ),
            "shapes.py": (
                "KEPT = 1\n"
                "CONSTANT = 2\n"
                "def helper():\n"
                "    return 3\n"
                "class Shape:\n"
                "    pass\n"
                "if KEPT:\n"
                "    maybe = 4\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        hot.send("list")
        hot.out.wait_for("^names KEPT CONSTANT helper Shape maybe$")
        write(tmp_path / "shapes.py", "KEPT = 0\nif KEPT:\n    maybe = 4\n")
        hot.err.wait_for(reloaded("shapes.py", "shapes"))
        hot.send("list")
        hot.out.wait_for("^names KEPT$")


def test_module_imported_only_for_its_side_effects_reruns_when_edited(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import plugin\nprint('app ran')\n",
            "plugin.py": "print('plugin v1 registered')\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^plugin v1 registered$")
        hot.out.wait_for("^app ran$")
        write(tmp_path / "plugin.py", "print('plugin v2 registered')\n")
        hot.err.wait_for(reloaded("plugin.py", "plugin"))
        hot.out.wait_for("^plugin v2 registered$")
        assert everything(hot.out).count("app ran") == 1


def test_equal_plain_immutable_values_do_not_propagate(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import limits\n"
                "print('limits', limits.COUNT, limits.NAME, limits.PAIR, limits.RATIO)\n"
            ),
            "limits.py": "COUNT = 1000\nNAME = 'max size'\nPAIR = (1, 'b')\nRATIO = 0.5\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for(r"^limits 1000 max size \(1, 'b'\) 0.5$")
        write(
            tmp_path / "limits.py",
            "COUNT = 10 ** 3\nNAME = 'max ' + 'size'\nPAIR = (2 - 1, 'b')\nRATIO = 1 / 2\n",
        )
        hot.err.wait_for(r"limits: reran; changed names: none$")
        hot.err.wait_for(reloaded("limits.py", "limits"))
        # An equal value of another type is a change: 1 and 1.0 print differently.
        write(
            tmp_path / "limits.py",
            "COUNT = 1000.0\nNAME = 'max ' + 'size'\nPAIR = (2 - 1, 'b')\nRATIO = 1 / 2\n",
        )
        hot.err.wait_for(r"limits: reran; changed names: COUNT$")
        hot.err.wait_for(reloaded("limits.py", "limits", RERUNNING_MAIN))
        hot.out.wait_for(r"^limits 1000.0 max size \(1, 'b'\) 0.5$")
        assert everything(hot.out).count("limits 1000 max size (1, 'b') 0.5") == 1


def test_a_module_that_reads_nothing_changed_is_not_rerun_even_if_it_imports_the_leaf(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import consumer\nprint('consumer', consumer.TOTAL)\n",
            "consumer.py": (
                "print('loading consumer')\n"
                "import numbers_\n"
                "from numbers_ import ONE\n"
                "TOTAL = ONE + 1\n"
                "def later():\n"
                "    return numbers_.TWO\n"
            ),
            "numbers_.py": "ONE = 1\nTWO = 2\nTHREE = 3\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^consumer 2$")
        # THREE is read by nobody; TWO only by a function nobody calls at import time.
        write(tmp_path / "numbers_.py", "ONE = 1\nTWO = 20\nTHREE = 30\n")
        hot.err.wait_for(r"numbers_: reran; changed names: THREE, TWO$")
        hot.err.wait_for(reloaded("numbers_.py", "numbers_"))
        assert everything(hot.out).count("loading consumer") == 1


CLASS_KINDS = {
    "plain class": "class Shape:\n    def area(self):\n        return 1\n",
    "subclass": (
        "class Base:\n    def area(self):\n        return 0\n"
        "class Shape(Base):\n    def area(self):\n        return super().area() + 1\n"
    ),
    "dataclass": (
        "from dataclasses import dataclass\n"
        "@dataclass\nclass Shape:\n    size: int = 1\n    def area(self):\n        return 1\n"
    ),
}


@pytest.mark.parametrize("kind", list(CLASS_KINDS))
def test_class_recreated_from_same_code_keeps_identity_and_instances(tmp_path, kind):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys, models, uses\n"
                "shape = models.Shape()\n"
                "print('ready')\n"
                "for line in sys.stdin:\n"
                "    print('isinstance', isinstance(shape, uses.SHAPE), shape.area())\n"
            ),
            "uses.py": "print('loading uses')\nimport models\nSHAPE = models.Shape\n",
            "models.py": CLASS_KINDS[kind] + "VERSION = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",), stdin=True) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "models.py", "# edited\n" + CLASS_KINDS[kind] + "VERSION = 2\n")
        changed = hot.err.wait_for(r"models: reran; changed names: (.*)$")
        assert changed[1] == "VERSION"
        hot.err.wait_for(reloaded("models.py", "models"))
        hot.send("check")
        hot.out.wait_for("^isinstance True 1$")
        assert everything(hot.out).count("loading uses") == 1


@pytest.mark.parametrize("decorator", ["classmethod", "staticmethod"])
def test_editing_a_class_or_static_method_reruns_modules_that_called_it(tmp_path, decorator):
    models = f"class Shape:\n    @{decorator}\n    def unit(*args):\n        return {{value}}\n"
    make_project(
        tmp_path,
        {
            "app.py": "import uses\nprint('unit', uses.UNIT)\n",
            "uses.py": "import models\nUNIT = models.Shape.unit()\n",
            "models.py": models.format(value=1),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^unit 1$")
        write(tmp_path / "models.py", models.format(value=2))
        changed = hot.err.wait_for(r"models: reran; changed names: (.*)$")
        assert changed[1] == "Shape"
        hot.err.wait_for(reloaded("models.py", "models, uses", RERUNNING_MAIN))
        hot.out.wait_for("^unit 2$")


def test_names_bound_inside_a_removed_loop_are_gone_and_kept_ones_stay(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys, shapes\n"
                "for line in sys.stdin:\n"
                "    print(sorted(n for n in vars(shapes) if not n.startswith('_')), flush=True)\n"
            ),
            "shapes.py": (
                "for side in range(3):\n    area = side * side\nwhile False:\n    never = 1\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("?")
        hot.out.wait_for(r"^\['area', 'side'\]$")
        write(tmp_path / "shapes.py", "for edge in range(2):\n    length = edge\n")
        hot.err.wait_for(reloaded("shapes.py", "shapes"))
        hot.send("?")
        hot.out.wait_for(r"^\['edge', 'length'\]$")
