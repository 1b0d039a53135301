"""Sample programs for ``bench.py`` (measured by ``bench_core.py``), written as real files.

Each generator returns the entry's path. The programs print one line per observable fact
(``value 3 6``, ``ready``, ``BENCH-JSON {...}``) so the benchmark can time them from outside
by reading stdout, and so a plain ``python app.py`` run is the oracle for what they print.
"""

from __future__ import annotations

import random
from pathlib import Path

#: Printed by the slow module each time its body runs: a hot reload must never print it again.
SLOW_BANNER = "slow module loaded"


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


# --- 1. edit-to-effect: slow import, leaf <- mid <- entry ----------------------------------


def leaf_source(value: int) -> str:
    return f"VALUE = {value}\n"


def expected_value_line(value: int) -> str:
    """What the entry prints for ``leaf.VALUE == value`` (mid doubles it at import time)."""
    return f"value {value} {value * 2}"


_MID = """\
import leaf

DOUBLE = leaf.VALUE * 2


def value():
    return leaf.VALUE
"""

_ENTRY_ONCE = """\
import mid
import slow

print("value", mid.value(), mid.DOUBLE, flush=True)
"""

_ENTRY_LOOP = """\
import time

import leaf
import mid
import slow

last = None
while True:
    current = ({reads})
    if current != last:
        print("value", *current, flush=True)
        last = current
    time.sleep(0.001)
"""

#: The shapes of entry the latency benchmark drives, by name.
ENTRY_SHAPES = {
    "once": _ENTRY_ONCE,
    # reads both names afresh each time round: hmr-ast lets the loop keep running
    "loop": _ENTRY_LOOP.format(reads="leaf.VALUE, mid.DOUBLE"),
    # reads leaf through a function: the entry must start over to see a change
    "loop-call": _ENTRY_LOOP.format(reads="mid.value(), mid.DOUBLE"),
    # reads only the edited module's own global: no dependent has to rerun
    "loop-leaf": _ENTRY_LOOP.format(reads="leaf.VALUE, leaf.VALUE * 2"),
}


def latency_program(root: Path, shape: str, *, slow_seconds: float = 2.0) -> Path:
    """Entry imports a slow module (a model load) and reads leaf directly and through mid.

    ``once``: the entry prints once and finishes (a reloader must rerun it). The ``loop``
    shapes: the entry polls every millisecond and prints when the value changes.
    """
    _write(
        root / "slow.py",
        f"import time\n\nprint({SLOW_BANNER!r}, flush=True)\ntime.sleep({slow_seconds})\n",
    )
    _write(root / "leaf.py", leaf_source(0))
    _write(root / "mid.py", _MID)
    _write(root / "app.py", ENTRY_SHAPES[shape])
    return root / "app.py"


# --- 2. steady-state overhead: CPU kernels timed inside the program -------------------------

_KERNEL_LIB = """\
def inc(x):
    return x + 1


def make_adder(n):
    def add(x):
        return x + n

    return add


class Point:
    def __init__(self, x, y):
        self.x = x
        self.y = y


class Shape:
    sides = 0

    def __init__(self, size):
        self.size = size

    def area(self):
        raise NotImplementedError

    def describe(self):
        return self.sides + self.area()


class Square(Shape):
    sides = 4

    def area(self):
        return self.size * self.size


class Circle(Shape):
    def __init__(self, size):
        super().__init__(size)
        self.r = size / 2

    def area(self):
        return 3 * self.r * self.r

    @property
    def diameter(self):
        return self.r * 2
"""

