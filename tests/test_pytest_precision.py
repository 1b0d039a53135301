"""``hmr-ast pytest`` reruns the tests an edit can change, not every test near it, and a
rerun sees what a fresh run would (a parameter made from a generator is made again).

Each test starts a real ``hmr-ast pytest -v`` on a project in tmp_path, edits a file on disk
and reads which tests the round ran. Marked ``core``: ``tools/check`` runs them on every
supported Python, where what a test really ran is recorded (3.12+) or not (3.10, 3.11).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from harness import HotProcess, clean_env, make_project, write

pytestmark = pytest.mark.core

RESULT = re.compile(r"^(test_\S+::\S+) (PASSED|FAILED|ERROR)")

SHAPES = (
    "class Shape:\n"
    "    def area(self):\n"
    "        return 1\n\n"
    "    def name(self):\n"
    "        return 'shape'\n\n\n"
    "def helper():\n"
    "    return 5\n"
)

PROJECT = {
    "shapes.py": SHAPES,
    "test_area.py": (
        "from shapes import Shape\n\n\ndef test_area():\n    assert Shape().area() == 1\n"
    ),
    "test_name.py": (
        "from shapes import Shape\n\n\ndef test_name():\n    assert Shape().name() == 'shape'\n"
    ),
    "test_mixed.py": (
        "import shapes\n\n\n"
        "class TestMixed:\n"
        "    def test_calls_area(self):\n"
        "        assert shapes.Shape().area() == 1\n\n"
        "    def test_calls_helper(self):\n"
        "        assert shapes.helper() == 5\n\n"
        "    def test_only_imports(self):\n"
        "        assert shapes.__name__ == 'shapes'\n"
    ),
}


def hot_pytest(root: Path, *args: str, env: dict[str, str] | None = None) -> HotProcess:
    return HotProcess(
        [sys.executable, "-m", "hmr_ast", "pytest", "-v", "-p", "no:cacheprovider", *args],
        root,
        env=env,
    )


def round_results(hot: HotProcess, start: int) -> dict[str, str]:
    """The tests the round that began at output line ``start`` ran, and their outcomes."""
    hot.out.wait_for(r"^=+ .* in [\d.]+s")
    return {
        m.group(1): m.group(2)
        for line in hot.out.seen[start:]
        if (m := RESULT.match(line)) is not None
    }


def rerun_after_edit(
    root: Path, files: dict[str, str], passed: int, edit: tuple[str, str], env=None
) -> dict[str, str]:
    """Run ``files`` hot until ``passed`` tests passed, save one edit, return what reran."""
    make_project(root, files)
    with hot_pytest(root, env=env) as hot:
        hot.out.wait_for(rf"^=+ {passed} passed")
        hot.err.wait_for(r"watching")
        start = len(hot.out.seen)
        write(root / edit[0], edit[1])
        return round_results(hot, start)


def test_an_edit_to_one_method_reruns_the_tests_that_call_it_not_its_neighbours(
    tmp_path: Path,
) -> None:
    ran = rerun_after_edit(
        tmp_path, PROJECT, 5, ("shapes.py", SHAPES.replace("return 1", "return 2"))
    )
    callers = {
        "test_area.py::test_area": "FAILED",
        "test_mixed.py::TestMixed::test_calls_area": "FAILED",
    }
    # exactly the tests that ran Shape.area (test_name calls Shape().name(), never area)
    assert ran == callers
    # never the tests of the same class that do not use Shape, nor those only importing it
    assert "test_mixed.py::TestMixed::test_calls_helper" not in ran
    assert "test_mixed.py::TestMixed::test_only_imports" not in ran


def test_a_method_moved_by_an_earlier_edit_still_reruns_the_tests_that_ran_it(
    tmp_path: Path,
) -> None:
    make_project(tmp_path, PROJECT)
    longer = SHAPES.replace("        return 1\n", "        one = 1\n        return one\n")
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 5 passed")
        hot.err.wait_for(r"watching")
        start = len(hot.out.seen)
        write(tmp_path / "shapes.py", longer)  # area grows a line: name moves down, same code
        first = round_results(hot, start)
        assert "test_name.py::test_name" not in first
        start = len(hot.out.seen)
        write(tmp_path / "shapes.py", longer.replace("'shape'", "'square'"))
        ran = round_results(hot, start)
    # test_name ran name before it moved: it reruns, and fails as in a fresh run
    assert ran["test_name.py::test_name"] == "FAILED"
    assert "test_area.py::test_area" not in ran


def test_a_fixture_that_ran_the_edited_method_is_built_again(tmp_path: Path) -> None:
    make_project(
        tmp_path,
        {
            **PROJECT,
            "conftest.py": (
                "import pytest\n\nimport shapes\n\n\n"
                "@pytest.fixture(scope='session')\n"
                "def area():\n"
                "    return shapes.Shape().area()\n"
            ),
            "test_fixture.py": "def test_uses_area(area):\n    assert area == 1\n",
        },
    )
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 6 passed")
        hot.err.wait_for(r"watching")
        start = len(hot.out.seen)
        write(tmp_path / "shapes.py", SHAPES.replace("return 1", "return 3"))
        ran = round_results(hot, start)
    # the session fixture ran Shape.area: built again, and its test reruns, as in a fresh run
    assert ran["test_fixture.py::test_uses_area"] == "FAILED"


GENERATED = {
    "bag.py": (
        "class Bag:\n"
        "    def __init__(self, items):\n"
        "        self.items = list(items)\n\n"
        "    def size(self):\n"
        "        return len(self.items)\n\n\n"
        "def total(numbers):\n"
        "    return sum(numbers)\n"
    ),
    "test_bag.py": (
        "import pytest\n\nimport bag\n\n"
        "NUMBERS = (n for n in [1, 2, 3])  # consumed when the class below is made\n\n\n"
        "class TestBag:\n"
        "    @pytest.mark.parametrize('full', [bag.Bag(NUMBERS)])\n"
        "    def test_size(self, full):\n"
        "        assert full.size() == 3\n\n\n"
        "@pytest.mark.parametrize('numbers', [iter([1, 2])])  # consumed by the test\n"
        "def test_total(numbers):\n"
        "    assert bag.total(numbers) == 3\n"
    ),
}


def test_parameters_made_from_iterators_are_made_again_as_in_a_fresh_run(
    tmp_path: Path,
) -> None:
    make_project(tmp_path, GENERATED)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 2 passed")
        hot.err.wait_for(r"watching")
        # Bag's code changes: the class statement calling Bag(...) is made again, and a
        # statement rerun alone would give it the consumed generator (size 0)
        start = len(hot.out.seen)
        write(
            tmp_path / "bag.py",
            GENERATED["bag.py"].replace("len(self.items)", "len(self.items) + 0"),
        )
        assert round_results(hot, start)["test_bag.py::TestBag::test_size[full0]"] == "PASSED"
        # total's code changes: test_total reruns, with a new iterator, not the spent one
        start = len(hot.out.seen)
        write(
            tmp_path / "bag.py",
            GENERATED["bag.py"]
            .replace("len(self.items)", "len(self.items) + 0")
            .replace("sum(numbers)", "sum(list(numbers))"),
        )
        assert round_results(hot, start)["test_bag.py::test_total[numbers0]"] == "PASSED"


def test_a_method_first_run_after_its_class_was_patched_is_recorded_too(tmp_path: Path) -> None:
    make_project(tmp_path, PROJECT)
    with hot_pytest(tmp_path) as hot:
        hot.out.wait_for(r"^=+ 5 passed")
        hot.err.wait_for(r"watching")
        # area's edit patches Shape in place: name gets a new code object, equal to the old
        write(tmp_path / "shapes.py", SHAPES.replace("return 1", "return 1 + 0"))
        hot.out.wait_for(r"^=+ .* in [\d.]+s")
        write(
            tmp_path / "test_late.py",
            "from shapes import Shape\n\n\n"
            "def test_late():\n    assert Shape().name() == 'shape'\n",
        )
        hot.out.wait_for(r"test_late.py::test_late PASSED")  # runs name's new code object
        hot.out.wait_for(r"^=+ .* in [\d.]+s")
        start = len(hot.out.seen)
        write(
            tmp_path / "shapes.py",
            SHAPES.replace("return 1", "return 1 + 0").replace("'shape'", "'square'"),
        )
        ran = round_results(hot, start)
    assert ran["test_late.py::test_late"] == "FAILED"
    assert ran["test_name.py::test_name"] == "FAILED"


TEXT = (
    "def escape(text):\n"
    '    """Escapes control characters."""\n'
    "    return ''.join(f'\\\\x{ord(c):02x}' if c < ' ' else c for c in text)\n\n\n"
    "def render(text):\n"
    "    if any(c < ' ' for c in text):\n"
    "        return escape(text)\n"
    "    return text\n\n\n"
    "def fail():\n"
    "    raise ValueError('here')\n"
)

TEXT_TESTS = (
    "import inspect\n\nimport pytest\n\nimport text\n\n\n"
    "def test_plain():\n"
    "    assert text.render('ab') == 'ab'\n\n\n"
    "def test_control():\n"
    "    assert text.render('a\\tb') == 'a\\\\x09b'\n\n\n"
    "def test_the_code_reads_as_written():\n"
    "    assert text.escape.__doc__ == 'Escapes control characters.'\n"
    "    assert inspect.getsource(text.fail) == \"def fail():\\n    raise ValueError('here')\\n\"\n"
    "    with pytest.raises(ValueError) as caught:\n"
    "        text.fail()\n"
    "    assert caught.traceback[-1].lineno + 1 == 13  # the raise\n"
)


def test_an_edit_reruns_the_tests_that_ran_the_function_not_those_that_could_have(
    tmp_path: Path,
) -> None:
    """Both tests reach ``escape`` through ``render``; only the one whose text has a control
    character runs it, and only that one reruns: recorded by the probe in each project
    function, which leaves docstrings, source and traceback lines as written."""
    files = {"text.py": TEXT, "test_text.py": TEXT_TESTS}
    ran = rerun_after_edit(tmp_path, files, 3, ("text.py", TEXT.replace("02x", "02X")))
    assert ran == {"test_text.py::test_control": "PASSED"}


def test_without_probes_the_tests_that_could_run_the_function_rerun(tmp_path: Path) -> None:
    """``HMR_AST_NO_PROBES=1`` (a suite that inspects its bytecode) records nothing: each
    test is followed from its code, and both tests reach ``escape`` through ``render``."""
    files = {"text.py": TEXT, "test_text.py": TEXT_TESTS}
    edit = ("text.py", TEXT.replace("02x", "02X"))
    ran = rerun_after_edit(tmp_path, files, 3, edit, {**clean_env(), "HMR_AST_NO_PROBES": "1"})
    assert ran["test_text.py::test_plain"] == ran["test_text.py::test_control"] == "PASSED"
