"""Tests in watch mode: time from saving a file to the affected tests' results.

Two benchmarks. The default (issue 6) is a synthetic suite, described below. ``--real``
(issue 12) runs real libraries' own suites, described at ``REAL_SECTION``.

A suite of 200 tests in 10 files; conftest imports a module that sleeps 2 s (a model load).
Each round rewrites ``helpers.target``, which one test uses, and waits for that test's
``PASSED`` line. Side by side: ``hmr-ast pytest`` (one warm process), a full ``pytest`` run
per change, and ``pytest --testmon`` per change (installed into ``.cache/venv-testmon``, never
into this environment). Prints a markdown table and writes it to the "Tests in watch mode
(issue 6)" section of BENCHMARKS.md.

    python tools/bench_pytest.py [--rounds 10] [--no-write]
    python tools/bench_pytest.py --real [--rounds 3] [--no-write] [--only NAME]
        [--pythons 3.11 3.12] [--commit REV]
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass
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
    parser.add_argument("--real", action="store_true", help="real libraries' suites (issue 12)")
    parser.add_argument("--only", nargs="*", default=None, help="with --real: these libraries")
    parser.add_argument(
        "--pythons",
        nargs="*",
        default=None,
        help="with --real: run on these CPythons from pyenv (3.11 3.12); default this one",
    )
    parser.add_argument(
        "--commit",
        default="HEAD",
        help="with --real: the commit of hmr-ast to run (exported under .cache/bench_pytest/)",
    )
    options = parser.parse_args()
    if options.real:
        real_main(
            options.rounds if options.rounds != 10 else 3,
            options.only,
            options.no_write,
            options.pythons,
            options.commit,
        )
        return
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


# --- --real (issue 12): real libraries' own suites -------------------------------------------

REAL_SECTION = "## Tests in watch mode on real suites (issue 12)"
CACHE = ROOT / ".cache" / "bench_pytest"
PYTEST_SPEC = "pytest>=8.0"  # the newest release, as a new user gets it
RESULT_LINE = re.compile(r"^(\S.*?::\S.*?) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS)(?: |$)", re.M)
ROUND_END = r"^=+ .* in [\d.]+s"
QUIET_END = r"^=*\s*(\d+ \w+|no tests ran).* in [\d.]+s"  # -q: no = around it


@dataclass(frozen=True)
class Library:
    name: str  # on the package index
    version: str
    test_deps: tuple[str, ...]
    pytest_args: tuple[str, ...]
    edit_file: str  # in the unpacked sdist
    edit_old: str  # a line of one source function...
    edit_new: str  # ...and what the edit makes of it (some tests then fail)
    function: str  # for the report
    first_run: bool = True  # False: a second edit of a library already timed


LIBRARIES = (
    Library(
        "marshmallow",
        "4.4.0",
        ("simplejson",),
        ("tests",),
        "src/marshmallow/validate.py",
        "        if self.min is not None and length < self.min:",
        "        if self.min is not None and length <= self.min:",
        "`validate.Length.__call__`",
    ),
    Library(
        "tomlkit",
        "0.15.2",
        (),
        ("tests",),
        "tomlkit/_utils.py",
        '    return "".join(f"\\\\u{ord(c):04x}" for c in seq)',
        '    return "".join(f"\\\\u{ord(c):04X}" for c in seq)',
        "`_utils._unicode_escape` (called by `escape_string`)",
    ),
    Library(
        "marshmallow",
        "4.4.0",
        ("simplejson",),
        ("tests",),
        "src/marshmallow/fields.py",
        "        return utils.ensure_text_type(value)\n\n"
        "    def _deserialize(self, value, attr, data, **kwargs) -> str:",
        "        return utils.ensure_text_type(value)[::-1]\n\n"
        "    def _deserialize(self, value, attr, data, **kwargs) -> str:",
        "`fields.String._serialize`",
        first_run=False,
    ),
    Library(
        "attrs",
        "26.1.0",
        ("hypothesis", "pympler", "cloudpickle"),
        ("tests",),
        "src/attr/converters.py",
        '    if val in (True, "true", "t", "yes", "y", "on", "1", 1):',
        '    if val in (True, "true", "t", "y", "on", "1", 1):',
        "`converters.to_bool`",
    ),
)


def _step(command: list[str], log: Path) -> None:
    result = subprocess.run(command, capture_output=True, text=True)
    with log.open("a") as file:
        file.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        sys.exit(f"bench_pytest: failed: {' '.join(command)}\n{result.stdout}{result.stderr}")


def interpreter(version: str | None) -> str:
    """The CPython ``version`` (3.12) pyenv provides, or this one."""
    if version is None or version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return sys.executable
    root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
    found = sorted(
        Path(root, "versions").glob(f"{version}.*/bin/python3"),
        key=lambda p: [int(x) for x in p.parts[-3].split(".") if x.isdigit()],
    )
    if not found:
        sys.exit(f"bench_pytest: no CPython {version} under pyenv")
    return str(found[-1])


def prepare(library: Library, python_version: str | None = None) -> tuple[Path, Path]:
    """(pristine unpacked sdist, venv python): downloaded, unpacked and installed once (a
    venv for each Python)."""
    home = CACHE / f"{library.name}-{library.version}"
    home.mkdir(parents=True, exist_ok=True)
    log = home / "install.log"
    pristine = home / "pristine"
    if not (pristine / ".unpacked").exists():
        sdists = CACHE / "sdists"
        sdists.mkdir(parents=True, exist_ok=True)
        spec = f"{library.name}=={library.version}"
        _step(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--no-binary",
                ":all:",
                spec,
                "-d",
                str(sdists),
            ],
            log,
        )
        archive = next(
            p
            for p in sdists.iterdir()
            if p.name.lower().startswith(f"{library.name.lower()}-{library.version}")
        )
        unpack = home / "unpack"
        shutil.rmtree(unpack, ignore_errors=True)
        shutil.rmtree(pristine, ignore_errors=True)
        with tarfile.open(archive) as tar:
            tar.extractall(unpack, filter="data")
        (top,) = unpack.iterdir()
        top.rename(pristine)
        unpack.rmdir()
        (pristine / ".unpacked").write_text(archive.name)
    tree = home / "tree"  # the working copy the runs edit; installed editable
    base = interpreter(python_version)
    version = subprocess.run(
        [base, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.strip()
    venv = home / f"venv-{version}"
    python = venv / "bin" / "python"
    wanted = "\n".join([PYTEST_SPEC, "pytest-testmon", *library.test_deps, str(ROOT)])
    marker = venv / ".installed"
    if not (marker.exists() and marker.read_text() == wanted):
        shutil.rmtree(venv, ignore_errors=True)
        if not tree.exists():
            shutil.copytree(pristine, tree)
        _step([base, "-m", "venv", str(venv)], log)
        pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
        _step([*pip, PYTEST_SPEC, "pytest-testmon", *library.test_deps], log)
        _step([*pip, "-e", str(ROOT)], log)
        _step([*pip, "-e", str(tree)], log)
        marker.write_text(wanted)
    return tree, python


def _reset_tree(library: Library, tree: Path) -> None:
    """The working copy back to the sdist's text, testmon's data and caches gone."""
    pristine = tree.parent / "pristine"
    source = (pristine / library.edit_file).read_text()
    (tree / library.edit_file).write_text(source)
    for leftover in (".testmondata", ".testmondata-shm", ".testmondata-wal"):
        (tree / leftover).unlink(missing_ok=True)


#: src folder of the hmr-ast export every run uses (``export``), first on PYTHONPATH
_SOURCE: list[str] = []


def export(revision: str = "HEAD") -> str:
    """The short hash of hmr-ast at ``revision``, exported once with ``git archive`` into
    ``.cache/bench_pytest/`` and put first on every run's PYTHONPATH: the figures are of
    that commit, not of uncommitted edits in the work tree."""
    commit = subprocess.run(
        ["git", "rev-parse", "--short", revision],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    folder = CACHE / f"hmr-ast-{commit}"
    if not (folder / "src" / "hmr_ast").is_dir():
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        archive = subprocess.run(
            ["git", "archive", commit, "src"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    _SOURCE[:] = [str(folder / "src")]
    return commit


def _env() -> dict[str, str]:
    env = clean_env()  # without PYTHONDONTWRITEBYTECODE: a project's usual warm start
    env.pop("PYTEST_ADDOPTS", None)
    if _SOURCE:
        env["PYTHONPATH"] = os.pathsep.join([*_SOURCE, env.get("PYTHONPATH", "")]).rstrip(
            os.pathsep
        )
    return env


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def hot_cpu(command: list[str], tree: Path, record: bool = True) -> float:
    """CPU seconds of an ``hmr-ast pytest`` process from start to ``watching`` (its first
    run and the graph's warm-up), then stopped. ``record=False``: without the probes that
    record what each test runs (``HMR_AST_NO_PROBES=1``), to show what recording costs."""
    before = _cpu_seconds()
    env = _env()
    if not record:
        env["HMR_AST_NO_PROBES"] = "1"
    with HotProcess(command, tree, env=env) as hot:
        hot.err.wait_for(r"watching", timeout=600)
    return _cpu_seconds() - before


def _outcomes(text: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for m in RESULT_LINE.finditer(text)}


def fresh_run(python: Path, tree: Path, library: Library, *extra: str) -> tuple[float, str]:
    """A plain ``pytest -v`` process: (seconds from start to its summary line, its output)."""
    command = [
        str(python),
        "-m",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        *extra,
        *library.pytest_args,
    ]
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stream = Stream(process.stdout)
    stream.wait_for(ROUND_END, timeout=600)
    seconds = time.perf_counter() - started
    process.wait(timeout=120)
    return seconds, "\n".join(stream.seen)


def testmon_run(python: Path, tree: Path, library: Library) -> tuple[float, int]:
    """``pytest --testmon``: (seconds to its summary line, tests it ran)."""
    command = [str(python), "-m", "pytest", "-q", "--testmon", *library.pytest_args]
    env = _env()
    env["TESTMON_DATAFILE"] = str(tree / ".testmondata")  # not the checkout's root
    started = time.perf_counter()
    process = subprocess.Popen(
        command,
        cwd=tree,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    stream = Stream(process.stdout)
    line = stream.wait_for(QUIET_END, timeout=600).string
    seconds = time.perf_counter() - started
    process.wait(timeout=120)
    ran = sum(
        int(n)
        for n, what in re.findall(r"(\d+) (\w+)", line)
        if what in ("passed", "failed", "error", "errors", "skipped", "xfailed", "xpassed")
    )
    return seconds, ran


def _version(python: Path) -> tuple[int, int]:
    out = subprocess.run(
        [str(python), "-c", "import sys; print(*sys.version_info[:2])"],
        capture_output=True,
        text=True,
    ).stdout.split()
    return int(out[0]), int(out[1])


def bench_library(library: Library, rounds: int, python_version: str | None = None) -> dict:
    tree, python = prepare(library, python_version)
    _reset_tree(library, tree)
    edited = tree / library.edit_file
    original = edited.read_text()
    assert original.count(library.edit_old) == 1, f"{library.edit_file}: edit line not found"
    command = [
        str(python),
        "-m",
        "hmr_ast",
        "pytest",
        "-v",
        "-p",
        "no:cacheprovider",
        *library.pytest_args,
    ]
    plain_first, hot_first = [], []
    cpu: dict[str, list[float]] = {"plain": [], "hot": [], "unrecorded": []}
    for warm_up in [True] + [False] * rounds if library.first_run else []:
        # warm caches first: both sides start warm
        before = _cpu_seconds()
        seconds = fresh_run(python, tree, library)[0]
        plain_cpu = _cpu_seconds() - before
        before = _cpu_seconds()
        started = time.perf_counter()
        with HotProcess(command, tree, env=_env()) as hot:
            hot.out.wait_for(ROUND_END, timeout=600)
            hot_seconds = time.perf_counter() - started
            hot.err.wait_for(r"watching", timeout=600)
        hot_cpu_seconds = _cpu_seconds() - before
        unrecorded = hot_cpu(command, tree, record=False)
        if not warm_up:
            plain_first.append(seconds)
            hot_first.append(hot_seconds)
            cpu["plain"].append(plain_cpu)
            cpu["hot"].append(hot_cpu_seconds)
            cpu["unrecorded"].append(unrecorded)
    # the watch: edit the function, then put it back; each time compare with a fresh run
    edits = []
    with HotProcess(command, tree, env=_env()) as hot:
        hot.out.wait_for(ROUND_END, timeout=600)
        results = _outcomes("\n".join(hot.out.seen))
        total = len(results)
        hot.err.wait_for(r"watching", timeout=120)
        for step, text in (
            ("edit", original.replace(library.edit_old, library.edit_new)),
            ("revert", original),
        ):
            seen = len(hot.out.seen)
            started = time.perf_counter()
            write(edited, text)
            hot.out.wait_for(ROUND_END, timeout=600)
            latency = time.perf_counter() - started
            round_out = "\n".join(hot.out.seen[seen:])
            reran = _outcomes(round_out)
            results.update(reran)
            told = hot.err.wait_for(r"tests affected", timeout=600).string
            fresh_seconds, fresh_out = fresh_run(python, tree, library)
            fresh = _outcomes(fresh_out)
            # a parametrized id may hold the time of collection: compare the ids both have
            both = set(fresh) & set(results)
            differ = sorted(n for n in both if fresh[n] != results[n])
            failed_now = sum(1 for v in fresh.values() if v in ("FAILED", "ERROR"))
            edits.append(
                {
                    "step": step,
                    "latency": latency,
                    "reran": len(reran),
                    "told": told,
                    "fresh_seconds": fresh_seconds,
                    "differ": differ,
                    "failed": failed_now,
                    "compared": len(both),
                }
            )
    # pytest-testmon: its own first run records what each test executes, then the same edits
    _reset_tree(library, tree)
    testmon_run(python, tree, library)
    testmon = []
    for text in (original.replace(library.edit_old, library.edit_new), original):
        write(edited, text)
        testmon.append(testmon_run(python, tree, library))
    _reset_tree(library, tree)
    version = subprocess.run(
        [
            str(python),
            "-c",
            "import platform, pytest; print(platform.python_version(), pytest.__version__)",
        ],
        capture_output=True,
        text=True,
    ).stdout.split()
    return {
        "library": library,
        "cpu": cpu,
        "python": version[0],
        "pytest": version[1],
        "total": total,
        "plain_first": plain_first,
        "hot_first": hot_first,
        "edits": edits,
        "testmon": testmon,
    }


def real_main(
    rounds: int,
    only: list[str] | None,
    no_write: bool,
    pythons: list[str] | None = None,
    revision: str = "HEAD",
) -> None:
    chosen = [lib for lib in LIBRARIES if not only or lib.name in only]
    commit = export(revision)
    reports = []
    for version in pythons or [None]:
        for library in chosen:
            print(
                f"== {library.name} {library.version} on {version or 'this Python'}",
                file=sys.stderr,
            )
            reports.append(bench_library(library, rounds, version))
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    pythons_used = ", ".join(dict.fromkeys(r["python"] for r in reports))
    pytests_used = ", ".join(dict.fromkeys(r["pytest"] for r in reports))
    command = f"python tools/bench_pytest.py --real --rounds {rounds}"
    if pythons:
        command += " --pythons " + " ".join(pythons)
    if revision != "HEAD":
        command += f" --commit {revision}"
    lines = [
        REAL_SECTION,
        "",
        f"From `{command}`: hmr-ast at `{commit}` (exported with `git archive`, first on "
        f"PYTHONPATH), pytest {pytests_used}, Python {pythons_used}, {os.cpu_count()} CPUs, "
        f"load average {load}. Each library's source distribution is fetched with "
        "`pip download --no-deps --no-binary :all: NAME==VERSION` into `.cache/bench_pytest/` "
        "and installed editable with its test dependencies and pytest-testmon, in a venv "
        "for each Python.",
        "",
        "First run: time from start to pytest's summary line, median of "
        f"{rounds}; `hmr-ast pytest` against plain `pytest` (target <= 1.15x).",
        "",
        "| library | Python | tests | plain `pytest` s | `hmr-ast pytest` s | ratio |",
        "|---|---|---|---|---|---|",
    ]
    timed = [r for r in reports if r["library"].first_run]
    for r in timed:
        plain, hot = statistics.median(r["plain_first"]), statistics.median(r["hot_first"])
        lib = r["library"]
        lines.append(
            f"| {lib.name} {lib.version} | {r['python']} | {r['total']} | {plain:.2f} "
            f"| {hot:.2f} | {hot / plain:.2f}x |"
        )
    lines += [
        "",
        "First run in CPU seconds (user + system, median of the same rounds): plain "
        "`pytest`; `hmr-ast pytest` from start to `watching` (its first run and the graph's "
        "warm-up); and the same without recording what each test runs (`HMR_AST_NO_PROBES=1`: "
        "no probe in project functions), so the recording's own cost shows apart.",
        "",
        "| library | Python | plain `pytest` CPU s | `hmr-ast pytest` CPU s | ratio "
        "| without recording CPU s | recording's cost |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in timed:
        lib, cpu = r["library"], r["cpu"]
        plain, hot = statistics.median(cpu["plain"]), statistics.median(cpu["hot"])
        bare = statistics.median(cpu["unrecorded"])
        apart = f"{bare:.2f} | {hot / bare:.2f}x"
        lines.append(
            f"| {lib.name} {lib.version} | {r['python']} | {plain:.2f} | {hot:.2f} "
            f"| {hot / plain:.2f}x | {apart} |"
        )
    lines += [
        "",
        "One source function edited so that some tests fail, then put back. For each save: "
        "the time from the write to the round's summary line and the tests run, for "
        "`hmr-ast pytest` (warm), `pytest --testmon` (a new process; it reruns the tests that "
        'executed the changed file\'s code) and a full `pytest` run. "same as fresh": after '
        "each save, every test's latest result in the `hmr-ast pytest` session equals a fresh "
        "full `pytest` run's (a test whose parametrized id holds the time of "
        "collection is in no two runs, and left out).",
        "",
        "| library | Python | function | save | hmr-ast s | hmr-ast tests | testmon s "
        "| testmon tests | full run s | full run tests | failing | same as fresh |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in reports:
        lib = r["library"]
        for edit, (tm_seconds, tm_ran) in zip(r["edits"], r["testmon"]):
            verdict = "yes" if not edit["differ"] else "NO"
            same = f"{verdict} ({len(edit['differ'])} of {edit['compared']} differ)"
            lines.append(
                f"| {lib.name} | {r['python']} | {lib.function} | {edit['step']} "
                f"| {edit['latency']:.2f} | {edit['reran']} | {tm_seconds:.2f} | {tm_ran} "
                f"| {edit['fresh_seconds']:.2f} | {r['total']} | {edit['failed']} | {same} |"
            )
    lines.append("")
    table = "\n".join(lines)
    print(table)
    for r in reports:
        for edit in r["edits"]:
            if edit["differ"]:
                print(
                    f"{r['library'].name} {r['python']} {edit['step']}: differ: "
                    f"{edit['differ'][:20]}",
                    file=sys.stderr,
                )
    if not no_write:
        update_section(ROOT / "BENCHMARKS.md", table, REAL_SECTION)


def update_section(path: Path, text: str, section: str = SECTION) -> None:
    """Replace (or add) our section only; the rest of the file belongs to others."""
    current = path.read_text() if path.exists() else ""
    pattern = re.compile(rf"^{re.escape(section)}\n.*?(?=^## |\Z)", re.S | re.M)
    if pattern.search(current):
        updated = pattern.sub(lambda _: text + "\n", current, count=1)
    else:
        updated = current.rstrip("\n") + "\n\n" + text
    path.write_text(updated)


if __name__ == "__main__":
    main()
