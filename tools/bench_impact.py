"""Static analysis (issue 4): how fast ``hmr-ast graph`` and ``hmr-ast impact`` are, and how
well ``impact``'s prediction agrees with what the live engine really reruns.

1. Speed: generated projects of 100 and 1000 modules (``bench_programs.project_program``);
   each command in a fresh process, cold (no hmr-ast cache files) and warm (the cache a
   previous run wrote), the median of ``--runs``. Every run's output is checked; a wrong
   output is a failure in the table, never a time. Beside them: interpreter start-up,
   hmr-ast's own imports, a plain ``ast.parse`` of every file (what a minimal static tool
   pays), and where the time goes inside one process.
2. Agreement: random programs and edits from ``tests/program_gen.py`` (hypothesis, driven
   programmatically), the bundled fixtures, a star-import chain whose ``__all__`` changes and
   the 1000-module project, each edited under a live ``hmr-ast run -v``; the prediction
   made before each edit is compared with the reruns the engine reports
   (``tests/agreement.py``). Recall must be 100%.

Prints markdown and writes it as the "Static analysis (issue 4)" section of BENCHMARKS.md
(or of ``--out FILE``), leaving every other section as it was.

    python tools/bench_impact.py [--quick] [--examples 30] [--runs 3] [--out FILE | --no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tools")]

from agreement import Comparison, LiveProgram, Tally, entry_importing  # noqa: E402
from bench_programs import project_program  # noqa: E402
from harness import FIXTURES, clean_env, write  # noqa: E402

SECTION = "## Static analysis (issue 4)"
BENCHMARKS = ROOT / "BENCHMARKS.md"
PYTHON = sys.executable
HMR = [PYTHON, "-m", "hmr_ast"]
RUN_TIMEOUT = 300.0  # one cold analysis of 1000 modules on a loaded machine
TARGETS = {"warm": 2.0, "cold": 20.0}  # issue 4's limits for 1000 modules, seconds
#: A module most of the 1000-module project does not depend on, and one many do.
LEAF, BASE = "leaf.py", "proj/p00/m0000.py"


# --- 1. speed --------------------------------------------------------------------------------

Check = Callable[[subprocess.CompletedProcess, Path], "str | None"]


@dataclass
class Timing:
    """The runs of one command in one cache state: times of correct runs, and failures."""

    times: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    detail: str = ""

    def cell(self) -> str:
        if not self.times and not self.failures:
            return "—"
        text = f"{statistics.median(self.times):.2f}" if self.times else "—"
        if self.failures:
            runs = len(self.times) + len(self.failures)
            text += f" **FAILED {len(self.failures)}/{runs}**: {self.failures[0]}"
        return text

    @property
    def median(self) -> float | None:
        return statistics.median(self.times) if self.times else None


def clear_cache(root: Path) -> int:
    """Delete every hmr-ast cache file under ``root``: the next analysis is cold."""
    removed = 0
    for path in root.rglob("__pycache__/*hmr-ast*"):
        path.unlink()
        removed += 1
    return removed


def cache_files(root: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in root.rglob("__pycache__/*hmr-ast*")}


def source_files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*.py")}


def run_once(command: list[str], root: Path, check: Check, timing: Timing) -> None:
    """One fresh process; its time counts only if ``check`` finds its output right."""
    started = time.perf_counter()
    try:
        done = subprocess.run(
            command, cwd=root, env=clean_env(), capture_output=True, text=True, timeout=RUN_TIMEOUT
        )
    except subprocess.TimeoutExpired:
        timing.failures.append(f"no exit within {RUN_TIMEOUT:.0f} s")
        return
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        timing.failures.append(f"exit {done.returncode}: {last}")
        return
    problem = check(done, root)
    if problem:
        timing.failures.append(problem)
    else:
        timing.times.append(elapsed)


def check_nothing(done: subprocess.CompletedProcess, root: Path) -> str | None:
    return None


def check_graph(done: subprocess.CompletedProcess, root: Path) -> str | None:
    """Every file of the project is a module of the graph, and there are import edges."""
    try:
        document = json.loads((root / "out.json").read_text())
    except (OSError, ValueError) as error:
        return f"out.json unreadable: {error}"
    files = {module["file"] for module in document["modules"]}
    expected = source_files(root)
    if files != expected:
        return (
            f"{len(files)} modules, expected {len(expected)} (e.g. {sorted(expected ^ files)[:2]})"
        )
    if len(document["edges"]) < len(expected) - 1:
        return f"only {len(document['edges'])} edges"
    return None


def check_impact(expected_first: str, exact: list[str] | None = None) -> Check:
    """The edited module comes first (and, for the leaf, the order is known exactly)."""

    def check(done: subprocess.CompletedProcess, root: Path) -> str | None:
        try:
            order = json.loads(done.stdout)["order"]
        except (ValueError, KeyError) as error:
            return f"no JSON order: {error}"
        if exact is not None and order != exact:
            return f"order {order}, expected {exact}"
        if not order or order[0] != expected_first:
            return f"order starts {order[:2]}, expected {expected_first}"
        check.sizes.append(len(order))  # type: ignore[attr-defined]
        return None

    check.sizes = []  # type: ignore[attr-defined]
    return check


_PARSE_ALL = """\
import ast, pathlib
count = 0
for path in pathlib.Path('.').rglob('*.py'):
    ast.parse(path.read_bytes(), str(path))
    count += 1
