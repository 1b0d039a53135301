"""The core benchmark of hmr-ast: real processes, real files, real watchers; markdown tables.

    python tools/bench_core.py --quick              # about two minutes
    python tools/bench_core.py --out bench.md       # full mode, under ten minutes

What it measures, each side by side with plain ``python app.py`` in the same run:

1. edit-to-effect latency: from ``time.perf_counter()`` right before a file write to the line
   with the new value arriving on the child's stdout (timestamped by a reader thread);
2. steady-state overhead: CPU kernels timed inside the program, after its imports;
3. start-up of a generated 200-module program, cold and warm caches;
4. rerun cost against project size and against the size of the edited module;
5. hmr-ast's own import cost, and what it imports before the user's program is ready.

Timings on a shared machine are noisy: compare the ratios, which come from runs that
alternate in one session, more than the absolute numbers.
"""

from __future__ import annotations

import argparse
import atexit
import functools
import json
import math
import os
import random
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import bench_programs as programs

REPO = Path(__file__).resolve().parent.parent
PLAIN = [sys.executable]
HOT = [sys.executable, "-m", "hmr_ast", "run"]
WATCHFILES_CLI = [sys.executable, "-m", "watchfiles", "--filter", "python"]
START_TIMEOUT = 180.0  # a cold start of 1000 modules on a loaded machine
EDIT_TIMEOUT = 15.0
RESULT_TIMEOUT = 600.0  # the kernel program under a slow machine
_RERAN = re.compile(r"reran .* in ([\d.]+) ms")


class BenchError(Exception):
    """A measurement could not be taken (a child hung, crashed or printed nonsense)."""


@dataclass(frozen=True)
class Mode:
    name: str
    latency_rounds: int
    restart_rounds: tuple[int, int]  # shape (a), shape (b): the same restart, so (b) only in full
    watchfiles_rounds: int
    kernel_iterations: int
    kernel_repeats: int
    kernel_pairs: int
    startup_runs: int
    size_rounds: int
    importtime_runs: int


QUICK = Mode(
    name="quick",
    latency_rounds=10,
    restart_rounds=(3, 0),
    watchfiles_rounds=2,
    kernel_iterations=100_000,
    kernel_repeats=5,
    kernel_pairs=5,
    startup_runs=5,
    size_rounds=8,
    importtime_runs=5,
)
FULL = Mode(
    name="full",
    latency_rounds=30,
    restart_rounds=(5, 3),
    watchfiles_rounds=3,
    kernel_iterations=200_000,
    kernel_repeats=7,
    kernel_pairs=8,
    startup_runs=10,
    size_rounds=20,
    importtime_runs=10,
)


# --- child processes --------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The machine sets PYTHONDONTWRITEBYTECODE, which would disable every bytecode cache
    (hmr-ast's too): drop it for plain python and hmr-ast alike."""
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


class Lines:
    """The lines of one pipe, each stamped with ``time.perf_counter()`` as it arrives."""

    def __init__(self, pipe) -> None:
        self.items: list[tuple[float, str]] = []
        self.closed = False
        self._changed = threading.Condition()
        threading.Thread(target=self._pump, args=(pipe,), daemon=True).start()

    def _pump(self, pipe) -> None:
        for line in iter(pipe.readline, ""):
            stamp = time.perf_counter()
            with self._changed:
                self.items.append((stamp, line.rstrip("\n")))
                self._changed.notify_all()
        with self._changed:
            self.closed = True
            self._changed.notify_all()

    def mark(self) -> int:
        with self._changed:
            return len(self.items)

    def wait_for(self, wanted: Callable[[str], bool], start: int, timeout: float) -> int | None:
        """Index of the first line from ``start`` on that is ``wanted``; None on timeout/EOF."""
        deadline = time.monotonic() + timeout
        index = start
        with self._changed:
            while True:
                while index < len(self.items):
                    if wanted(self.items[index][1]):
                        return index
                    index += 1
                remaining = deadline - time.monotonic()
                if self.closed or remaining <= 0:
                    return None
                self._changed.wait(remaining)

    def since(self, start: int) -> list[str]:
        with self._changed:
            return [line for _, line in self.items[start:]]

    def tail(self, count: int = 15) -> str:
        with self._changed:
            return "\n".join(line for _, line in self.items[-count:]) or "(nothing)"


_children: set[Child] = set()


class Child:
    """One program run, in its own process group so that its own children die with it."""

    def __init__(self, args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env or child_env(),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
            start_new_session=True,
        )
        _children.add(self)
        self.out = Lines(self.process.stdout)
        self.err = Lines(self.process.stderr)

    def wait_line(self, wanted: Callable[[str], bool], start: int, timeout: float, what: str):
        """(index, timestamp) of the wanted stdout line, or BenchError naming what hung."""
        index = self.out.wait_for(wanted, start, timeout)
        if index is None:
            state = "exited" if self.process.poll() is not None else f"no line in {timeout:.0f} s"
            raise BenchError(
                f"`{shlex.join(self.args[1:])}` never printed {what} ({state}).\n"
                f"stdout tail:\n{self.out.tail()}\nstderr tail:\n{self.err.tail()}"
            )
        return index, self.out.items[index][0]

    def stop(self) -> None:
        # Only while the process is not reaped: then its group id cannot belong to anyone else.
        if self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"bench: process {self.process.pid} did not die\n")
        _children.discard(self)


