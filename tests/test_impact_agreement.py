"""``hmr-ast impact`` never misses a rerun: on generated programs and random edits, every
module the engine really reruns is in the static prediction made before the edit ran.

The programs are the core property test's (``program_gen``: every import style, packages,
relative imports, star imports, ``__all__``, functions and classmethods called at import
time, re-exports, names added and removed, new modules). Each example runs one live
``hmr-ast run -v``; before each edit the project and its cache are copied, the copy is edited
and analysed, then the live process is edited and reports what it reran.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import program_gen as gen
from agreement import LiveProgram, entry_importing
from harness import FIXTURES, write

CI = os.environ.get("CI") == "true"


def _files(program: gen.Program) -> dict[str, str]:
    files = gen.render(program)
    files["app.py"] = entry_importing(program.app_imports)
    return files


@settings(
    max_examples=20,
    deadline=None,
    derandomize=CI,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(data=st.data())
def test_static_prediction_contains_every_module_the_engine_reruns(data):
    program = data.draw(gen.programs(), label="program")
    note(gen.describe(program))
    with tempfile.TemporaryDirectory(prefix="hmr-agree-") as directory:
        root = Path(os.path.realpath(directory))
        for path, text in _files(program).items():
            write(root / path, text)
        with LiveProgram(root) as live:
            for number in range(data.draw(st.integers(2, 4), label="edits")):
                edit = data.draw(gen.edits(program), label=f"edit {number + 1}")
                if edit.broken is not None:
                    continue  # broken saves rerun nothing: nothing to predict
                note(f"edit {number + 1}: {edit.description}")
                before, after = _files(program), _files(edit.program)
                changed = {p: t for p, t in after.items() if before.get(p) != t}
                rank = {gen.path_of(name): i for i, name in enumerate(edit.program.order)}
                order = sorted(changed, key=lambda p: -rank.get(p, len(rank)))
                comparison = live.edit(changed, order)
                note(comparison.describe())
                assert not comparison.missed, comparison.describe()
                program = edit.program


#: For each bundled program: its entry module, and realistic edits (path -> (old, new)).
FIXTURE_EDITS = {
    "demo": ("app", [{"greeting.py": ("Hello from hmr-ast", "Hello again")}]),
    "fastapi_app": (
        "main",
        [
            {"routes.py": ("hello from v1", "hello from v2")},
            {"routes.py": ('VERSION = "v1"', 'VERSION = "v2"')},
        ],
    ),
}


@pytest.mark.parametrize("fixture", sorted(FIXTURE_EDITS))
def test_static_prediction_contains_every_rerun_on_the_bundled_programs(tmp_path, fixture):
    """Each file of each program in fixtures/ edited (a new name appended, and the edits a
    user makes), the prediction against the engine's reruns."""
    root = tmp_path / fixture
    shutil.copytree(FIXTURES / fixture, root)
    module, realistic = FIXTURE_EDITS[fixture]
    write(root / "hmr_entry.py", entry_importing([module]))
    with LiveProgram(root, "hmr_entry.py") as live:
        for path in sorted(p.name for p in root.glob("*.py") if p.name != "hmr_entry.py"):
            text = (root / path).read_text()
            comparison = live.edit({path: text + "\nEDITED_BY_THE_TEST = 1\n"})
            assert not comparison.missed, comparison.describe()
        for edit in realistic:
            files = {}
            for path, (old, new) in edit.items():
                text = (root / path).read_text()
                assert old in text
                files[path] = text.replace(old, new)
            comparison = live.edit(files)
            assert not comparison.missed, comparison.describe()
            assert comparison.actual, "the edit reran nothing: the test edits the wrong thing"


STAR_CHAINS = {
    "modules": (
        {
            "a.py": "def f():\n    return 1\n\n\nV = 2\n",
            "b.py": "from a import *\n",
            "c.py": "from b import *\n",
        },
        ["a", "b", "c"],
        "a.py",
        "f",
    ),
    "package": (
        {
            "pkg/__init__.py": "from . import m2\n\nV = 1\n",
            "pkg/m2.py": "W = 2\n",
            "pkg/m3.py": "from . import *\n",
            "m0.py": "from pkg.m3 import *\n",
        },
        ["pkg", "pkg.m3", "m0"],
        "pkg/__init__.py",
        "m2",
    ),
}


@pytest.mark.parametrize("shape", sorted(STAR_CHAINS))
def test_an_all_edit_reaches_through_chained_star_imports(tmp_path, shape):
    """``__all__`` added, changed, then removed at the start of a chain of ``import *``:
    what the next module binds changes, so does what the one after it binds (found by
    tools/bench_impact.py; the generated programs rarely reach it)."""
    files, imports, edited, other = STAR_CHAINS[shape]
    for path, text in {**files, "app.py": entry_importing(imports)}.items():
        write(tmp_path / path, text)
    original = files[edited]
    with LiveProgram(tmp_path) as live:
        for text in (
            original + '\n__all__ = ["V"]\n',
            original + f'\n__all__ = ["V", "{other}"]\n',
            original + "\nEXTRA = 3\n",
        ):
            comparison = live.edit({edited: text})
            assert not comparison.missed, text + comparison.describe()