#: name -> (setup, loop body over ``i`` with accumulator ``x``); identical in both placements.
KERNELS: dict[str, tuple[str, str]] = {
    "global function calls": ("x = 0", "x = f(x)"),
    "other_module.func() calls": ("x = 0", "x = lib.inc(x)"),
    "from-imported func() calls": ("x = 0", "x = inc(x)"),
    "allocate other module's class": ("x = 0", "x = lib.Point(i, x).x"),
    "closures": ("x = 0\nadd = lib.make_adder(3)", "x = add(x) + (lambda y: y)(1)"),
    "class-heavy (methods, attrs)": (
        "x = 0\nshapes = [lib.Square(2), lib.Circle(4), lib.Square(3)]",
        "s = shapes[i % 3]\nx += s.describe() + s.size + (s.diameter if s.sides == 0 else 1)",
    ),
}


def _indent(text: str, spaces: int) -> str:
    return "\n".join(" " * spaces + line for line in text.splitlines())


#: Module-level loops run this many times fewer iterations: instrumented, they are much slower.
MODULE_LEVEL_SHARE = 5


def kernel_program(root: Path, *, iterations: int, repeats: int, budget: float) -> Path:
    """Each kernel runs inside a function and at module level of the entry, ``repeats``
    times or until ``budget`` seconds are spent on it (at least once: a slow tool runs fewer
    repeats, not fewer iterations). The entry prints one ``BENCH-JSON`` line: the best time
    of each kernel, and what each computed (the benchmark compares it with plain python's).
    """
    _write(root / "lib.py", _KERNEL_LIB)
    lines = [
        "import json",
        "import time",
        "",
        "import lib",
        "from lib import inc",
        "",
        f"N = {iterations}",
        f"N_MODULE_LEVEL = {max(iterations // MODULE_LEVEL_SHARE, 1)}",
        f"REPEATS = {repeats}",
        f"BUDGET = {budget!r}",
        "results = {}",
        "checks = {}",
        "",
        "",
        "def f(x):",
        "    return x + 1",
        "",
    ]
    for index, (name, (setup, body)) in enumerate(KERNELS.items()):
        lines += [
            "",
            f"def kernel_{index}():",
            _indent(setup, 4),
            "    for i in range(N):",
            _indent(body, 8),
            "    return x",
            "",
            "",
            "best = float('inf')",
            "spent = 0.0",
            "for _ in range(REPEATS):",
            "    started = time.perf_counter()",
            f"    x = kernel_{index}()",
            "    best = min(best, time.perf_counter() - started)",
            "    spent += time.perf_counter() - started",
            "    if spent > BUDGET:",
            "        break",
            f"results[{f'function: {name}'!r}] = best",
            f"checks[{f'function: {name}'!r}] = x",
            "",
            "best = float('inf')",
            "spent = 0.0",
            "for _ in range(REPEATS):",
            "    started = time.perf_counter()",
            _indent(setup, 4),
            "    for i in range(N_MODULE_LEVEL):",
            _indent(body, 8),
            "    best = min(best, time.perf_counter() - started)",
            "    spent += time.perf_counter() - started",
            "    if spent > BUDGET:",
            "        break",
            f"results[{f'module level: {name}'!r}] = best",
            f"checks[{f'module level: {name}'!r}] = x",
            "",
        ]
    lines += [
        "print('BENCH-JSON', json.dumps({'times': results, 'checks': checks}), flush=True)",
        "",
    ]
    _write(root / "app.py", "\n".join(lines))
    return root / "app.py"


# --- 3/4. generated projects of N modules -----------------------------------------------

_MODULE = '''\
"""Generated module {index} of {count}."""

from __future__ import annotations

import math
from dataclasses import dataclass

{imports}

SCALE = {index}
NAMES = tuple(f"item{{i}}" for i in range(8))
TABLE = {{name: len(name) * SCALE for name in NAMES}}
LIMIT = {limit}


def weight(x: float) -> float:
    return math.sqrt(abs(x) * SCALE + LIMIT)


def combine(items):
    return sum(weight(v) for v in items){combine}


@dataclass
class Record{index}:
    name: str
    size: int = 0

    def grow(self, by: int = 1) -> Record{index}:
        return Record{index}(self.name, self.size + by)


class Service{index}:
    registry: dict = {{}}

    def __init__(self, scale=SCALE):
        self.scale = scale

    def run(self, values):
        return [weight(v) * self.scale for v in values]

    @property
    def label(self):
        return f"service-{index}-{{self.scale}}"


DEFAULT = Service{index}()
'''