print(count)
"""

_IMPORTS = "import hmr_ast.graph_cli, hmr_ast.impact, hmr_ast.export, hmr_ast.config"

#: One ``graph --json`` done by hand, timing each phase (what ``graph_cli.graph_main`` does).
_PHASES = """\
import json, time
started = time.perf_counter()
from hmr_ast.config import scope_for
from hmr_ast.export import from_graph, to_json
from hmr_ast.impact import Analysis, Project
imported = time.perf_counter()
project = Project.from_entry(scope_for(['.']), path='app.py')
loaded = time.perf_counter()
analysis = Analysis(project)
built = time.perf_counter()
analysis.predict(['leaf'])
predicted = time.perf_counter()
files = {name: module.path for name, module in project.modules.items()}
text = to_json(from_graph(analysis.graph, files, '__main__', analysis.notes()), False)
exported = time.perf_counter()
print(json.dumps({
    'imports (networkx, hmr_ast)': imported - started,
    'find + load modules (read, hash, cache hit or transform)': loaded - imported,
    'build the graph (Analysis)': built - loaded,
    'predict (leaf.py)': predicted - built,
    'export JSON (notes included)': exported - predicted,
    'modules': len(project.modules),
}))
"""


@dataclass
class SizeResult:
    modules: int
    files: int
    rows: dict[str, dict[str, Timing]]
    phases: dict[str, dict[str, float]] = field(default_factory=dict)
    base_sizes: list[int] = field(default_factory=list)


def measure_size(modules: int, runs: int, *, phases: bool) -> SizeResult:
    """Every command on one generated project: cold runs, then warm runs, interleaved."""
    with tempfile.TemporaryDirectory(prefix=f"hmr-impact-{modules}-") as directory:
        root = Path(os.path.realpath(directory))
        project_program(root, modules, seed=1)
        files = len(source_files(root))
        base = check_impact("proj.p00.m0000")
        commands: dict[str, tuple[list[str], Check]] = {
            "`hmr-ast graph app.py --json -o out.json`": (
                [*HMR, "graph", "app.py", "--json", "-o", "out.json"],
                check_graph,
            ),
            f"`hmr-ast impact app.py {LEAF} --json`": (
                [*HMR, "impact", "app.py", LEAF, "--json"],
                check_impact("leaf", ["leaf", "reader", "__main__"]),
            ),
            f"`hmr-ast impact app.py {BASE} --json`": (
                [*HMR, "impact", "app.py", BASE, "--json"],
                base,
            ),
        }
        rows = {label: {"cold": Timing(), "warm": Timing()} for label in commands}
        for _ in range(runs):
            for label, (command, check) in commands.items():
                clear_cache(root)
                (root / "out.json").unlink(missing_ok=True)
                run_once(command, root, check, rows[label]["cold"])
        clear_cache(root)
        run_once(commands[next(iter(commands))][0], root, check_nothing, Timing())  # prime
        for _ in range(runs):
            for label, (command, check) in commands.items():
                (root / "out.json").unlink(missing_ok=True)
                run_once(command, root, check, rows[label]["warm"])
        parse = rows["plain `ast.parse` of every file (context)"] = {"cold": Timing()}

        def counted(done: subprocess.CompletedProcess, root: Path) -> str | None:
            return None if done.stdout.strip() == str(files) else f"parsed {done.stdout.strip()}"

        for _ in range(runs):
            run_once([PYTHON, "-c", _PARSE_ALL], root, counted, parse["cold"])
        result = SizeResult(modules, files, rows, base_sizes=base.sizes)  # type: ignore[attr-defined]
        if phases:
            result.phases = measure_phases(root, runs)
            rows["`hmr-ast graph`, warm from `hmr-ast run`'s cache"] = {
                "warm": graph_after_run(root, runs)
            }
        return result


def measure_phases(root: Path, runs: int) -> dict[str, dict[str, float]]:
    """Median seconds of each phase of one ``graph --json``, cold and warm."""
    found: dict[str, dict[str, list[float]]] = {"cold": {}, "warm": {}}
    for state in ("cold", "warm"):
        for _ in range(runs):
            if state == "cold":
                clear_cache(root)
            done = subprocess.run(
                [PYTHON, "-c", _PHASES],
                cwd=root,
                env=clean_env(),
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
            )
            if done.returncode != 0:
                print(done.stderr, file=sys.stderr)
                continue
            for phase, seconds in json.loads(done.stdout).items():
                found[state].setdefault(phase, []).append(seconds)
    return {
        state: {phase: statistics.median(values) for phase, values in by_phase.items()}
        for state, by_phase in found.items()
    }


def graph_after_run(root: Path, runs: int) -> Timing:
    """``graph`` right after a cold ``hmr-ast run`` of the program: the import hook's cache
    must serve the analysis as is (a graph run that writes a cache file is a failure)."""
    timing = Timing()
    command = [*HMR, "graph", "app.py", "--json", "-o", "out.json"]
    for _ in range(runs):
        clear_cache(root)
        process = subprocess.Popen(
            [*HMR, "run", "app.py"],
            cwd=root,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            ready = wait_for_line(process, re.compile(r"^value 0 0$"), timeout=RUN_TIMEOUT)
        finally:
            process.kill()
            process.wait(timeout=30)
        if not ready:
            timing.failures.append("`hmr-ast run` never printed its value line")
            continue
        before = cache_files(root)
        (root / "out.json").unlink(missing_ok=True)
        run_once(command, root, check_graph, timing)
        rewritten = sum(1 for path, stamp in cache_files(root).items() if before.get(path) != stamp)
        if rewritten and timing.times:
            timing.times.pop()
            timing.failures.append(f"graph wrote {rewritten} cache files the run had written")
    timing.detail = f"{len(cache_files(root))} cache files from the run"
    return timing


def wait_for_line(process: subprocess.Popen, pattern: re.Pattern, timeout: float) -> bool:
    """Read stdout until a line matches (True) or it ends / ``timeout`` passes (False)."""
    found = threading.Event()

    def pump() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            if pattern.search(line.rstrip("\n")):
                found.set()
                return

    threading.Thread(target=pump, daemon=True).start()
    return found.wait(timeout)


def context_timings(runs: int) -> dict[str, Timing]:
    """What any Python tool pays before it reads a file, for scale."""
    rows = {"`python -c pass`": Timing(), f"`python -c '{_IMPORTS}'`": Timing()}
    for _ in range(runs):
        run_once([PYTHON, "-c", "pass"], ROOT, check_nothing, rows["`python -c pass`"])
        run_once([PYTHON, "-c", _IMPORTS], ROOT, check_nothing, rows[f"`python -c '{_IMPORTS}'`"])
    return rows


def speed_markdown(sizes: list[SizeResult], context: dict[str, Timing], runs: int) -> str:
    header = ["command"]
    for size in sizes:
        header += [f"{size.modules} modules cold", f"{size.modules} warm"]
    header.append("issue 4 target (1000 modules)")
    lines = [
        f"Median seconds of {runs} fresh processes each (wall clock, from spawn to exit). "
        "Cold: every `__pycache__/*hmr-ast*` deleted before each run. Warm: the cache a "
        "previous `graph` run wrote. A run whose output is wrong counts as a failure, not a "
        "time: `graph`'s JSON must list every file of the project and its import edges; "
        "`impact leaf.py` must print exactly `leaf, reader, __main__`; `impact "
        f"{BASE}` must start with the edited module.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    labels = list(sizes[0].rows)
    for size in sizes[1:]:
        labels += [label for label in size.rows if label not in labels]
    for label in labels:
        cells = [label]
        for size in sizes:
            row = size.rows.get(label, {})
            cells += [row["cold"].cell() if "cold" in row else "—"]
            cells += [row["warm"].cell() if "warm" in row else "—"]
        target = ""
        if label.startswith("`hmr-ast graph app.py") or label.startswith("`hmr-ast impact"):
            target = verdict(sizes, label)
        cells.append(target)
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    scale = "; ".join(f"{label} {timing.cell()} s" for label, timing in context.items())
    lines += [f"For scale, what any run pays before reading a file: {scale}.", ""]
    for size in sizes:
        note = (
            f"- {size.modules} modules: {size.files} files (packages of 25 with their "
            "`__init__`s, `leaf`, `reader`, `app.py`)"
        )
        if size.base_sizes:
            note += f"; `impact {BASE}` predicts {size.base_sizes[0]} modules"
        after = size.rows.get("`hmr-ast graph`, warm from `hmr-ast run`'s cache", {}).get("warm")
        if after is not None and after.detail:
            note += f"; after `hmr-ast run`: {after.detail}, none rewritten by `graph`"
        lines.append(note + ".")
    return "\n".join(lines)


def verdict(sizes: list[SizeResult], label: str) -> str:
    big = next((s for s in sizes if s.modules == 1000), None)
    if big is None or label not in big.rows:
        return ""
    parts = []
    for state, limit in TARGETS.items():
        timing = big.rows[label][state]
        if timing.failures or timing.median is None:
            parts.append(f"{state} **failed**")
        else:
            ok = "ok" if timing.median < limit else "**missed**"
            parts.append(f"{state} < {limit:g} s: {ok} ({limit / timing.median:.0f}x margin)")
    return "; ".join(parts)


def phases_markdown(size: SizeResult) -> str:
    if not size.phases:
        return ""
    cold, warm = size.phases.get("cold", {}), size.phases.get("warm", {})
    lines = [
        f"Where the time of one `graph --json` goes, {size.modules} modules, measured inside "
        "one process (median seconds; interpreter start-up not included):",
        "",
        "| phase | cold | warm |",
        "|---|---|---|",
    ]
    for phase in cold:
        if phase == "modules":
            continue
        lines.append(f"| {phase} | {cold[phase]:.2f} | {warm.get(phase, float('nan')):.2f} |")
    total_cold = sum(v for k, v in cold.items() if k != "modules")
    total_warm = sum(v for k, v in warm.items() if k != "modules")
    lines.append(f"| **total** | **{total_cold:.2f}** | **{total_warm:.2f}** |")
    return "\n".join(lines)


# --- 2. agreement ----------------------------------------------------------------------------


@dataclass
class Agreement:
    """Prediction against the engine over many edits of one kind of program."""

    label: str
    tally: Tally = field(default_factory=Tally)
    programs: int = 0
    exact: int = 0
    extras: list[tuple[str, str, str, str]] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    seconds: float = 0.0
    note: str = ""

    def record(self, comparison: Comparison, edited_files: list[str], what: str, context=None):
        self.tally.add(comparison)
        if comparison.predicted == comparison.actual:
            self.exact += 1
        for module in sorted(comparison.extra - comparison.edited):
            reason = "; ".join(comparison.reasons.get(module, []))
            self.extras.append((", ".join(edited_files), module, reason, what))
            if context is not None and len(self.extras) <= 5:  # for whoever looks into it
                print(f"extra prediction {module}: {what}\n{context()}", file=sys.stderr)
        if comparison.missed:
            story = [f"edit: {what}", comparison.describe()]
            if context is not None:
                story.append(context())
            self.misses.append("\n".join(story))


@contextmanager
def live_program(root: Path, entry: str, ready: str, timeout: float) -> Iterator[LiveProgram]:
    """``hmr-ast run -v`` of ``entry``, once ``ready`` (a regex) is on stdout; always stopped."""
    live = LiveProgram(root, entry)
    try:
        live.process.out.wait_for(ready, timeout=timeout)
        yield live
    finally:
        live.process.stop()


def generated_agreement(examples: int, derandomize: bool) -> Agreement:
    """``examples`` random programs, 2-4 random edits each, as the property test does."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import strategies as st

    import program_gen as gen

    result = Agreement("generated programs (`tests/program_gen.py`)")
    started = time.perf_counter()

    def files_of(program: gen.Program) -> dict[str, str]:
        files = gen.render(program)
        files["app.py"] = entry_importing(program.app_imports)
        return files

    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=derandomize,
        phases=(Phase.generate,),  # nothing fails here, so there is nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(data=st.data())
    def one_program(data: st.DataObject) -> None:
        program = data.draw(gen.programs(), label="program")
        result.programs += 1
        with tempfile.TemporaryDirectory(prefix="hmr-bench-agree-") as directory:
            root = Path(os.path.realpath(directory))
            for path, text in files_of(program).items():
                write(root / path, text)
            try:
                with live_program(root, "app.py", "^entry done$", 60) as live:
                    for _ in range(data.draw(st.integers(2, 4), label="edits")):
                        edit = data.draw(gen.edits(program), label="edit")
                        if edit.broken is not None:
                            continue  # a broken save reruns nothing: nothing to predict
                        before, after = files_of(program), files_of(edit.program)
                        changed = {p: t for p, t in after.items() if before.get(p) != t}
                        rank = {gen.path_of(name): i for i, name in enumerate(edit.program.order)}
                        order = sorted(changed, key=lambda p: -rank.get(p, len(rank)))
                        comparison = live.edit(changed, order)
                        old = program
                        result.record(
                            comparison,
                            order,
                            edit.description,
                            lambda old=old: gen.describe(old),
                        )
                        program = edit.program
            except AssertionError as error:  # a live process that hung or failed
                result.errors.append(str(error).splitlines()[0])

    one_program()
    result.seconds = time.perf_counter() - started
    return result


