"""IPython reloaders side by side (issue 10): which scenarios each gets right, and how long a
reload takes.

Each scenario is a small project, cells run in an IPython shell, an edit, and a check cell.
"Right" means the check cell prints what a fresh run prints: a new shell, no reloader, the
same cells run on the edited files. For the two error scenarios, a fresh run cannot run the
broken file at all; there, right means the cell still runs and the module keeps its whole
previous state (not half of the new one), and after the fix the fresh run's answer.

Tools: ``%load_ext hmr_ast`` (edits apply just before the next cell), ``%autoreload 2`` and
``%autoreload 3`` (IPython's own). Every (tool, scenario) runs ``--rounds`` times, each in a
new shell (``InteractiveShell.instance()`` in a subprocess, fed cells as JSON lines while
this script edits files). After the set-up cells the script waits ``--think`` seconds, as a
user would before saving an edit; the time of a reload is the wall time of an empty cell run
right after the save (both reloaders work in IPython's ``pre_run_cell``), and "per cell" is
the same empty cell with nothing saved: what every cell pays for the reloader's checks.

Usage: ``python tools/bench_ipython.py [--rounds 3] [--think 0.6] [--only NAME ...]
[--src DIR]``: prints a markdown table (BENCHMARKS.md, "IPython (issue 10)"). ``--src``
runs hmr-ast from another source tree (an export of a commit) instead of the checkout's.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import bench_programs

ROOT = Path(__file__).resolve().parent.parent

#: Runs each cell it reads (a JSON line) in one InteractiveShell; answers with a JSON line.
DRIVER = r"""
import contextlib, io, json, sys, time
sys.path.insert(0, "")
from IPython.core.interactiveshell import InteractiveShell

shell = InteractiveShell.instance()
answers = sys.stdout
for line in sys.stdin:
    cell = json.loads(line)
    out, err = io.StringIO(), io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        result = shell.run_cell(cell, store_history=True)
    seconds = time.perf_counter() - started
    failure = result.error_in_exec or result.error_before_exec
    answers.write(json.dumps({
        "stdout": out.getvalue(), "stderr": err.getvalue(), "seconds": seconds,
        "error": f"{type(failure).__name__}: {failure}" if failure else None,
    }) + "\n")
    answers.flush()
