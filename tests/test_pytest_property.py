"""Never skips a test whose result could change: after every edit, the outcome of every test
as the hot ``hmr-ast pytest`` last reported it equals a fresh ``pytest`` run's.

Hypothesis writes small projects: library modules whose constants and functions read each
other (``import lib0`` + ``lib0.f0_1()``, ``from lib0 import V0_0``, calls made at import
time), a conftest with a session-scoped and a function-scoped fixture built from library
values, and two test modules whose tests compare sums of library values and fixtures with an
expected number (so some pass and some fail). Edits change one literal anywhere: in a
library constant or function, a fixture, a test's expression or its expected value. The
hot process reruns only what it thinks is affected; its latest result for each test must
match what a fresh run in a subprocess says.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from harness import HotProcess, clean_env, make_project, write

CI = os.environ.get("CI") == "true"
RESULT = re.compile(r"^(test_\w+\.py::test_\w+) (PASSED|FAILED|ERROR)")
ROUND_END = r"^=+ .* in [\d.]+s"


@dataclass
class Term:
    """A read of another value: ``lib0.f0_1()`` (attr) or ``V0_0`` (from-import or own)."""

    module: str
    name: str
    style: str  # attr | from | own

    def source(self) -> str:
        call = "()" if self.name.startswith("f") else ""
        prefix = f"{self.module}." if self.style == "attr" else ""
        return f"{prefix}{self.name}{call}"


@dataclass
class Value:
    name: str
    literal: int
    terms: list[Term] = field(default_factory=list)
    expected: int = 0  # tests only
    fixtures: list[str] = field(default_factory=list)  # tests and fx1 only

    def expression(self) -> str:
        return " + ".join([str(self.literal)] + [t.source() for t in self.terms] + self.fixtures)


@dataclass
class Project:
    libs: list[list[Value]]
    fixtures: list[Value]
    tests: dict[str, list[Value]]


def _imports(terms: list[Term], own: str) -> list[str]:
    lines = set()
    for term in terms:
        if term.module == own:
            continue
        if term.style == "attr":
            lines.add(f"import {term.module}")
        else:
            lines.add(f"from {term.module} import {term.name}")
    return sorted(lines)


def render(project: Project) -> dict[str, str]:
    files: dict[str, str] = {}
    for index, values in enumerate(project.libs):
        own = f"lib{index}"
        lines = _imports([t for v in values for t in v.terms], own)
        for value in values:
            if value.name.startswith("V"):
                lines.append(f"{value.name} = {value.expression()}")
            else:
                lines += [f"def {value.name}():", f"    return {value.expression()}"]
        files[f"{own}.py"] = "\n".join(lines) + "\n"
    # Every library is imported (a file nothing imports is not watched: editing it affects
    # nothing, and the hot run rightly says nothing).
    loaded = [f"import lib{index}" for index in range(len(project.libs))]
    lines = ["import pytest", *loaded]
    lines += _imports([t for v in project.fixtures for t in v.terms], "")
    for value in project.fixtures:
        scope = "(scope='session')" if value.name == "fx0" else ""
        lines += [
            f"@pytest.fixture{scope}",
            f"def {value.name}({', '.join(value.fixtures)}):",
            f"    return {value.expression()}",
        ]
    files["conftest.py"] = "\n".join(lines) + "\n"
    for module, tests in project.tests.items():
        lines = _imports([t for v in tests for t in v.terms], module)
        for test in tests:
            lines += [
                f"def {test.name}({', '.join(test.fixtures)}):",
                f"    assert {test.expression()} == {test.expected}",
            ]
        files[f"{module}.py"] = "\n".join(lines) + "\n"
    return files


def _terms(draw, libs: list[list[Value]], own: str | None, upto: int) -> list[Term]:
    """Reads of values in libs before ``upto`` (and, for a lib, its own earlier values)."""
    choices = [(f"lib{i}", v.name) for i in range(upto) for v in libs[i]]
    terms = []
    for module, name in (
        draw(st.lists(st.sampled_from(choices), max_size=2, unique=True)) if choices else []
    ):
        style = "own" if module == own else draw(st.sampled_from(["attr", "from"]))
        terms.append(Term(module, name, style))
    return terms


@st.composite
def projects(draw) -> Project:
    libs: list[list[Value]] = []
    for index in range(draw(st.integers(1, 3))):
        libs.append([])
        for k in range(draw(st.integers(1, 3))):
            kind = draw(st.sampled_from("Vf"))
            terms = _terms(draw, libs, f"lib{index}", index + 1)
            libs[index].append(Value(f"{kind}{index}_{k}", draw(st.integers(0, 3)), terms))
    everything = len(libs)
    fixtures = [
        Value("fx0", draw(st.integers(0, 3)), _terms(draw, libs, None, everything)),
        Value("fx1", draw(st.integers(0, 3)), _terms(draw, libs, None, everything)),
    ]
    if draw(st.booleans()):
        fixtures[1].fixtures = ["fx0"]
    tests: dict[str, list[Value]] = {}
    for module in ("test_a", "test_b"):
        tests[module] = []
        for k in range(draw(st.integers(1, 3))):
            test = Value(f"test_{module[-1]}{k}", draw(st.integers(0, 3)))
            test.terms = _terms(draw, libs, None, everything)
            test.fixtures = draw(st.lists(st.sampled_from(["fx0", "fx1"]), max_size=2, unique=True))
            test.expected = draw(st.integers(0, 12))
            tests[module].append(test)
    return Project(libs, fixtures, tests)


def edit(draw, project: Project) -> str:
    """Change one literal (or a test's expected value); return what changed, for notes."""
    values = [v for lib in project.libs for v in lib] + project.fixtures
    tests = [t for ts in project.tests.values() for t in ts]
    target = draw(st.sampled_from(values + tests))
    delta = draw(st.sampled_from([-2, -1, 1, 2]))
    if target in tests and draw(st.booleans()):
        target.expected += delta
        return f"{target.name}: expected {target.expected}"
    target.literal += delta
    return f"{target.name}: literal {target.literal}"


def fresh_outcomes(root: Path) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-B", "-m", "pytest", "-v", "-p", "no:cacheprovider", "-p", "no:randomly"],
        cwd=root,
        env=clean_env(PYTEST_ADDOPTS=""),
        capture_output=True,
        text=True,
        timeout=60,
    )
    outcomes = {}
    for line in result.stdout.splitlines():
        match = RESULT.match(line)
        if match:
            outcomes[match[1]] = match[2]
    assert outcomes, result.stdout + result.stderr
    return outcomes


