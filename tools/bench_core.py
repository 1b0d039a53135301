"""The measurements behind ``tools/bench.py``: real processes, real files, real watchers.

Each measurement takes a ``Lineup`` (plain python, hmr-ast, the peers, all on one
interpreter) and returns markdown. Every round is also a correctness check: a round whose
output is wrong counts as a failure, never as a time.

1. edit-to-effect latency: from ``time.perf_counter()`` right before a file write to the line
   with the new value arriving on the child's stdout (timestamped by a reader thread);
2. rerun cost against project size and against the size of the edited module;
3. start-up of a generated 200-module program, cold and warm caches;
4. steady-state overhead: CPU kernels timed inside the program, after its imports;
5. peak RSS of the 200-module program, at ready and after one edit;
6. hmr-ast's own import cost, and what it imports before the user's program is ready.

Timings on a shared machine are noisy: compare the ratios, which come from runs that
alternate in one session, more than the absolute numbers.
"""

from __future__ import annotations

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
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import bench_programs as programs

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT = 180.0  # a cold start of 1000 modules on a loaded machine
EDIT_TIMEOUT = 5.0  # hmr-ast's worst rerun here is ~0.2 s; 5 s without the line is a miss
WRONG_GRACE = 0.5  # after a wrong line, how long the right one may still take
RESULT_TIMEOUT = 600.0  # the kernel program under a slow tool on a slow machine
_RERAN = re.compile(r"reran .* in ([\d.]+) ms")


class BenchError(Exception):
    """A measurement could not be taken (a child hung, crashed or printed nonsense)."""


@dataclass(frozen=True)
class Mode:
    name: str
    latency_rounds: int
    restart_rounds: int
    watchfiles_rounds: int
    slow_seconds: float  # the "model load" of the latency program
    give_up: int  # consecutive rounds without effect after which a scenario stops
    stop_on_wrong: bool  # whether a wrong line counts as no effect for give_up
    kernel_iterations: int
    kernel_repeats: int
    kernel_budget: float  # seconds per kernel and run: a slow tool repeats less
    kernel_runs: int  # runs per tool, in rotating order
    startup_runs: int
    memory_runs: int
    size_rounds: int
    module_counts: tuple[int, ...]
    line_counts: tuple[int, ...]
    importtime_runs: int


QUICK = Mode(
    name="quick",
    latency_rounds=6,
    restart_rounds=3,
    watchfiles_rounds=2,
    slow_seconds=0.5,
    give_up=1,
    stop_on_wrong=True,
    kernel_iterations=50_000,
    kernel_repeats=3,
    kernel_budget=0.15,
    kernel_runs=2,
    startup_runs=3,
    memory_runs=1,
    size_rounds=5,
    module_counts=(10, 1000),
    line_counts=(100, 5000),
    importtime_runs=3,
)
FULL = Mode(
    name="full",
    latency_rounds=20,
    restart_rounds=10,
    watchfiles_rounds=10,
    slow_seconds=2.0,
    give_up=3,
    stop_on_wrong=False,
    kernel_iterations=200_000,
    kernel_repeats=7,
    kernel_budget=1.0,
    kernel_runs=6,
    startup_runs=10,
    memory_runs=3,
    size_rounds=15,
    module_counts=(10, 100, 1000),
    line_counts=(100, 1000, 5000),
    importtime_runs=10,
)


@dataclass(frozen=True)
class Tool:
    """One way to run the program ``app.py`` of a folder."""

    key: str  # "plain", "hmr-ast", "hmr", "jurigged"
    command: tuple[str, ...]  # the whole argv, entry included
    how: str = ""  # one line for the table of tools: version, how it is installed
    env: tuple[tuple[str, str], ...] = ()  # set for this tool's processes

    def start(self, root: Path, **env: str) -> Child:
        return Child(self.command, root, child_env(**dict(self.env), **env))


@dataclass(frozen=True)
class Lineup:
    """What is compared, all on one interpreter: plain python, hmr-ast, and the peers."""

    plain: Tool
    hot: Tool
    peers: tuple[Tool, ...]
    watchfiles_cli: Tool | None = None

    @property
    def python(self) -> str:
        return self.plain.command[0]

    @property
    def reloaders(self) -> tuple[Tool, ...]:
        return (self.hot, *self.peers)

    @property
    def runners(self) -> tuple[Tool, ...]:
        return (self.plain, self.hot, *self.peers)


# --- child processes --------------------------------------------------------------------