"""

TOOLS = {
    "hmr-ast": ["%load_ext hmr_ast"],
    "%autoreload 2": ["%load_ext autoreload", "%autoreload 2"],
    "%autoreload 3": ["%load_ext autoreload", "%autoreload 3"],
}


@dataclass
class Scenario:
    name: str
    files: dict[str, str]
    setup: str
    #: Each step: files to save, then the check cell. The last check is compared with a fresh
    #: run; an earlier one (a broken file) must run, print ``keeps``, and raise nothing.
    steps: list[tuple[dict[str, str], str]]
    keeps: str | None = None
    #: Writes more of the project first (a generated one).
    generate: Callable[[Path], object] | None = None


SCENARIOS = [
    Scenario(
        "dependent computed at import",
        {"leaf.py": "RATE = 2\n", "mid.py": "import leaf\n\nDOUBLE = leaf.RATE * 2\n"},
        "import mid",
        [({"leaf.py": "RATE = 5\n"}, "print(mid.DOUBLE)")],
    ),
    Scenario(
        "from-imported constant",
        {"settings.py": "LIMIT = 10\n"},
        "from settings import LIMIT",
        [({"settings.py": "LIMIT = 20\n"}, "print(LIMIT)")],
    ),
    Scenario(
        "instance created before the edit",
        {
            "shapes.py": "class Square:\n    def __init__(self, n):\n        self.n = n\n\n"
            "    def area(self):\n        return self.n * self.n\n"
        },
        "import shapes\ns = shapes.Square(3)",
        [
            (
                {
                    "shapes.py": "class Square:\n    def __init__(self, n):\n        self.n = n\n"
                    "\n    def area(self):\n        return 4 * self.n\n"
                },
                "print(s.area())",
            )
        ],
    ),
    Scenario(
        "removed function",
        {"tools_mod.py": "def keep():\n    return 1\n\n\ndef old():\n    return 2\n"},
        "import tools_mod",
        [({"tools_mod.py": "def keep():\n    return 1\n"}, "print(hasattr(tools_mod, 'old'))")],
    ),
    Scenario(
        "syntax error, then fix",
        {"calc.py": "FACTOR = 2\n"},
        "import calc",
        [
            ({"calc.py": "FACTOR = (\n"}, "print(calc.FACTOR)"),
            ({"calc.py": "FACTOR = 3\n"}, "print(calc.FACTOR)"),
        ],
        keeps="2\n",
    ),
    Scenario(
        "instance, across a syntax error and its fix",
        {"shapes.py": "class Square:\n    def area(self):\n        return 1\n"},
        "import shapes\ns = shapes.Square()",
        [
            (
                {"shapes.py": "class Square:\n    def area(self):\n        return (\n"},
                "print(s.area())",
            ),
            (
                {"shapes.py": "class Square:\n    def area(self):\n        return 2\n"},
                "print(s.area())",
            ),
        ],
        keeps="1\n",
    ),
    Scenario(
        "error midway, then fix",
        {"calc.py": "FACTOR = 2\nOFFSET = 1\n"},
        "import calc",
        [
            ({"calc.py": "FACTOR = 5\n1 / 0\nOFFSET = 7\n"}, "print(calc.FACTOR, calc.OFFSET)"),
            ({"calc.py": "FACTOR = 5\nOFFSET = 7\n"}, "print(calc.FACTOR, calc.OFFSET)"),
        ],
        keeps="2 1\n",
    ),
    Scenario(
        "class whose method changed",
        {
            "base.py": "class Animal:\n    def speak(self):\n        return 'generic'\n",
            "dog.py": "from base import Animal\n\n\nclass Dog(Animal):\n    pass\n",
        },
        "from dog import Dog\nd = Dog()",
        [
            (
                {"base.py": "class Animal:\n    def speak(self):\n        return 'woof'\n"},
                "print(d.speak(), Dog().speak())",
            )
        ],
    ),
    Scenario(
        "module-level registry",
        {
            "registry.py": "HANDLERS = {}\n\n\ndef register(name):\n    def add(function):\n"
            "        HANDLERS[name] = function\n        return function\n\n    return add\n",
            "plugins.py": "from registry import register\n\n\n@register('alpha')\n"
            "def handler():\n    return 'a'\n",
        },
        "import registry, plugins",
        [
            (
                {
                    "plugins.py": "from registry import register\n\n\n@register('beta')\n"
                    "def handler():\n    return 'b'\n"
                },
                "print(sorted(registry.HANDLERS))",
            )
        ],
    ),
    Scenario(
        "200-module project, leaf edit",
        {},
        "import app, reader",
        [({"leaf.py": bench_programs.leaf_source(7)}, "print(reader.VALUE)")],
        generate=lambda root: bench_programs.project_program(root, 200),
    ),
]


class Shell:
    def __init__(self, cwd: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", DRIVER],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )

    def run(self, cell: str) -> dict:
        self.process.stdin.write(json.dumps(cell) + "\n")  # type: ignore[union-attr]
        self.process.stdin.flush()  # type: ignore[union-attr]
        box: list[str] = []
        reader = threading.Thread(target=lambda: box.append(self.process.stdout.readline()))  # type: ignore[union-attr]
        reader.start()
        reader.join(120)
        if not box or not box[0]:
            self.process.kill()
            raise RuntimeError(f"the shell died: {self.process.stderr.read()}")  # type: ignore[union-attr]
        return json.loads(box[0])

    def close(self) -> None:
        self.process.stdin.close()  # type: ignore[union-attr]
        self.process.wait(timeout=60)


@dataclass
class Run:
    right: bool
    reload_ms: float
    cell_ms: float
    printed: str
    notes: list[str] = field(default_factory=list)


def _save(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def fresh_output(scenario: Scenario, env: dict[str, str]) -> str:
    """What the check cell prints in a new shell with no reloader, on the edited files."""
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if scenario.generate is not None:
            scenario.generate(root)
        _save(root, scenario.files)
        for files, _check in scenario.steps:
            _save(root, files)
        shell = Shell(root, env)
        try:
            shell.run(scenario.setup)
            answer = shell.run(scenario.steps[-1][1])
            if answer["error"]:
                raise RuntimeError(f"{scenario.name}: a fresh run raised {answer['error']}")
            return answer["stdout"]
        finally:
            shell.close()


def run_once(scenario: Scenario, tool: str, expected: str, env: dict, think: float) -> Run:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        if scenario.generate is not None:
            scenario.generate(root)
        _save(root, scenario.files)
        shell = Shell(root, env)
        try:
            for cell in TOOLS[tool]:
                shell.run(cell)
            setup = shell.run(scenario.setup)
            if setup["error"]:
                raise RuntimeError(f"{scenario.name}: set-up failed: {setup['error']}")
            time.sleep(think)
            cell_ms = shell.run("pass")["seconds"] * 1000
            right = True
            notes: list[str] = []
            reload_ms = 0.0
            printed = ""
            for index, (files, check) in enumerate(scenario.steps):
                time.sleep(0.02)  # a new modification time, even on coarse clocks
                _save(root, files)
                reloaded = shell.run("pass")
                if index == 0:
                    reload_ms = reloaded["seconds"] * 1000
                answer = shell.run(check)
                printed = answer["stdout"]
                last = index == len(scenario.steps) - 1
                if answer["error"]:
                    right = False
                    notes.append(f"check raised {answer['error']}")
                elif last and printed != expected:
                    right = False
                elif not last and printed != scenario.keeps:
                    right = False
                    notes.append(f"while broken printed {printed.strip()!r}")
            return Run(right, reload_ms, cell_ms, printed, notes)
        finally:
            shell.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--think", type=float, default=0.6)
    parser.add_argument("--only", nargs="*", default=None, metavar="SCENARIO")
    parser.add_argument("--src", default=str(ROOT / "src"))
    options = parser.parse_args()
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPATH"] = os.pathsep.join([options.src, env.get("PYTHONPATH", "")]).rstrip(":")
    env["IPYTHONDIR"] = tempfile.mkdtemp(prefix="bench-ipython-")
    scenarios = [s for s in SCENARIOS if not options.only or s.name in options.only]
    import IPython

    rows = []
    #: (scenario kind, tool) -> times of an empty cell with nothing saved
    per_cell: dict[tuple[str, str], list[float]] = {}
    for scenario in scenarios:
        expected = fresh_output(scenario, env)
        cells = []
        for tool in TOOLS:
            runs = [
                run_once(scenario, tool, expected, env, options.think)
                for _ in range(options.rounds)
            ]
            right = sum(run.right for run in runs)
            reload_ms = statistics.median(run.reload_ms for run in runs)
            kind = "the 200-module project" if scenario.generate else "the 1-2 module projects"
            per_cell.setdefault((kind, tool), []).extend(run.cell_ms for run in runs)
            mark = "yes" if right == len(runs) else "no" if right == 0 else f"{right}/{len(runs)}"
            shown = runs[-1].printed.strip().replace("\n", " / ")
            note = f" ({'; '.join(runs[-1].notes)})" if runs[-1].notes else ""
            cells.append(f"{mark}: `{shown}`{note}, {reload_ms:.1f} ms")
            print(f"{scenario.name} | {tool}: {cells[-1]}", file=sys.stderr)
        rows.append((scenario.name, expected.strip().replace("\n", " / "), cells))
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, IPython "
        f"{IPython.__version__}, {options.rounds} rounds, think time {options.think} s\n"
    )
    header = " | ".join(TOOLS)
    print(f"| scenario | fresh run prints | {header} |")
    print("|---|---|" + "---|" * len(TOOLS))
    for name, expected, cells in rows:
        print(f"| {name} | `{expected}` | {' | '.join(cells)} |")
    for kind in dict.fromkeys(kind for kind, _ in per_cell):
        times = [statistics.median(per_cell[kind, tool]) for tool in TOOLS]
        shown = " | ".join(f"{time_:.1f} ms" for time_ in times)
        print(f"| an empty cell, nothing saved, in {kind} | | {shown} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