@dataclass(frozen=True)
class FixtureEdit:
    path: str
    old: str
    new: str
    what: str


FIXTURE_EDITS: dict[str, tuple[str, str, list[FixtureEdit]]] = {
    "demo": (
        "app.py",
        r"parameters\)$",
        [
            FixtureEdit("greeting.py", "Hello from hmr-ast", "Hello again", "greeting: MESSAGE"),
            FixtureEdit("greeting.py", '"""\n', '"""\n\nEXTRA = 1\n', "greeting: add EXTRA"),
            FixtureEdit("greeting.py", "The file", "The only file", "greeting: docstring"),
            FixtureEdit("model.py", "7_000_000", "7_000_001", "model: PARAMETERS"),
            FixtureEdit("app.py", "parameters)", "parameters).", "app.py (the entry): print"),
        ],
    ),
    "fastapi_app": (
        "app.py",  # added: ``import main``, as ``hmr-ast uvicorn main:app`` imports it
        "^entry done$",
        [
            FixtureEdit("routes.py", 'VERSION = "v1"', 'VERSION = "v2"', "routes: VERSION"),
            FixtureEdit("routes.py", "hello from v1", "hello from v2", "routes: index() body"),
            FixtureEdit("model.py", '"tiny-model"', '"small-model"', "model: NAME"),
            FixtureEdit("main.py", "startup {", "starting {", "main: lifespan() body"),
            FixtureEdit(
                "routes.py",
                "router = APIRouter()\n",
                "router = APIRouter()\nX = 1\n",
                "routes: add X",
            ),
        ],
    ),
}