def child_env(**extra: str) -> dict[str, str]:
    """The machine sets PYTHONDONTWRITEBYTECODE, which would disable every bytecode cache
    (hmr-ast's too): drop it for every tool alike."""
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

    def __init__(self, args: list[str] | tuple[str, ...], cwd: Path, env=None) -> None:
        self.args = list(args)
        self.peak_rss: int | None = None  # bytes, known once stopped
        self.started = time.perf_counter()
        self.process = subprocess.Popen(
            self.args,
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
            state = "exited" if self.out.closed else f"no line in {timeout:.0f} s"
            raise BenchError(
                f"`{shlex.join(self.args)}` never printed {what} ({state}).\n"
                f"stdout tail:\n{self.out.tail()}\nstderr tail:\n{self.err.tail()}"
            )
        return index, self.out.items[index][0]

    def stop(self) -> None:
        """Kill the group and reap the process with ``wait4``, which also says its peak RSS."""
        if self.process.returncode is None:
            # Not reaped yet, so its group id cannot belong to anyone else.
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            try:
                _, status, usage = os.wait4(self.process.pid, 0)
                self.process.returncode = os.waitstatus_to_exitcode(status)
                self.peak_rss = usage.ru_maxrss * 1024  # kilobytes on Linux
            except ChildProcessError:
                self.process.wait(timeout=30)
        _children.discard(self)


@atexit.register
def stop_children() -> None:
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


def rotated(items: tuple | list, run: int) -> list:
    """Run ``run``'s order: runs come in pairs, one order then its reverse (ABBA), and each
    pair starts one tool further on, so drift in machine load hits every tool alike."""
    shift = (run // 2) % len(items)
    order = list(items[shift:]) + list(items[:shift])
    return order[::-1] if run % 2 else order


# --- edit-to-effect rounds (1 and 4) ------------------------------------------------------


@dataclass
class Rounds:
    """Edit-to-effect latencies of one tool in one scenario."""

    tool: str
    latencies: list[float] = field(default_factory=list)
    failures: int = 0
    notes: list[str] = field(default_factory=list)
    reported: list[float] = field(default_factory=list)  # hmr-ast's own "reran ... in X ms"
    rounds: int = 0  # rounds actually run
    first: float | None = None  # the first edit after start-up, included in median and max
    gave_up: bool = False

    @property
    def median(self) -> float:
        return median(self.latencies)

    def cells(self) -> list[str]:
        """rounds, failures, first, median, max, self-reported, notes."""
        return [
            str(self.rounds),
            str(self.failures) if not self.failures else f"**{self.failures}**",
            ms(self.first),
            ms(self.median),
            ms(max(self.latencies) if self.latencies else None),
            ms(median(self.reported)) if self.reported else "",
            self.summary(),
        ]

    def summary(self) -> str:
        """``3 x wrong line (e.g. `value 5 8`); 1 x no new value in 5 s; gave up``."""
        parts = []
        for kind in (_WRONG, _LATE, _REPEATED, _EXITED):
            found = [note.partition("\t")[2] for note in self.notes if note.startswith(kind)]
            if not found:
                continue
            text = f"{len(found)} x {kind}"
            examples = list(dict.fromkeys(found))[:2] if kind == _WRONG else []
            if examples:
                text += f" (e.g. {', '.join(f'`{line}`' for line in examples)})"
            parts.append(text)
        if self.gave_up:
            parts.append("then stopped: no right value for rounds in a row")
        return "; ".join(parts)


ROUND_HEADERS = [
    "rounds",
    "failures",
    "first edit ms",
    "median ms",
    "max ms",
    "hmr-ast says rerun took (median ms)",
    "notes",
]

_WRONG, _LATE = "wrong line", f"no new value in {EDIT_TIMEOUT:.0f} s"
_REPEATED, _EXITED = "repeated line", "the process exited"


def _pause(rng: random.Random) -> None:
    """Edits land at random moments relative to the watchers' polling."""
    time.sleep(rng.uniform(0.15, 0.4))


def _judge(lines: list[str], expected: str, allowed: frozenset[str], notes: list[str]) -> bool:
    """Whether the output of one round is right: the expected line, nothing stale or torn."""
    wrong = [line for line in lines if line != expected and line not in allowed]
    notes += [f"{_WRONG}\t{line}" for line in wrong]
    if lines.count(expected) > 1:
        notes.append(_REPEATED)
    return not wrong


def _wait_round(child: Child, expected: str, allowed: frozenset[str], start: int) -> int | None:
    """Index of the expected line; None if it did not come in EDIT_TIMEOUT, or not within
    WRONG_GRACE of a wrong line (a peer that prints a stale value will not fix it later)."""
    deadline = time.monotonic() + EDIT_TIMEOUT
    settled = child.out.wait_for(lambda line: line not in allowed, start, EDIT_TIMEOUT)
    if settled is None or child.out.items[settled][1] == expected:
        return settled
    remaining = min(deadline - time.monotonic(), WRONG_GRACE)
    return child.out.wait_for(is_line(expected), settled, max(remaining, 0.0))


def watched_rounds(
    tool: Tool,
    root: Path,
    rounds: int,
    give_up: int,
    source: Callable[[int], str] = programs.leaf_source,
    *,
    allowed: frozenset[str] = frozenset(),
    stop_on_wrong: bool = True,
    seed: int = 7,
) -> Rounds:
    """Start ``tool`` (a watcher) on ``root/app.py``, then time ``rounds`` rewrites of
    ``leaf.py`` (to ``source(n)``) each to its effect on stdout. Stops after ``give_up``
    rounds in a row that printed nothing new (a peer that cannot do this edit), or nothing
    right if ``stop_on_wrong`` (saves time; hides how often a flaky peer is wrong)."""
    rng = random.Random(seed)
    (root / "leaf.py").write_text(source(0))
    result = Rounds(tool.key)
    child = tool.start(root)
    misses = 0
    try:
        child.wait_line(is_line(programs.expected_value_line(0)), 0, START_TIMEOUT, "its value")
        time.sleep(0.5)  # a person's pause before the first save, not a wait for an event
        for value in range(1, rounds + 1):
            if misses >= give_up:
                result.gave_up = True
                break
            _pause(rng)
            out, err = child.out.mark(), child.err.mark()
            expected = programs.expected_value_line(value)
            text = source(value)
            result.rounds += 1
            started = time.perf_counter()
            (root / "leaf.py").write_text(text)
            index = _wait_round(child, expected, allowed, out)
            if index is None:
                result.failures += 1
                lines = child.out.since(out)
                _judge(lines, expected, allowed, result.notes)
                silent = all(line in allowed for line in lines)
                misses = misses + 1 if silent or stop_on_wrong else 0
                if silent:
                    result.notes.append(_EXITED if child.out.closed else _LATE)
                if child.out.closed:
                    break
                continue
            misses = 0
            result.latencies.append(child.out.items[index][0] - started)
            if value == 1:
                result.first = result.latencies[0]
            time.sleep(0.1)  # anything printed late (a second rerun) belongs to this round
            if not _judge(child.out.since(out), expected, allowed, result.notes):
                result.failures += 1
            said = [_RERAN.search(line) for line in child.err.since(err)]
            result.reported += [float(m.group(1)) / 1000 for m in said if m][:1]
    finally:
        child.stop()
    return result


def restart_rounds(plain: Tool, root: Path, rounds: int, seed: int = 11) -> Rounds:
    """What uvicorn --reload does with a perfect watcher: kill, start ``python app.py`` again.

    Without ``.pyc`` files: an edit within the same second that keeps the file's size (our
    ``VALUE = 1`` -> ``VALUE = 2``) would otherwise run the stale cached code, as CPython's
    mtime-based ``.pyc`` check allows."""
    rng = random.Random(seed)
    (root / "leaf.py").write_text(programs.leaf_source(0))
    result = Rounds("full restart")
    restart = replace(plain, env=(("PYTHONDONTWRITEBYTECODE", "1"),))
    _clear_caches(root)
    child = restart.start(root)
    try:
        child.wait_line(is_line(programs.expected_value_line(0)), 0, START_TIMEOUT, "its value")
        for value in range(1, rounds + 1):
            _pause(rng)
            expected = programs.expected_value_line(value)
            result.rounds += 1
            started = time.perf_counter()
            (root / "leaf.py").write_text(programs.leaf_source(value))
            child.stop()
            child = restart.start(root)
            _, stamp = child.wait_line(is_line(expected), 0, START_TIMEOUT, repr(expected))
            result.latencies.append(stamp - started)
            banner = frozenset({programs.SLOW_BANNER})
            if not _judge(child.out.since(0), expected, banner, result.notes):
                result.failures += 1
    finally:
        child.stop()
    result.first = result.latencies[0] if result.latencies else None
    return result


# --- 1: edit-to-effect latency ------------------------------------------------------------

_SHAPES = (
    ("once", "(a) entry prints once and finishes"),
    ("loop", "(b) entry loops, reading `leaf.VALUE`, `mid.DOUBLE`"),
    ("loop-call", "(c) entry loops, calling `mid.value()`"),
    ("loop-leaf", "(d) entry loops, reading only `leaf.VALUE`"),
)


def bench_latency(mode: Mode, lineup: Lineup, tmp: Path) -> str:
    rows = []
    by_tool: dict[str, list[float]] = {}
    hot: list[Rounds] = []
    banner = frozenset({programs.SLOW_BANNER})
    for shape, label in _SHAPES:
        root = tmp / f"latency-{shape}"
        programs.latency_program(root, shape, slow_seconds=mode.slow_seconds)
        for tool in lineup.reloaders:
            progress(f"latency {label}: {tool.key}")
            result = watched_rounds(
                tool, root, mode.latency_rounds, mode.give_up, stop_on_wrong=mode.stop_on_wrong
            )
            rows.append([label, f"**{tool.key}**", *result.cells()])
            if tool is lineup.hot:
                hot.append(result)
            if result.latencies and not result.failures:
                by_tool.setdefault(tool.key, []).append(result.median)
        if shape != "once":
            continue
        progress(f"latency {label}: full restart")
        restart = restart_rounds(lineup.plain, root, mode.restart_rounds)
        rows.append([label, "full restart (kill + start)", *restart.cells()])
        by_tool["full restart"] = [restart.median]
        if lineup.watchfiles_cli:
            progress(f"latency {label}: watchfiles CLI")
            cli = watched_rounds(
                lineup.watchfiles_cli, root, mode.watchfiles_rounds, mode.give_up, allowed=banner
            )
            rows.append([label, "`watchfiles 'python app.py'` CLI", *cli.cells()])
    return "\n".join(
        [
            "## 1. Edit-to-effect latency (target: hmr-ast median <= 20 ms)",
            "",
            f"Program: the entry imports `slow` (`time.sleep({mode.slow_seconds:g})`, a model "
            "load), `leaf` and `mid` (`DOUBLE = leaf.VALUE * 2`); each round rewrites `leaf.py` "
            "and waits for `value N 2N` on stdout. A round fails if that line does not come "
            f"within {EDIT_TIMEOUT:.0f} s, or any other line comes: a half-updated "
            "`value N 2(N-1)`, a torn line, the slow module loading again (allowed only for the "
            f"restarts). A scenario stops after {mode.give_up} round(s) in a row "
            + ("without the new value" if mode.stop_on_wrong else "that printed nothing new")
            + ". A repeated correct line is noted, not failed.",
            "",
            table(["scenario", "tool", *ROUND_HEADERS], rows),
            "",
            _speedups(by_tool),
            "",
            _latency_target(hot),
        ]
    )


def _latency_target(hot: list[Rounds]) -> str:
    """hmr-ast's verdict: every shape's median within 20 ms, and no failure."""
    medians = ", ".join(f"({'abcd'[i]}) {ms(r.median)}" for i, r in enumerate(hot))
    ok = all(r.median <= 0.020 and not r.failures for r in hot)
    return (
        f"hmr-ast target (median <= 20 ms, no failure, every shape): {medians} ms: {verdict(ok)}."
    )


def _speedups(by_tool: dict[str, list[float]]) -> str:
    """How many times faster each reloader shows a change than a restart (shape a)."""
    restart = by_tool.get("full restart", [float("nan")])[0]
    parts = [
        f"{key} {restart / max(medians):.0f}x (its slowest clean shape: {ms(max(medians))} ms)"
        for key, medians in by_tool.items()
        if key != "full restart" and medians
    ]
    return f"Full restart (a) median / each tool's: {'; '.join(parts) or 'n/a'}."


# --- 4: steady-state overhead -------------------------------------------------------------


def _kernel_run(tool: Tool, root: Path) -> dict[str, dict[str, float]]:
    child = tool.start(root)
    try:
        index, _ = child.wait_line(
            lambda line: line.startswith("BENCH-JSON "), 0, RESULT_TIMEOUT, "its timings"
        )
        return json.loads(child.out.items[index][1].partition(" ")[2])
    finally:
        child.stop()


def _kernel_runs(mode: Mode, lineup: Lineup, root: Path) -> dict[str, list[dict]]:
    """Each tool's runs, in rotating order; a run that printed no result is an empty dict."""
    runs: dict[str, list[dict]] = {tool.key: [] for tool in lineup.runners}
    for run in range(mode.kernel_runs):
        for tool in rotated(lineup.runners, run):
            progress(f"overhead: run {run + 1}/{mode.kernel_runs} ({tool.key})")
            try:
                runs[tool.key].append(_kernel_run(tool, root))
            except BenchError as error:
                progress(f"overhead: {tool.key} failed: {error}")
                runs[tool.key].append({})
    return runs


def _kernel_cell(key: str, runs: list[dict], base: float, truth) -> tuple[str, float | None]:
    """``1.02x`` (and failures), the ratio of the median best time to plain python's."""
    good = [run["times"][key] for run in runs if run and run["checks"].get(key) == truth]
    failed = len(runs) - len(good)
    value = median(good) / base if good else None
    text = ratio(value) + (f" (**{failed} wrong/failed**)" if failed else "")
    return text, value


def bench_overhead(mode: Mode, lineup: Lineup, tmp: Path) -> str:
    root = tmp / "kernels"
    programs.kernel_program(
        root,
        iterations=mode.kernel_iterations,
        repeats=mode.kernel_repeats,
        budget=mode.kernel_budget,
    )
    runs = _kernel_runs(mode, lineup, root)
    plain_runs = [run for run in runs["plain"] if run]
    if not plain_runs:
        raise BenchError("plain python never printed its kernel timings")
    others = [tool.key for tool in lineup.runners if tool.key != "plain"]
    sections = []
    for placement in ("function", "module level"):
        rows = []
        ratios: dict[str, list[float]] = {key: [] for key in others}
        for name in programs.KERNELS:
            key = f"{placement}: {name}"
            base = median([run["times"][key] for run in plain_runs])
            truth = plain_runs[0]["checks"][key]
            row = [name, ms(base)]
            for tool_key in others:
                text, value = _kernel_cell(key, runs[tool_key], base, truth)
                row.append(text)
                if value is not None:
                    ratios[tool_key].append(value)
            rows.append(row)
        means = {key: geomean(values) for key, values in ratios.items()}
        rows.append(["**geomean**", "", *(f"**{ratio(means[key])}**" for key in others)])
        if placement == "function":
            hot = means["hmr-ast"]
            worst = max(ratios["hmr-ast"], default=float("nan"))
            target = (
                f"hmr-ast target: geomean <= 1.03x ({verdict(hot <= 1.03)}), none worse "
                f"than 1.10x (worst {ratio(worst)}: {verdict(worst <= 1.10)})."
            )
            title = "Loop inside a function (the code where real work lives)"
        else:
            target = "No target: hmr-ast records reads in module-level code while it runs."
            title = "Same loop at module level of the entry"
        headers = ["kernel", "plain ms", *(f"{key} / plain" for key in others)]
        sections += [f"### {title}", "", table(headers, rows), "", target, ""]
    return "\n".join(
        [
            "## 4. Steady-state overhead (target: hmr-ast geomean <= 1.03x, none > 1.10x)",
            "",
            f"Each kernel: {mode.kernel_iterations:,} iterations in a function, "
            f"{mode.kernel_iterations // programs.MODULE_LEVEL_SHARE:,} at module level, best "
            f"of up to {mode.kernel_repeats} (fewer once {mode.kernel_budget:g} s are spent on "
            "it), timed by the program itself after its imports; "
            f"{mode.kernel_runs} runs per tool, in rotating order. Ratio = median over runs of "
            "each run's best / plain python's. A run whose kernel computed a different result "
            "than plain python's is a failure, not a time.",
            "",
            *sections,
        ]
    )


# --- 3: start-up and memory -----------------------------------------------------------------


def _clear_caches(root: Path) -> None:
    for cache in list(root.rglob("__pycache__")):
        shutil.rmtree(cache, ignore_errors=True)


def time_to_ready(tool: Tool, root: Path, **env: str) -> tuple[float, int]:
    """Seconds from ``Popen`` to ``ready`` and the value line after it (the output check),
    and the peak RSS in bytes when the process is stopped right after."""
    child = tool.start(root, **env)
    try:
        _, stamp = child.wait_line(is_line("ready"), 0, START_TIMEOUT, "'ready'")
        value = programs.expected_value_line(0)
        child.wait_line(is_line(value), 0, START_TIMEOUT, repr(value))
    finally:
        child.stop()
    return stamp - child.started, child.peak_rss or 0


@dataclass
class Startup:
    """Times to ready and peak RSS by (tool, "cold" | "warm"); failures by the same key."""

    times: dict[tuple[str, str], list[float]] = field(default_factory=dict)
    rss: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    failures: dict[tuple[str, str], int] = field(default_factory=dict)
    root: Path | None = None

    def record(self, key: tuple[str, str], tool: Tool, root: Path) -> None:
        try:
            seconds, rss = time_to_ready(tool, root)
        except BenchError as error:
            progress(f"start-up: {key} failed: {error}")
            self.failures[key] = self.failures.get(key, 0) + 1
            return
        self.times.setdefault(key, []).append(seconds)
        self.rss.setdefault(key, []).append(rss)


def measure_startup(mode: Mode, lineup: Lineup, tmp: Path) -> Startup:
    root = tmp / "startup"
    programs.project_program(root, 200)
    result = Startup(root=root)
    for run in range(mode.startup_runs):
        progress(f"start-up: cold run {run + 1}/{mode.startup_runs}")
        for tool in rotated(lineup.runners, run):
            _clear_caches(root)
            result.record((tool.key, "cold"), tool, root)
    for tool in lineup.runners:  # fill every cache
        time_to_ready(tool, root)
    for run in range(mode.startup_runs):
        progress(f"start-up: warm run {run + 1}/{mode.startup_runs}")
        for tool in rotated(lineup.runners, run):
            result.record((tool.key, "warm"), tool, root)
    return result


def startup_table(mode: Mode, lineup: Lineup, startup: Startup) -> str:
    rows = []
    limits = {("hmr-ast", "cold"): 3.0, ("hmr-ast", "warm"): 1.3}
    for cache, what in (("cold", "no `__pycache__`"), ("warm", "caches filled")):
        base = median(startup.times.get(("plain", cache), []))
        for tool in lineup.runners:
            key = (tool.key, cache)
            times = startup.times.get(key, [])
            value = median(times) / base
            limit = limits.get(key)
            rows.append(
                [
                    f"**{tool.key}**, {what}",
                    str(startup.failures.get(key, 0)),
                    ms(median(times)),
                    ms(min(times) if times else None),
                    ms(max(times) if times else None),
                    ratio(value),
                    f"<= {limit}x: {verdict(value <= limit)}" if limit else "",
                ]
            )
    return "\n".join(
        [
            "## 3. Start-up of a 200-module program (targets: hmr-ast warm <= 1.3x, cold <= 3x)",
            "",
            "Generated program: 200 modules in 8 packages (constants, comprehensions, "
            "functions, a dataclass, a class each; up to two imports of earlier modules); time "
            "from `Popen` to the entry's `ready` line after importing them all (a run fails if "
            f"`ready` and `value 0 0` do not follow). {mode.startup_runs} runs per variant, in "
            "rotating order; PYTHONDONTWRITEBYTECODE unset for all; ratio = median / plain "
            "python's with the same cache state.",
            "",
            table(
                ["variant", "failures", "median ms", "min ms", "max ms", "ratio", "target"], rows
            ),
        ]
    )


def _rss_after_edit(tool: Tool, root: Path) -> tuple[int, bool]:
    """Peak RSS of one run that started warm, took one edit of ``leaf.py``, and showed it
    (or did not: the second value)."""
    (root / "leaf.py").write_text(programs.leaf_source(0))
    child = tool.start(root)
    try:
        child.wait_line(is_line(programs.expected_value_line(0)), 0, START_TIMEOUT, "its value")
        time.sleep(0.5)  # a person's pause, as in 1
        start = child.out.mark()
        (root / "leaf.py").write_text(programs.leaf_source(1))
        seen = child.out.wait_for(is_line(programs.expected_value_line(1)), start, EDIT_TIMEOUT)
    finally:
        child.stop()
        (root / "leaf.py").write_text(programs.leaf_source(0))
    return child.peak_rss or 0, seen is not None


def mib(size: float | None) -> str:
    return "n/a" if size is None or math.isnan(size) else f"{size / 2**20:.1f}"


def bench_memory(mode: Mode, lineup: Lineup, startup: Startup) -> str:
    assert startup.root is not None
    after: dict[str, list[int]] = {}
    unseen: dict[str, int] = {}
    for run in range(mode.memory_runs):
        for tool in rotated(lineup.reloaders, run):
            progress(f"memory: {tool.key} with one edit, run {run + 1}/{mode.memory_runs}")
            rss, seen = _rss_after_edit(tool, startup.root)
            after.setdefault(tool.key, []).append(rss)
            unseen[tool.key] = unseen.get(tool.key, 0) + (not seen)
    base = median(startup.rss.get(("plain", "warm"), []))
    rows = []
    for tool in lineup.runners:
        at_ready = median(startup.rss.get((tool.key, "warm"), []))
        edited = median(after.get(tool.key, []))
        note = ""
        if unseen.get(tool.key):
            note = f"**the edit never showed in {unseen[tool.key]} of {mode.memory_runs} runs**"
        if unseen.get(tool.key) == mode.memory_runs:
            after.pop(tool.key)  # the peak of a run that never reloaded says nothing here
            note += " (n/a)"
        rows.append(
            [
                f"**{tool.key}**",
                mib(at_ready),
                ratio(at_ready / base),
                mib(edited) if tool.key in after else "n/a" if tool.key in unseen else "",
                ratio(edited / base) if tool.key in after else "",
                note,
            ]
        )
    return "\n".join(
        [
            "## 5. Memory: peak RSS of the 200-module program",
            "",
            "Peak resident set size of the tool's process (`wait4`'s `ru_maxrss`): at ready, "
            "the warm runs of section 3 (median); after one edit, "
            f"{mode.memory_runs} warm run(s) that rewrote `leaf.py` once after the value line "
            "and waited for the new value "
            "(hmr-ast builds its dependency graph once start-up settles, or on an edit that "
            "comes first). Ratio = / plain python at ready.",
            "",
            table(
                [
                    "tool",
                    "at ready MiB",
                    "ratio",
                    "after one edit MiB",
                    "ratio",
                    "notes",
                ],
                rows,
            ),
        ]
    )


# --- 2: rerun cost vs size ----------------------------------------------------------------


def bench_sizes(mode: Mode, lineup: Lineup, tmp: Path) -> str:
    ready = frozenset({"ready"})  # the entry prints it again on each rerun
    programs_run: list[tuple[str, Path, Callable[[int], str]]] = []
    for modules in mode.module_counts:
        root = tmp / f"size-{modules}"
        programs.project_program(root, modules)
        programs_run.append((f"{modules} modules, 1-line leaf", root, programs.leaf_source))
    for lines in mode.line_counts:
        root = tmp / f"lines-{lines}"
        programs.big_module_program(root, lines)
        source = functools.partial(programs.big_leaf_source, lines=lines)
        programs_run.append((f"3 modules, {lines}-line leaf", root, source))
    results: dict[str, list[Rounds]] = {tool.key: [] for tool in lineup.reloaders}
    for label, root, source in programs_run:
        for tool in lineup.reloaders:
            progress(f"rerun cost: {label}: {tool.key}")
            results[tool.key].append(
                watched_rounds(
                    tool,
                    root,
                    mode.size_rounds,
                    mode.give_up,
                    source,
                    allowed=ready,
                    stop_on_wrong=mode.stop_on_wrong,
                )
            )
    rows = []
    for index, (label, _, _) in enumerate(programs_run):
        row = [label]
        for tool in lineup.reloaders:
            result = results[tool.key][index]
            cell = f"{ms(result.median)} (max {ms(max(result.latencies, default=None))})"
            if result.failures:
                cell += f", **{result.failures}/{result.rounds} failed**"
            row.append(
                cell if result.latencies else f"n/a, **{result.failures}/{result.rounds} failed**"
            )
        rows.append(row)
    counts = len(mode.module_counts)
    growth = []
    for tool in lineup.reloaders:
        medians = [r.median if not r.failures else float("nan") for r in results[tool.key]]
        flat = medians[counts - 1] / medians[0]
        big, small = medians[-1], medians[counts]
        per_line = (big - small) / (mode.line_counts[-1] - mode.line_counts[0])
        growth.append(
            f"- **{tool.key}**: {mode.module_counts[-1]} / {mode.module_counts[0]} modules "
            f"{ratio(flat)}; {ms(per_line * 1000)} ms more per 1000 lines of the edited file "
            f"({mode.line_counts[0]} to {mode.line_counts[-1]} lines)."
        )
    hot = [r.median for r in results["hmr-ast"]]
    flat = hot[counts - 1] / hot[0]
    growth.append(f"- hmr-ast flat (largest / smallest project <= 1.5x): {verdict(flat <= 1.5)}.")
    if len(mode.line_counts) == 3:
        low, mid, high = mode.line_counts
        slope_low = (hot[counts + 1] - hot[counts]) / (mid - low)
        slope_high = (hot[counts + 2] - hot[counts + 1]) / (high - mid)
        linear = slope_high <= 1.5 * max(slope_low, 1e-9)
        growth.append(
            f"- hmr-ast linear in lines (cost per line from {mid} to {high} <= 1.5x that from "
            f"{low} to {mid}: {ms(slope_high * 1000)} vs {ms(slope_low * 1000)} ms per 1000 "
            f"lines): {verdict(linear)}."
        )
    return "\n".join(
        [
            "## 2. Scale: rerun cost against project size and edited-file size",
            "",
            "Targets for hmr-ast: flat with project size, at most linear in the edited file's "
            "lines.",
            "",
            "Each round edits `leaf.py`, read by `reader` (`VALUE = leaf.VALUE`), read by the "
            "entry, which imports every generated module first (so a reloader's graph holds "
            "them all), prints `ready` and the value, and finishes. Edit-to-effect as in 1, "
            f"{mode.size_rounds} rounds; median ms (max), the first edit after start-up "
            "included. Failures as in 1.",
            "",
            table(["program", *(f"{tool.key} ms" for tool in lineup.reloaders)], rows),
            "",
            *growth,
        ]
    )


# --- 6: hmr-ast's own import cost -----------------------------------------------------------

_IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \| (\s*)(\S+)")


def _importtime(python: str, statement: str) -> list[tuple[int, int, int, str]]:
    """(self us, cumulative us, depth, module) for each import ``statement`` makes."""
    result = subprocess.run(
        [python, "-X", "importtime", "-c", statement],
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


def _modules_at_ready(tool: Tool, root: Path) -> list[str]:
    listing = root / "modules.json"
    time_to_ready(tool, root, BENCH_MODULES_FILE=str(listing))
    return json.loads(listing.read_text())


#: What ``hmr-ast run`` loads before the entry starts, and what its watcher thread loads
#: once the entry's imports pause (the native watcher alone if hmr-ast has
#: ``load_rust_notify``).
_LOADS = (
    ("`import hmr_ast.cli`", "import hmr_ast.cli", "`hmr-ast run`, first"),
    ("`import hmr_ast.session`", "import hmr_ast.session", "`hmr-ast run`, before the entry"),
    (
        "the native file watcher",
        "import hmr_ast.watcher as w; (getattr(w, 'load_rust_notify', None)"
        " or (lambda: __import__('watchfiles')))()",
        "the watcher thread, once the program has imported nothing for 40 ms",
    ),
)
_TIMED = """\
import sys, time
before = set(sys.modules)
started = time.perf_counter()
exec({statement!r})
print((time.perf_counter() - started) * 1000, len(set(sys.modules) - before))
"""


def _timed_load(python: str, statement: str) -> tuple[float, int]:
    """Wall milliseconds of ``statement`` in a fresh interpreter, and modules it added."""
    result = subprocess.run(
        [python, "-c", _TIMED.format(statement=statement)],
        env=child_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if result.returncode != 0:
        raise BenchError(f"python -c {statement!r} failed:\n{result.stderr[-2000:]}")
    elapsed, count = result.stdout.split()
    return float(elapsed), int(count)


def bench_imports(mode: Mode, lineup: Lineup, startup_root: Path) -> str:
    rows = []
    for label, statement, when in _LOADS:
        timings = [_timed_load(lineup.python, statement) for _ in range(mode.importtime_runs)]
        best = min(timings)
        rows.append([label, f"{best[0]:.1f}", str(best[1]), when])
    baseline = {name for _, _, _, name in _importtime(lineup.python, "pass")}
    imported = _importtime(lineup.python, "import hmr_ast.session")
    session = [row for row in imported if row[3] not in baseline]
    heavy_rows = sorted(
        (row for row in session if row[2] <= 1),
        key=lambda row: -row[1],
    )[:12]
    for tool in (lineup.plain, lineup.hot):  # warm both caches: this is about a warm start
        time_to_ready(tool, startup_root)
    plain = set(_modules_at_ready(lineup.plain, startup_root))
    hot = _modules_at_ready(lineup.hot, startup_root)
    added = [name for name in hot if name not in plain]
    watch = ("networkx", "libcst", "ast", "dis", "inspect", "hmr_ast.transform", "hmr_ast.graph")
    flagged = [name for name in watch if name in added]
    tops = sorted({name.partition(".")[0] for name in added})
    return "\n".join(
        [
            "## 6. hmr-ast's own import cost",
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


if __name__ == "__main__":  # the old command still works: it runs the whole comparison
    import bench

    sys.exit(bench.main())