_READER = """\
import leaf

VALUE = leaf.VALUE
"""

_PROJECT_ENTRY = """\
import json
import os
import sys

{imports}
import reader

if os.environ.get("BENCH_MODULES_FILE"):
    with open(os.environ["BENCH_MODULES_FILE"], "w") as file:
        json.dump(sorted(sys.modules), file)
print("ready", flush=True)
print("value", reader.VALUE, reader.VALUE * 2, flush=True)
"""

PER_PACKAGE = 25


def _module_name(index: int) -> str:
    return f"proj.p{index // PER_PACKAGE:02d}.m{index:04d}"


def project_program(root: Path, modules: int, *, seed: int = 1) -> Path:
    """``modules`` generated modules in packages of 25, each importing up to two earlier ones;
    the entry imports them all, then ``reader`` (which reads ``leaf.VALUE``), then prints
    ``ready`` and the value line."""
    rng = random.Random(seed)
    _write(root / "proj" / "__init__.py", "")
    packages: dict[str, list[str]] = {}
    for index in range(modules):
        deps = sorted(rng.sample(range(index), min(index, rng.choice((0, 1, 2, 2)))))
        imports = "\n".join(
            f"from {_module_name(d).rpartition('.')[0]} import {_module_name(d).rpartition('.')[2]}"
            f" as dep{n}"
            for n, d in enumerate(deps)
        )
        limit = " + ".join(f"dep{n}.SCALE" for n in range(len(deps))) or "0"
        combine = " + dep0.weight(1.0)" if deps else ""
        package, _, name = _module_name(index).rpartition(".")
        packages.setdefault(package, []).append(name)
        text = _MODULE.format(
            index=index, count=modules, imports=imports, limit=limit, combine=combine
        )
        _write(root / (package.replace(".", "/") + f"/{name}.py"), text)
    for package, names in packages.items():
        body = "".join(f"from . import {name}\n" for name in names)
        _write(root / package.replace(".", "/") / "__init__.py", body)
    _write(root / "leaf.py", leaf_source(0))
    _write(root / "reader.py", _READER)
    imports = "\n".join(f"import {package}" for package in packages)
    _write(root / "app.py", _PROJECT_ENTRY.format(imports=imports))
    return root / "app.py"


# --- 4b. an edit in one big module ------------------------------------------------------

_BIG_FUNCTION = """\

def function_{n}(items, scale={n}):
    total = 0
    for item in items:
        total += item * scale + len(NAMES)
    return total
"""


def big_leaf_source(value: int, lines: int) -> str:
    """A module of about ``lines`` lines whose ``VALUE`` is ``value``."""
    parts = ['"""A big module."""\n', "NAMES = ('a', 'b', 'c')\n", f"VALUE = {value}\n"]
    count = 3
    n = 0
    while count + _BIG_FUNCTION.count("\n") <= lines:
        parts.append(_BIG_FUNCTION.format(n=n))
        count += _BIG_FUNCTION.count("\n")
        n += 1
    parts.extend(f"CONSTANT_{i} = {i}\n" for i in range(lines - count))
    return "".join(parts)


def big_module_program(root: Path, lines: int) -> Path:
    """The leaf is a module of ``lines`` lines; ``reader`` reads its ``VALUE``."""
    _write(root / "leaf.py", big_leaf_source(0, lines))
    _write(root / "reader.py", _READER)
    _write(
        root / "app.py",
        "import reader\n\nprint('ready', flush=True)\n"
        "print('value', reader.VALUE, reader.VALUE * 2, flush=True)\n",
    )
    return root / "app.py"
