"""Tests in watch mode (issue 6): time from saving a file to the affected test's result line.

A suite of 200 tests in 10 files; conftest imports a module that sleeps 2 s (a model load).
Each round rewrites ``helpers.target``, which one test uses, and waits for that test's
``PASSED`` line. Side by side: ``hmr-ast pytest`` (one warm process), a full ``pytest`` run
per change, and ``pytest --testmon`` per change (installed into ``.cache/venv-testmon``, never
into this environment). Prints a markdown table and writes it to the "Tests in watch mode
(issue 6)" section of BENCHMARKS.md.

    python tools/bench_pytest.py [--rounds 10] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from harness import HotProcess, Stream, clean_env, write  # noqa: E402

SECTION = "## Tests in watch mode (issue 6)"
TARGET_LINE = r"test_m0\.py::test_0 PASSED"
FILES, PER_FILE = 10, 20


def make_suite(root: Path) -> None:
    write(root / "slow.py", "import time\n\ntime.sleep(2)\nMODEL = 'loaded'\n")
    write(
        root / "conftest.py",
        "import pytest\n\nimport slow\n\n\n@pytest.fixture\ndef model():\n    return slow.MODEL\n",
    )
    write_helpers(root, 0)
    for f in range(FILES):
        lines = ["import helpers", ""]
        for t in range(PER_FILE):
            n = f * PER_FILE + t
            if n == 0:
                lines += ["def test_0(model):", "    assert helpers.target() >= 0", ""]
            else:
                lines += [f"def test_{n}(model):", f"    assert helpers.other({n}) == {n + 1}", ""]
        write(root / f"test_m{f}.py", "\n".join(lines))


def write_helpers(root: Path, value: int) -> None:
    write(
        root / "helpers.py",
        f"def target():\n    return {value}\n\n\ndef other(n):\n    return n + 1\n",
    )


def time_command(command: list[str], root: Path, rounds: int, prime: bool) -> list[float]:
    """A fresh process per change: write, start the command, wait for the line."""
    if prime:
        subprocess.run(command, cwd=root, env=clean_env(), capture_output=True, timeout=120)
    times = []
    for r in range(rounds):
        write_helpers(root, r + 1)
        started = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=root,
            env=clean_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        Stream(process.stdout).wait_for(TARGET_LINE, timeout=120)
        times.append((time.perf_counter() - started) * 1000)
        process.wait(timeout=120)
    return times


def time_hot(root: Path, rounds: int) -> list[float]:
    command = [sys.executable, "-m", "hmr_ast", "pytest", "-v", "-p", "no:cacheprovider"]
    times = []
    with HotProcess(command, root) as hot:
        hot.out.wait_for(r"^=+ 200 passed", timeout=120)
        hot.err.wait_for("watching", timeout=60)
        for r in range(rounds):
            write_helpers(root, 100 + r)
            started = time.perf_counter()
            hot.out.wait_for(TARGET_LINE)
            times.append((time.perf_counter() - started) * 1000)
            hot.out.wait_for(r"unaffected tests not rerun")
    return times


def testmon_python() -> Path:
    venv = ROOT / ".cache" / "venv-testmon"
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    check = subprocess.run([str(python), "-c", "import testmon"], capture_output=True)
    if check.returncode != 0:
        subprocess.run(
            [str(python), "-m", "pip", "install", "-q", "pytest", "pytest-testmon"], check=True
        )
    return python


def row(name: str, times: list[float], note: str = "") -> str:
    return (
        f"| {name} | {len(times)} | {statistics.median(times):.0f} | {max(times):.0f} "
        f"| {min(times):.0f} | {note} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--no-write", action="store_true")
    options = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "hot"
        make_suite(root)
        results["hot"] = time_hot(root, options.rounds)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "full"
        make_suite(root)
        command = [sys.executable, "-m", "pytest", "-v", "-p", "no:cacheprovider"]
        results["full"] = time_command(command, root, options.rounds, prime=False)
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "testmon"
        make_suite(root)
        # testmon needs pytest's cache plugin (its --lf option)
        command = [str(testmon_python()), "-m", "pytest", "--testmon", "-v"]
        results["testmon"] = time_command(command, root, options.rounds, prime=True)
    hot = statistics.median(results["hot"])
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    lines = [
        SECTION,
        "",
        f"From `python tools/bench_pytest.py --rounds {options.rounds}`: hmr-ast at `{commit}`, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs, load average {load}.",
        "",
        f"{FILES * PER_FILE} tests in {FILES} files; conftest imports a module that sleeps 2 s. "
        "Each round rewrites `helpers.target` (used by one test) and times the write until "
        "that test's `PASSED` line (ms).",
        "",
        "| runner | rounds | median ms | max ms | min ms | vs hmr-ast (median) |",
        "|---|---|---|---|---|---|",
        row("`hmr-ast pytest` (warm, reruns 1 test)", results["hot"], "1x; target <= 150 ms"),
        row(
            "full `pytest` run per change",
            results["full"],
            f"{statistics.median(results['full']) / hot:.0f}x",
        ),
        row(
            "`pytest --testmon` per change",
            results["testmon"],
            f"{statistics.median(results['testmon']) / hot:.0f}x",
        ),
        "",
    ]
    table = "\n".join(lines)
    print(table)
    if not options.no_write:
        update_section(ROOT / "BENCHMARKS.md", table)


def update_section(path: Path, text: str) -> None:
    """Replace (or add) our section only; the rest of the file belongs to others."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(SECTION)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated)


if __name__ == "__main__":
    main()