def edits_in_turn(
    result: Agreement, root: Path, entry: str, ready: str, edits: list[FixtureEdit]
) -> None:
    """Apply ``edits`` one after another under one live run of ``entry``, comparing each."""
    started = time.perf_counter()
    try:
        with live_program(root, entry, ready, RUN_TIMEOUT) as live:
            for edit in edits:
                text = (root / edit.path).read_text()
                assert edit.old in text, f"{edit.path} does not hold {edit.old!r}"
                before = {str(p.relative_to(root)): p.read_text() for p in root.glob("*.py")}
                comparison = live.edit({edit.path: text.replace(edit.old, edit.new, 1)})
                result.record(
                    comparison,
                    [edit.path],
                    edit.what,
                    lambda b=before: "\n".join(f"# --- {p}\n{t}" for p, t in sorted(b.items())),
                )
    except AssertionError as error:  # a live process that hung or failed
        result.errors.append(str(error).splitlines()[0])
    result.seconds = time.perf_counter() - started


def fixture_agreement(name: str) -> Agreement:
    """Hand-written edits of a bundled fixture."""
    entry, ready, edits = FIXTURE_EDITS[name]
    result = Agreement(f"`fixtures/{name}`", programs=1)
    with tempfile.TemporaryDirectory(prefix=f"hmr-bench-{name}-") as directory:
        root = Path(os.path.realpath(directory)) / name
        shutil.copytree(FIXTURES / name, root)
        if not (root / entry).exists():
            write(root / entry, entry_importing(["main"]))
            result.note = "with an entry `app.py` that does `import main`, as uvicorn would"
        edits_in_turn(result, root, entry, ready, edits)
    return result


