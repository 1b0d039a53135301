"""Patterns from real projects' test suites (tools/check_corpus.py) that hmr-ast once ran
differently from plain Python, each cut down to a few lines and run as their developers run
them: ``python -m pytest`` against ``hmr-ast run -m pytest``, with pytest's own defaults."""

from __future__ import annotations

import re

from harness import HotProcess, everything, fresh_run, make_project, reloaded, write

# click's types.py and marshmallow's fields.py: TypedDicts under postponed annotations,
# read through a module alias; jaraco.functools: singledispatch's register() reads a
# postponed annotation of a function through get_type_hints. Under hmr-ast, their
# annotations once held instrumented text: the package failed to import.
ANNOTATED_LIBRARY = """\
from __future__ import annotations

import collections.abc
import functools
import typing as t


class ParamTypeInfoDict(t.TypedDict):
    param_type: str
    name: str


class FuncParamTypeInfoDict(ParamTypeInfoDict):
    func: t.Callable[[t.Any], t.Any]


class BaseFieldKwargs(t.TypedDict, total=False):
    load_default: t.Any
    required: bool


@functools.singledispatch
def splat(args, func):
    return func(*args)


@splat.register
def _(args: collections.abc.Mapping, func):
    return func(**args)
"""

ANNOTATED_TESTS = """\
import collections.abc
import typing as t

from lib import BaseFieldKwargs, FuncParamTypeInfoDict, splat


def test_typeddict_hints_are_the_written_types():
    assert t.get_type_hints(FuncParamTypeInfoDict) == {
        "param_type": str, "name": str, "func": t.Callable[[t.Any], t.Any],
    }
    assert BaseFieldKwargs.__optional_keys__ == {"load_default", "required"}


def test_annotation_text_is_the_source_text():
    refs = FuncParamTypeInfoDict.__annotations__
    assert refs["func"].__forward_arg__ == "t.Callable[[t.Any], t.Any]"


def test_singledispatch_registers_by_the_postponed_annotation():
    assert splat({"a": 1}, dict) == {"a": 1}
    assert splat([1, 2], lambda *a: a) == (1, 2)
    assert collections.abc.Mapping in splat.registry
"""

SUMMARY = re.compile(r"^\d+ (passed|failed)[\w ,]* in [\d.]+s$")


def summary(lines: list[str]) -> str:
    """pytest's summary line (``-q``) without its time."""
    line = next(line for line in reversed(lines) if SUMMARY.match(line))
    return line.rsplit(" in ", 1)[0]


def test_typeddicts_and_singledispatch_under_postponed_annotations_pass_as_in_plain_pytest(
    tmp_path,
):
    make_project(
        tmp_path,
        {
            "lib/__init__.py": ANNOTATED_LIBRARY,
            "conftest.py": "import lib  # imported before any test, as click's conftest does\n",
            "test_lib.py": ANNOTATED_TESTS,
        },
    )
    plain = fresh_run(tmp_path, "-m", "pytest", "-q")
    assert summary(plain.stdout.splitlines()) == "3 passed", plain.stdout
    with HotProcess.run(tmp_path, "-m", "pytest", "-q", options=("-v",)) as hot:
        exited = hot.err.wait_for(r"__main__ exited \((\d+)\)")
        assert exited[1] == "0", "\n".join(everything(hot.out) + everything(hot.err))
        assert summary(everything(hot.out)) == "3 passed", "\n".join(everything(hot.out))


CACHED_TESTS = """\
import helper


def test_reads_helper():
    assert helper.VALUE == 1


def test_fails_so_that_lastfailed_is_written():
    assert helper.VALUE == 2
"""


def test_the_cache_pytest_writes_at_the_end_of_a_run_does_not_restart_it(tmp_path):
    """pytest's cache plugin is on by default: each run reads ``.pytest_cache`` at start and
    writes ``nodeids`` and ``lastfailed`` at its end. Under ``hmr-ast run -m pytest`` those
    writes once restarted the finished run, again and again (itsdangerous, markupsafe,
    pydantic-settings, packaging, cattrs). Only the edit that follows reloads."""
    make_project(tmp_path, {"test_cached.py": CACHED_TESTS, "helper.py": "VALUE = 1\n"})
    plain = fresh_run(tmp_path, "-m", "pytest", "-q")  # the cache now exists, as it usually does
    assert summary(plain.stdout.splitlines()) == "1 failed, 1 passed", plain.stdout
    assert (tmp_path / ".pytest_cache" / "v" / "cache" / "lastfailed").exists()
    with HotProcess.run(tmp_path, "-m", "pytest", "-q", options=("-v",)) as hot:
        assert hot.err.wait_for(r"__main__ exited \((\d+)\)")[1] == "1"
        assert summary(everything(hot.out)) == "1 failed, 1 passed"
        write(tmp_path / "helper.py", "VALUE = 3\n")
        hot.err.wait_for(reloaded(r"helper\.py", r"[\w, ]+", r".*"))
        reloads = [line for line in everything(hot.err) if line.startswith("[hmr-ast] reloaded")]
        assert len(reloads) == 1 and "pytest_cache" not in reloads[0], reloads


HYPOTHESIS_TESTS = """\
from hypothesis import given, settings, strategies as st

import helper


@settings(max_examples=5, database=None)
@given(st.text(alphabet=st.characters(codec="utf-8"), max_size=3))
def test_text_round_trips(text):
    assert text.encode().decode() == text
    assert helper.VALUE == 1
"""


def test_a_suite_whose_hypothesis_writes_its_cache_mid_run_is_not_restarted(tmp_path):
    """hypothesis writes ``.hypothesis/unicode_data/...json.gz`` the first time a test draws
    from a codec; under ``hmr-ast run -m pytest`` that write once restarted the run in the
    middle (attrs: 168 tests run of 1386, then a restart loop). Only the edit reloads."""
    make_project(tmp_path, {"test_hypothesis.py": HYPOTHESIS_TESTS, "helper.py": "VALUE = 1\n"})
    options = ("-m", "pytest", "-q", "-p", "no:cacheprovider")  # the cache: the test above
    with HotProcess.run(tmp_path, *options, options=("-v",)) as hot:
        assert hot.err.wait_for(r"__main__ exited \((\d+)\)")[1] == "0"
        assert summary(everything(hot.out)) == "1 passed"
        assert list((tmp_path / ".hypothesis" / "unicode_data").rglob("*.json.gz"))
        write(tmp_path / "helper.py", "VALUE = 2\n")
        hot.err.wait_for(reloaded(r"helper\.py", r"[\w, ]+", r".*"))
        reloads = [line for line in everything(hot.err) if line.startswith("[hmr-ast] reloaded")]
        assert len(reloads) == 1 and ".hypothesis" not in reloads[0], reloads