@atexit.register
def _stop_children() -> None:
    for child in list(_children):
        child.stop()


def is_line(text: str) -> Callable[[str], bool]:
    return lambda line: line == text


# --- statistics and tables ----------------------------------------------------------------


def ms(seconds: float | None) -> str:
    if seconds is None or math.isnan(seconds):
        return "n/a"
    value = seconds * 1000
    return f"{value:.0f}" if value >= 100 else f"{value:.1f}"


def ratio(value: float | None) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.2f}x"


def verdict(ok: bool | None) -> str:
    return "n/a" if ok is None else ("ok" if ok else "**MISS**")


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def geomean(values: list[float]) -> float:
    return math.exp(sum(math.log(v) for v in values) / len(values)) if values else float("nan")


def table(headers: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def progress(message: str) -> None:
    sys.stderr.write(f"bench: {message}\n")
    sys.stderr.flush()


# --- 1 and 4: edit-to-effect ------------------------------------------------------------


@dataclass
class Rounds:
    """Edit-to-effect latencies of one scenario."""

    label: str
    latencies: list[float]
    failures: int
    notes: list[str]
    reported: list[float]  # hmr-ast's own "reran ... in X ms"
    rounds: int
    first: float | None = None  # the first edit after start-up, included in median and max

    def row(self, target: float | None = None) -> list[str]:
        mid = median(self.latencies)
        ok = None if target is None or not self.latencies else mid <= target and not self.failures
        return [
            self.label,
            str(self.rounds),
            str(self.failures),
            ms(self.first),
            ms(mid),
            ms(max(self.latencies) if self.latencies else None),
            ms(median(self.reported)) if self.reported else "",
            verdict(ok) if target is not None else "",
            _summarize_notes(self.notes),
        ]


ROUND_HEADERS = [
    "scenario",
    "rounds",
    "failures",
    "first edit ms",
    "median ms",
    "max ms",
    "hmr-ast says rerun took (median ms)",
    "target",
    "notes",
]


def _pause(rng: random.Random) -> None:
    """Edits land at random moments relative to the watcher's polling."""
    time.sleep(rng.uniform(0.15, 0.4))


_WRONG, _LATE, _REPEATED = "wrong line", f"no new value in {EDIT_TIMEOUT:.0f} s", "repeated line"


def _judge(lines: list[str], expected: str, allowed: set[str], notes: list[str]) -> bool:
    """Whether the output of one round is right: the expected line once, nothing stale.

    ``notes`` gets one entry per problem: a kind, then (for wrong lines) the line itself.
    """
    wrong = [line for line in lines if line != expected and line not in allowed]
    notes += [f"{_WRONG}\t{line}" for line in wrong]
    if lines.count(expected) > 1:
        notes.append(_REPEATED)
    return not wrong


def _summarize_notes(notes: list[str]) -> str:
    """``3 wrong lines (e.g. `value 5 8`, `valuevalue 6 12`); 1 no new value in 15 s``."""
    parts = []
    for kind in (_WRONG, _LATE, _REPEATED):
        found = [note.partition("\t")[2] for note in notes if note.startswith(kind)]
        if not found:
            continue
        text = f"{len(found)} x {kind}"
        examples = list(dict.fromkeys(found))[:3] if kind == _WRONG else []
        if examples:
            text += f" (e.g. {', '.join(f'`{line}`' for line in examples)})"
        parts.append(text)
    return "; ".join(parts)


def watched_rounds(
    label: str,
    command: list[str],
    root: Path,
    rounds: int,
    source: Callable[[int], str] = programs.leaf_source,
    *,
    allowed: frozenset[str] = frozenset(),
    seed: int = 7,
) -> Rounds:
    """Start ``command`` (a watcher: ``hmr-ast run app.py``, the watchfiles CLI), then time
    ``rounds`` rewrites of ``leaf.py`` (to ``source(n)``) each to its effect on stdout."""
    rng = random.Random(seed)
    child = Child(command, root)
    latencies: list[float] = []
    reported: list[float] = []
    notes: list[str] = []
    failures = 0
    first = None
    try:
        child.wait_line(is_line(programs.expected_value_line(0)), 0, START_TIMEOUT, "its value")
        time.sleep(1.0)  # as a person would; edits before the watch are caught by a sweep
        for value in range(1, rounds + 1):
            _pause(rng)
            out, err = child.out.mark(), child.err.mark()
            expected = programs.expected_value_line(value)
            text = source(value)
            started = time.perf_counter()
            (root / "leaf.py").write_text(text)
            index = child.out.wait_for(is_line(expected), out, EDIT_TIMEOUT)
            if index is None:
                failures += 1
                notes.append(_LATE)
                _judge(child.out.since(out), expected, allowed, notes)
                if child.process.poll() is not None:
                    raise BenchError(f"{label}: the process exited:\n{child.err.tail()}")
                continue
            latencies.append(child.out.items[index][0] - started)
            if value == 1:
                first = latencies[0]
            time.sleep(0.1)  # anything printed late (a second rerun) belongs to this round
            if not _judge(child.out.since(out), expected, allowed, notes):
                failures += 1
            said = [_RERAN.search(line) for line in child.err.since(err)]
            reported += [float(m.group(1)) / 1000 for m in said if m][:1]
    finally:
        child.stop()
    return Rounds(label, latencies, failures, notes, reported, rounds, first)


def restart_rounds(label: str, root: Path, rounds: int, seed: int = 11) -> Rounds:
    """What uvicorn --reload does with a perfect watcher: kill, start ``python app.py`` again."""
    rng = random.Random(seed)
    child = Child([*PLAIN, "app.py"], root)
    latencies: list[float] = []
    notes: list[str] = []
    failures = 0
    try:
        child.wait_line(is_line(programs.expected_value_line(0)), 0, START_TIMEOUT, "its value")
        for value in range(1, rounds + 1):
            _pause(rng)
            expected = programs.expected_value_line(value)
            started = time.perf_counter()
            (root / "leaf.py").write_text(programs.leaf_source(value))
            child.stop()
            child = Child([*PLAIN, "app.py"], root)
            index, stamp = child.wait_line(is_line(expected), 0, START_TIMEOUT, repr(expected))
            latencies.append(stamp - started)
            if not _judge(child.out.since(0), expected, {programs.SLOW_BANNER}, notes):
                failures += 1
    finally:
        child.stop()
    return Rounds(
        label, latencies, failures, notes, [], rounds, latencies[0] if latencies else None
    )


_SHAPES = (
    ("once", "(a) entry prints once and finishes"),
    ("loop", "(b) entry loops, reading `leaf.VALUE`, `mid.DOUBLE`"),
    ("loop-call", "(c) entry loops, calling `mid.value()`"),
)


def bench_latency(mode: Mode, tmp: Path) -> str:
    rows = []
    hot_medians = []
    restart_median = float("nan")
    for shape, label in _SHAPES:
        root = tmp / f"latency-{shape}"
        programs.latency_program(root, shape)
        progress(f"latency {label}: hmr-ast")
        hot = watched_rounds(f"hmr-ast, {label}", [*HOT, "app.py"], root, mode.latency_rounds)
        rows.append(hot.row(0.020))
        hot_medians.append(median(hot.latencies))
        if shape == "loop-call":
            continue
        rounds = mode.restart_rounds[0 if shape == "once" else 1]
        if not rounds:
            continue
        progress(f"latency {label}: full restart")
        (root / "leaf.py").write_text(programs.leaf_source(0))
        restart = restart_rounds(f"full restart (kill + start), {label}", root, rounds)
        rows.append(restart.row())
        if shape == "once":
            restart_median = median(restart.latencies)
            progress(f"latency {label}: watchfiles CLI")
            (root / "leaf.py").write_text(programs.leaf_source(0))
            command = [*WATCHFILES_CLI, f"{shlex.quote(sys.executable)} app.py", "."]
            banner = frozenset({programs.SLOW_BANNER})
            label = f"`watchfiles 'python app.py'` CLI, {label}"
            cli = watched_rounds(label, command, root, mode.watchfiles_rounds, allowed=banner)
            rows.append(cli.row())
    speedup = restart_median / max(hot_medians)
    return "\n".join(
        [
            "## 1. Edit-to-effect latency (target: median <= 20 ms)",
            "",
            "Program: entry imports `slow` (`time.sleep(2)`, a model load), `leaf` and `mid` "
            "(`DOUBLE = leaf.VALUE * 2`); each round rewrites `leaf.py` and waits for "
            "`value N 2N` on stdout. A round fails if that line does not come within 15 s or "
            "any other line is printed: a half-updated `value N 2(N-1)`, a torn line, the "
            "slow module loading again. A repeated correct line is noted, not failed.",
            "",
            table(ROUND_HEADERS, rows),
            "",
            f"Full restart (a) / slowest hmr-ast median: {speedup:.0f}x.",
        ]
    )


# --- 2: steady-state overhead -------------------------------------------------------------


def _kernel_run(command: list[str], root: Path) -> dict[str, float]:
    child = Child([*command, "app.py"], root)
    try:
        index, _ = child.wait_line(
            lambda line: line.startswith("BENCH-JSON "), 0, RESULT_TIMEOUT, "its timings"
        )
        return json.loads(child.out.items[index][1].partition(" ")[2])
    finally:
        child.stop()


def bench_overhead(mode: Mode, tmp: Path) -> str:
    root = tmp / "kernels"
    programs.kernel_program(root, iterations=mode.kernel_iterations, repeats=mode.kernel_repeats)
    runs: dict[str, list[dict[str, float]]] = {"plain": [], "hot": []}
    order = []
    for pair in range(mode.kernel_pairs):  # ABBA: drift in machine load cancels out
        order += ["plain", "hot"] if pair % 2 == 0 else ["hot", "plain"]
    for number, variant in enumerate(order, 1):
        progress(f"overhead: run {number}/{len(order)} ({variant})")
        runs[variant].append(_kernel_run(PLAIN if variant == "plain" else HOT, root))
    sections = []
    for placement, limit in (("function", 1.03), ("module level", None)):
        rows = []
        ratios = []
        for name in programs.KERNELS:
            key = f"{placement}: {name}"
            # Each run's best-of-N filters noise inside a process; the median over runs
            # filters the fast or slow modes a whole process can land in (layout, CPU).
            plain = median([run[key] for run in runs["plain"]])
            hot = median([run[key] for run in runs["hot"]])
            pair_ratios = [h[key] / p[key] for p, h in zip(runs["plain"], runs["hot"])]
            ratios.append(hot / plain)
            ok = hot / plain <= 1.10 if limit else None
            rows.append(
                [
                    name,
                    ms(plain),
                    ms(hot),
                    ratio(hot / plain),
                    f"{min(pair_ratios):.2f}-{max(pair_ratios):.2f}",
                    verdict(ok) if limit else "",
                ]
            )
        mean = geomean(ratios)
        rows.append(
            [
                "**geomean**",
                "",
                "",
                f"**{ratio(mean)}**",
                "",
                verdict(mean <= limit) if limit else "",
            ]
        )
        headers = ["kernel", "plain ms", "hmr-ast ms", "ratio", "run-pair range"]
        headers.append("target (<= 1.10x each)" if limit else "")
        title = (
            "Loop inside a function (not instrumented: the target applies)"
            if limit
            else "Same loop at module level of the entry (instrumented code; reported apart)"
        )
        sections += [f"### {title}", "", table(headers, rows), ""]
    return "\n".join(
        [
            "## 2. Steady-state overhead (target: geomean <= 1.03x, none worse than 1.10x)",
            "",
            f"Each kernel: {mode.kernel_iterations:,} iterations in a function, "
            f"{mode.kernel_iterations // programs.MODULE_LEVEL_SHARE:,} at module level, best of "
            f"{mode.kernel_repeats} inside each run, timed by the program itself after its "
            f"imports; {mode.kernel_pairs} runs each of `python app.py` and "
            "`hmr-ast run app.py`, alternated (ABBA); ms = median over runs of each run's best; "
            "ratio = hmr-ast / plain.",
            "",
            *sections,
        ]
    )


# --- 3: start-up --------------------------------------------------------------------------


def _clear_caches(root: Path) -> None:
    for cache in list(root.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def _alternate(run: int, first, second) -> tuple:
    """ABBA order: which variant goes first flips each run, so drift in load cancels out."""
    return (first, second) if run % 2 == 0 else (second, first)


def time_to_ready(command: list[str], root: Path, env: dict[str, str] | None = None) -> float:
    child = Child(command, root, env)
    try:
        _, stamp = child.wait_line(is_line("ready"), 0, START_TIMEOUT, "'ready'")
        return stamp - child.started
    finally:
        child.stop()


def bench_startup(mode: Mode, tmp: Path) -> tuple[str, Path]:
    root = tmp / "startup"
    programs.project_program(root, 200)
    times: dict[str, list[float]] = {
        k: [] for k in ("bare", "plain cold", "hot cold", "plain warm", "hot warm")
    }
    bare = [sys.executable, "-c", "print('ready', flush=True)"]
    for run in range(mode.startup_runs):
        progress(f"start-up: cold run {run + 1}/{mode.startup_runs}")
        times["bare"].append(time_to_ready(bare, root))
        for variant, command in _alternate(run, ("plain cold", PLAIN), ("hot cold", HOT)):
            _clear_caches(root)
            times[variant].append(time_to_ready([*command, "app.py"], root))
    time_to_ready([*PLAIN, "app.py"], root)  # fill both caches
    time_to_ready([*HOT, "app.py"], root)
    for run in range(mode.startup_runs):
        progress(f"start-up: warm run {run + 1}/{mode.startup_runs}")
        for variant, command in _alternate(run, ("plain warm", PLAIN), ("hot warm", HOT)):
            times[variant].append(time_to_ready([*command, "app.py"], root))
    medians = {key: median(values) for key, values in times.items()}
    rows = []
    for key, label, base, limit in (
        ("bare", "`python -c \"print('ready')\"` (interpreter alone)", None, None),
        ("plain cold", "`python app.py`, no `__pycache__`", None, None),
        ("hot cold", "`hmr-ast run app.py`, no `__pycache__`", "plain cold", 3.0),
        ("plain warm", "`python app.py`, `.pyc` cached", None, None),
        ("hot warm", "`hmr-ast run app.py`, its cache filled", "plain warm", 1.3),
    ):
        value = medians[key] / medians[base] if base else None
        extra = f"{ms(medians[key] - medians[base])} ms more" if base else ""  # what hmr-ast adds
        rows.append(
            [
                label,
                ms(medians[key]),
                ms(min(times[key])),
                ms(max(times[key])),
                ratio(value) if base else "",
                extra,
                f"<= {limit}x: {verdict(value <= limit)}" if limit else "",
            ]
        )
    text = "\n".join(
        [
            "## 3. Start-up of a 200-module program (targets: warm <= 1.3x, cold <= 3x)",
            "",
            "Generated program: 200 modules in 8 packages (constants, comprehensions, "
            "functions, a dataclass, a class each; up to two imports of earlier modules); time "
            "from `Popen` to the entry's `ready` line after importing them all. "
            f"{mode.startup_runs} runs each, alternated; PYTHONDONTWRITEBYTECODE unset for all.",
            "",
            table(
                ["variant", "median ms", "min ms", "max ms", "ratio", "hmr-ast adds", "target"],
                rows,
            ),
        ]
    )
    return text, root


# --- 4: rerun cost vs size ----------------------------------------------------------------


def bench_sizes(mode: Mode, tmp: Path) -> str:
    ready = frozenset({"ready"})  # the entry prints it again on each rerun
    results = []
    for modules in (10, 100, 1000):
        root = tmp / f"size-{modules}"
        programs.project_program(root, modules)
        progress(f"rerun cost: {modules} modules")
        label = f"{modules} modules, 1-line leaf"
        results.append(
            watched_rounds(label, [*HOT, "app.py"], root, mode.size_rounds, allowed=ready)
        )
    for lines in (100, 1000, 5000):
        root = tmp / f"lines-{lines}"
        programs.big_module_program(root, lines)
        progress(f"rerun cost: {lines}-line module")
        label = f"3 modules, {lines}-line leaf"
        source = functools.partial(programs.big_leaf_source, lines=lines)
        command = [*HOT, "app.py"]
        results.append(
            watched_rounds(label, command, root, mode.size_rounds, source, allowed=ready)
        )
    rows = [result.row() for result in results]
    medians = [median(result.latencies) for result in results]
    growth = medians[2] / medians[0]
    # Linear: the cost per line from 1000 to 5000 lines is no more than from 100 to 1000.
    slope_low = (medians[4] - medians[3]) / 900
    slope_high = (medians[5] - medians[4]) / 4000
    linear = slope_high <= 1.5 * max(slope_low, 1e-9)
    return "\n".join(
        [
            "## 4. Rerun cost against project size (target: flat; at most linear in lines)",
            "",
            "Each round edits `leaf.py`, read by `reader`, read by the entry (which imports "
            "every generated module, so the graph holds them all); edit-to-effect as in 1. "
            "The first edit after start-up is in the median and max too.",
            "",
            table(ROUND_HEADERS[:-2] + ["notes"], [row[:-2] + row[-1:] for row in rows]),
            "",
            f"- 1000 modules / 10 modules: {ratio(growth)} "
            f"(flat means <= 1.5x: {verdict(growth <= 1.5)}).",
            f"- Cost per 1000 lines: {ms(slope_low * 1000)} ms from 100 to 1000 lines, "
            f"{ms(slope_high * 1000)} ms from 1000 to 5000 lines "
            f"(linear means the second is <= 1.5x the first: {verdict(linear)}).",
        ]
    )


# --- 5: hmr-ast's own import cost -----------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _importtime(statement: str) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) for each import ``statement`` makes."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", statement],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise BenchError(f"python -c {statement!r} failed:\n{result.stderr[-2000:]}")
    rows = []
    for line in result.stderr.splitlines():
        match = _IMPORT_LINE.match(line)
        if match:
            rows.append(
                (
                    int(match.group(1)),
                    int(match.group(2)),
                    len(match.group(3)) // 2,
                    match.group(4),
                )
            )
    return rows


def _modules_at_ready(command: list[str], root: Path) -> list[str]:
    listing = root / "modules.json"
    time_to_ready([*command, "app.py"], root, child_env(BENCH_MODULES_FILE=str(listing)))
    return json.loads(listing.read_text())


#: What ``hmr-ast run`` loads before the entry starts, and what its watcher thread loads
#: while the entry starts (the native watcher alone if hmr-ast has ``load_rust_notify``).
_LOADS = (
    ("`import hmr_ast.cli`", "import hmr_ast.cli", "`hmr-ast run`, first"),
    ("`import hmr_ast.session`", "import hmr_ast.session", "`hmr-ast run`, before the entry"),
    (
        "the native file watcher",
        "import hmr_ast.watcher as w; (getattr(w, 'load_rust_notify', None)"
        " or (lambda: __import__('watchfiles')))()",
        "the watcher thread, while the entry starts (competes for the GIL)",
    ),
)
_TIMED = """\
import sys, time
before = set(sys.modules)
started = time.perf_counter()
exec({statement!r})
print((time.perf_counter() - started) * 1000, len(set(sys.modules) - before))
"""


def _timed_load(statement: str) -> tuple[float, int]:
    """Wall milliseconds of ``statement`` in a fresh interpreter, and modules it added."""
    result = subprocess.run(
        [sys.executable, "-c", _TIMED.format(statement=statement)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise BenchError(f"python -c {statement!r} failed:\n{result.stderr[-2000:]}")
    elapsed, count = result.stdout.split()
    return float(elapsed), int(count)


def bench_imports(mode: Mode, startup_root: Path) -> str:
    rows = []
    for label, statement, when in _LOADS:
        timings = [_timed_load(statement) for _ in range(mode.importtime_runs)]
        best = min(timings)
        rows.append([label, f"{best[0]:.1f}", str(best[1]), when])
    baseline = {name for _, _, _, name in _importtime("pass")}
    session = [row for row in _importtime("import hmr_ast.session") if row[3] not in baseline]
    heavy_rows = sorted(
        (row for row in session if row[2] <= 1),
        key=lambda row: -row[1],
    )[:12]
    for command in (PLAIN, HOT):  # warm both caches: this is about a warm start
        time_to_ready([*command, "app.py"], startup_root)
    plain = set(_modules_at_ready(PLAIN, startup_root))
    hot = _modules_at_ready(HOT, startup_root)
    added = [name for name in hot if name not in plain]
    watch = ("networkx", "libcst", "ast", "dis", "inspect", "hmr_ast.transform", "hmr_ast.graph")
    flagged = [name for name in watch if name in added]
    tops = sorted({name.partition(".")[0] for name in added})
    return "\n".join(
        [
            "## 5. hmr-ast's own import cost",
            "",
            f"Each statement timed in a fresh `python -c`, best of {mode.importtime_runs}.",
            "",
            table(["what", "ms", "modules it adds", "loaded by"], rows),
            "",
            "Biggest imports on the `run` path (`python -X importtime -c 'import "
            "hmr_ast.session'`, depth <= 1):",
            "",
            table(
                ["module", "cumulative ms", "self ms", "depth"],
                [
                    [f"`{name}`", f"{cum / 1000:.1f}", f"{own / 1000:.1f}", str(depth)]
                    for own, cum, depth, name in heavy_rows
                ],
            ),
            "",
            f"Warm start of the 200-module program: {len(added)} modules are in `sys.modules` "
            "when the entry prints `ready` under hmr-ast that are not there under plain python "
            f"(top-level packages: {', '.join(f'`{t}`' for t in tops)}).",
            "",
            "Heavy modules on that list (should be none of networkx, libcst, ast, "
            f"hmr_ast.transform, hmr_ast.graph): {', '.join(f'`{f}`' for f in flagged) or 'none'}.",
        ]
    )


# --- main --------------------------------------------------------------------------------


def _header(mode: Mode) -> str:
    try:
        revision = subprocess.run(
            ["git", "-C", str(REPO), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        revision = "unknown"
    version = subprocess.run(
        [sys.executable, "-c", "import hmr_ast; print(hmr_ast.__version__)"],
        capture_output=True,
        text=True,
        timeout=60,
    ).stdout.strip()
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return "\n".join(
        [
            f"# hmr-ast core benchmark ({mode.name} mode)",
            "",
            f"hmr-ast {version} at `{revision}`, Python {sys.version.split()[0]}, "
            f"{os.cpu_count()} CPUs, load average at start {load}.",
        ]
    )


SECTIONS = ("latency", "overhead", "startup", "sizes", "imports")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: about two minutes")
    parser.add_argument("--out", type=Path, help="also write the tables to this file")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    arguments = list(sys.argv[1:] if argv is None else argv)
    options = parser.parse_args(arguments)
    mode = QUICK if options.quick else FULL
    wanted = [section for section in SECTIONS if section in (options.only or SECTIONS)]
    began = time.perf_counter()
    parts = [_header(mode)]
    with tempfile.TemporaryDirectory(prefix="hmr-bench-") as directory:
        tmp = Path(directory)
        startup_root: Path | None = None
        for section in wanted:
            section_began = time.perf_counter()
            try:
                if section == "latency":
                    parts.append(bench_latency(mode, tmp))
                elif section == "overhead":
                    parts.append(bench_overhead(mode, tmp))
                elif section == "startup":
                    text, startup_root = bench_startup(mode, tmp)
                    parts.append(text)
                elif section == "sizes":
                    parts.append(bench_sizes(mode, tmp))
                elif section == "imports":
                    if startup_root is None:
                        startup_root = tmp / "startup"
                        programs.project_program(startup_root, 200)
                    parts.append(bench_imports(mode, startup_root))
            except BenchError as error:
                parts.append(f"## {section}: could not measure\n\n```\n{error}\n```")
                progress(f"{section} failed: {error}")
            finally:
                _stop_children()
                progress(f"{section} took {time.perf_counter() - section_began:.0f} s")
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    parts.append(
        f"Total {time.perf_counter() - began:.0f} s; load average at the end {load}. "
        f"Command: `python tools/bench_core.py {shlex.join(arguments)}`"
    )
    report = "\n\n".join(parts) + "\n"
    print(report)
    if options.out:
        options.out.write_text(report)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        _stop_children()
        sys.exit(130)