def wait_round(hot: HotProcess, outcomes: dict[str, str]) -> None:
    """Consume one round of the hot run's report, updating ``outcomes``."""
    while True:
        line = hot.out.wait_for(r".").string
        match = RESULT.match(line)
        if match:
            outcomes[match[1]] = match[2]
        elif re.match(ROUND_END, line):
            return


@settings(
    max_examples=15 if CI else 20,
    derandomize=CI,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_hot_results_match_a_fresh_pytest_after_every_edit(data) -> None:
    project = data.draw(projects())
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        files = render(project)
        make_project(root, files)
        note("\n".join(f"--- {name}\n{text}" for name, text in files.items()))
        hot = HotProcess(
            [sys.executable, "-m", "hmr_ast", "pytest", "-v", "-p", "no:cacheprovider"], root
        )
        with hot:
            outcomes: dict[str, str] = {}
            wait_round(hot, outcomes)
            hot.err.wait_for("watching")
            assert outcomes == fresh_outcomes(root)
            for _ in range(data.draw(st.integers(1, 3))):
                what = edit(data.draw, project)
                note(f"edit: {what}")
                new = render(project)
                for name, text in new.items():
                    if files.get(name) != text:
                        write(root / name, text)
                files = new
                wait_round(hot, outcomes)
                fresh = fresh_outcomes(root)
                assert outcomes == fresh, f"after {what}: hot {outcomes} != fresh {fresh}"