_STAR_SOURCE = "def f():\n    return 1\n\n\nV = 2\n"
STAR_CHAIN_EDITS = [
    FixtureEdit("a.py", "V = 2\n", 'V = 2\n__all__ = ["V"]\n', "a: add `__all__`"),
    FixtureEdit("a.py", '["V"]', '["f"]', "a: change `__all__`"),
    FixtureEdit("a.py", '["f"]', '["f", "V"]', "a: extend `__all__`"),
    FixtureEdit("a.py", '__all__ = ["f", "V"]\n', "", "a: remove `__all__`"),
    FixtureEdit("a.py", "V = 2", "V = 3", "a: V"),
]


def star_chain_agreement() -> Agreement:
    """``c: from b import *``, ``b: from a import *``; ``a``'s ``__all__`` changes what
    ``b`` binds, hence what ``c`` binds: two hops through star imports."""
    result = Agreement("star-import chain `a` <- `b` <- `c`, `__all__` edits", programs=1)
    with tempfile.TemporaryDirectory(prefix="hmr-bench-star-") as directory:
        root = Path(os.path.realpath(directory))
        write(root / "a.py", _STAR_SOURCE)
        write(root / "b.py", "from a import *\n")
        write(root / "c.py", "from b import *\n")
        write(root / "app.py", entry_importing(["a", "b", "c"]))
        edits_in_turn(result, root, "app.py", "^entry done$", STAR_CHAIN_EDITS)
    return result


def project_agreement(modules: int) -> Agreement:
    """The speed benchmark's project: the leaf, the first, middle and last modules."""
    result = Agreement(f"generated project, {modules} modules", programs=1)
    edits = [FixtureEdit(LEAF, "VALUE = 0", "VALUE = 1", "leaf: VALUE")]
    for index in (0, modules // 2, modules - 1):
        path = f"proj/p{index // 25:02d}/m{index:04d}.py"
        old, new = f"SCALE = {index}\n", f"SCALE = {index + 7}\n"
        edits.append(FixtureEdit(path, old, new, f"m{index:04d}: SCALE"))
    middle, last = modules // 2, modules - 1
    edits.append(
        FixtureEdit(
            f"proj/p{middle // 25:02d}/m{middle:04d}.py",
            "range(8)",
            "range(9)",
            f"m{middle:04d}: NAMES",
        )
    )
    edits.append(
        FixtureEdit(
            f"proj/p{last // 25:02d}/m{last:04d}.py",
            "return Record",
            "return  Record",
            f"m{last:04d}: a method's body",
        )
    )
    with tempfile.TemporaryDirectory(prefix="hmr-bench-project-") as directory:
        root = Path(os.path.realpath(directory))
        project_program(root, modules, seed=1)
        edits_in_turn(result, root, "app.py", "^value 0 0$", edits)
    return result


def agreement_markdown(results: list[Agreement]) -> str:
    lines = [
        "Each edit is written to a live `hmr-ast run -v`; just before, a copy of the project "
        "(cache included, so `impact` knows the version the engine last ran) gets the same "
        "edit and is analysed (`tests/agreement.py`). Recall: modules the engine reran that "
        "the prediction holds. Precision: predicted dependents the engine really reran "
        "(edited modules, which always rerun, are left out of both). Exact: edits whose "
        "prediction equals the engine's set.",
        "",
        "| what | programs | edits | engine reran (dependents) | predicted | missed | recall "
        "| precision | exact | time |",
        "|" + "---|" * 10,
    ]
    total = Tally()
    for result in results:
        tally = result.tally
        for name in ("edits", "predicted", "correct", "actual", "missed"):
            setattr(total, name, getattr(total, name) + getattr(tally, name))
        label = result.label + (f" ({result.note})" if result.note else "")
        if result.errors:
            label += f" **{len(result.errors)} failed: {result.errors[0]}**"
        lines.append(
            f"| {label} | {result.programs} | {tally.edits} | {tally.actual} | {tally.predicted} "
            f"| {tally.missed} | {percent(tally.recall)} | {percent(tally.precision)} "
            f"| {result.exact}/{tally.edits} | {result.seconds:.0f} s |"
        )
    lines.append(
        f"| **all** | | **{total.edits}** | {total.actual} | {total.predicted} | "
        f"**{total.missed}** | **{percent(total.recall)}** | **{percent(total.precision)}** | | |"
    )
    extras = [extra for result in results for extra in result.extras]
    if extras:
        lines += ["", f"Extra predictions ({len(extras)}; the first of each kind of reason):", ""]
        lines += ["| edited | edit | predicted, not rerun | reason given |", "|---|---|---|---|"]
        seen: set[str] = set()
        for edited, module, reason, what in extras:
            kind = re.sub(r"[\w.]+:", "M:", re.sub(r"\b[VfC]\d+\b", "N", reason))
            if kind in seen or len(seen) >= 8:
                continue
            seen.add(kind)
            lines.append(f"| `{edited}` | {what} | `{module}` | {reason} |")
    misses = [miss for result in results for miss in result.misses]
    if misses:
        distinct = list(dict.fromkeys(misses))  # hypothesis may draw one example twice
        lines += [
            "",
            f"**Recall misses: {len(misses)} edits, {len(distinct)} distinct** (the first "
            "with the program before the edit):",
            "",
            "```",
            distinct[0].rstrip(),
            *("\n" + "\n".join(miss.splitlines()[:2]) for miss in distinct[1:5]),
            "```",
        ]
    return "\n".join(lines)


def percent(value: float) -> str:
    return f"{value * 100:.1f}%"


# --- report ----------------------------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} CPUs"


def git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
    return done.stdout.strip()


def update_section(path: Path, text: str) -> None:
    """Replace (or append) our section only; every other byte of the file is someone else's.
    The section ends at the next ``##`` heading or HTML marker (ours uses ``###``; a ``#``
    line may be a comment in one of our code blocks)."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |^<!-- |\Z)", re.S | re.M)
    block = text.rstrip("\n") + "\n"
    if pattern.search(current):
        following = pattern.search(current).end() < len(current)  # type: ignore[union-attr]
        updated = pattern.sub(lambda _: block + ("\n" if following else ""), current, count=1)
    else:
        updated = (current.rstrip("\n") + "\n\n" if current.strip() else "") + block
    path.write_text(updated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="1 run, 8 examples (under 2 min)")
    parser.add_argument("--runs", type=int, help="fresh processes per timing (default 3)")
    parser.add_argument("--examples", type=int, help="generated programs (default 30)")
    parser.add_argument("--random", action="store_true", help="new random programs each time")
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--out", type=Path, default=BENCHMARKS, help="file to put the section in")
    parser.add_argument("--no-write", action="store_true", help="only print")
    options = parser.parse_args()
    runs = options.runs or (1 if options.quick else 3)
    examples = options.examples or (8 if options.quick else 30)
    started = time.perf_counter()
    commit = git("rev-parse", "--short", "HEAD")
    changed = git("diff", "--name-only", "HEAD", "--", "src").split()
    dirty = f" (uncommitted changes in {', '.join(f'`{p}`' for p in changed)})" if changed else ""
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())

    def progress(message: str) -> None:
        print(f"[{time.perf_counter() - started:5.0f} s] {message}", file=sys.stderr, flush=True)

    progress("start-up context")
    context = context_timings(runs)
    sizes = []
    for modules in options.sizes:
        progress(f"speed, {modules} modules, {runs} runs")
        sizes.append(measure_size(modules, runs, phases=modules == max(options.sizes)))
    results = []
    for name in FIXTURE_EDITS:
        progress(f"agreement, fixtures/{name}")
        results.append(fixture_agreement(name))
    progress("agreement, star-import chain")
    results.append(star_chain_agreement())
    progress(f"agreement, generated project of {max(options.sizes)} modules")
    results.append(project_agreement(max(options.sizes)))
    progress(f"agreement, {examples} generated programs")
    try:
        results.append(generated_agreement(examples, derandomize=not options.random))
    except Exception:  # keep the numbers gathered so far; say what broke
        traceback.print_exc()
        results.append(Agreement("generated programs", errors=["the driver crashed (stderr)"]))
    elapsed = time.perf_counter() - started
    command = "python tools/bench_impact.py" + "".join(f" {a}" for a in sys.argv[1:])
    from hmr_ast import __version__

    parts = [
        SECTION,
        "",
        f"From `{command}` ({elapsed / 60:.1f} min): hmr-ast {__version__} at `{commit}`{dirty}, "
        f"Python {platform.python_version()}, {machine()}, load average at start {load}; "
        "the machine is shared with other work, so compare ratios more than milliseconds. "
        "Commands run as `python -m hmr_ast ...` (no console-script shim).",
        "",
        "### Speed",
        "",
        speed_markdown(sizes, context, runs),
        "",
    ]
    phases = phases_markdown(sizes[-1])
    if phases:
        parts += [phases, ""]
    parts += ["### Agreement with the engine", "", agreement_markdown(results), ""]
    report = "\n".join(parts)
    print(report)
    if not options.no_write:
        update_section(options.out, report)
        progress(f"wrote the section to {options.out}")


if __name__ == "__main__":
    main()
