"""hmr-ast against its peers, side by side, in one command; markdown tables.

    python tools/bench.py --quick            # under two minutes, while developing
    python tools/bench.py --write            # full run (under 15 minutes), into BENCHMARKS.md

Compared, all on one interpreter (the peer ``hmr`` needs Python >= 3.12): plain ``python``,
a full restart on change, the ``watchfiles`` CLI, hmr-ast, and the PyPI peers ``hmr`` and
``jurigged``. The peers and hmr-ast are installed into a virtualenv this script creates
under ``.cache/`` (git ignores it), never into the project's own environment. The
measurements themselves are in ``bench_core.py``, the programs they run in
``bench_programs.py``.
"""

from __future__ import annotations

import argparse
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_core as core
import bench_programs as programs

REPO = core.REPO
BENCHMARKS = REPO / "BENCHMARKS.md"
#: Pinned, so that a rerun next month measures the same peers; bump on purpose.
PEERS = {"hmr": "0.7.6.3", "jurigged": "0.6.1"}
BEGIN = "<!-- tools/bench.py: begin (generated; sections outside these markers are kept) -->"
END = "<!-- tools/bench.py: end -->"

#: What each peer does, from its documentation, its code and its behaviour here; the tables
#: show where that costs it a measurement.
PEER_NOTES = {
    "hmr": (
        "runs the entry, and only once it has returned watches the entry's folder; then "
        "reruns an edited module and, through reactive module namespaces, what read from "
        "it, the entry included. An entry that never returns (shapes b-d) is never "
        "reloaded. Its namespaces are reactive: every read of a module global or module "
        "attribute goes through them."
    ),
    "jurigged": (
        "watches the imported files (watchdog, 50 ms debounce); on a save it re-executes "
        "the edited module's changed top-level statements and patches changed functions' "
        "code in place. It never reruns other modules or the entry: a value another module "
        "computed at import time (`mid.DOUBLE`, `reader.VALUE`) stays stale. And its process "
        "ends when the entry returns, so an entry that prints once and finishes (shape a, "
        "sections 2 and 5) is never reloaded at all."
    ),
}


# --- the interpreter and the virtualenv ---------------------------------------------------


def _pyenv_root() -> Path:
    try:
        found = subprocess.run(["pyenv", "root"], capture_output=True, text=True, timeout=30)
        if found.returncode == 0 and found.stdout.strip():
            return Path(found.stdout.strip())
    except (OSError, subprocess.TimeoutExpired):
        pass
    return Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))


def find_python() -> Path:
    """The newest CPython 3.12, else 3.13, that pyenv has: ``hmr`` needs >= 3.12."""
    versions = _pyenv_root() / "versions"
    for minor in ("3.12", "3.13"):
        found = sorted(
            versions.glob(f"{minor}.*/bin/python3"),
            key=lambda path: [int(part) for part in path.parent.parent.name.split(".")[:3]],
        )
        if found:
            return found[-1]
    raise SystemExit(
        f"bench: no CPython 3.12 or 3.13 under {versions}; the peer hmr needs one. "
        "Pass --python PATH."
    )


def _run(args: list[str], what: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, timeout=900)
    if result.returncode != 0:
        raise SystemExit(f"bench: {what} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
    return result.stdout


def prepare_venv(python: Path) -> Path:
    """``.cache/bench-peers-<version>``, with the pinned peers and hmr-ast (editable, so it
    always measures the checkout's source) installed; reinstalled only when the pins change."""
    version = _run([str(python), "-c", "import platform; print(platform.python_version())"], "")
    venv = REPO / ".cache" / f"bench-peers-{version.strip()}"
    wanted = " ".join([f"{name}=={pin}" for name, pin in PEERS.items()] + ["-e", str(REPO)])
    stamp = venv / "bench-installed.txt"
    if stamp.is_file() and stamp.read_text() == wanted:
        return venv
    if not (venv / "bin" / "python").exists():
        core.progress(f"creating {venv.relative_to(REPO)}")
        _run([str(python), "-m", "venv", str(venv)], f"{python} -m venv")
    core.progress(f"installing {wanted} into it")
    _run([str(venv / "bin" / "python"), "-m", "pip", "install", "-q", *wanted.split()], "pip")
    stamp.write_text(wanted)
    return venv


def lineup_in(venv: Path) -> core.Lineup:
    python = str(venv / "bin" / "python")
    bin_dir = venv / "bin"
    return core.Lineup(
        plain=core.Tool("plain", (python, "app.py"), "`python app.py`"),
        hot=core.Tool(
            "hmr-ast",
            (python, "-m", "hmr_ast", "run", "app.py"),
            "`python -m hmr_ast run app.py`; this checkout, installed editable",
        ),
        peers=(
            core.Tool("hmr", (str(bin_dir / "hmr"), "app.py"), f"`hmr app.py`; hmr {PEERS['hmr']}"),
            core.Tool(
                "jurigged",
                (str(bin_dir / "jurigged"), "app.py"),
                f"`jurigged app.py`; jurigged {PEERS['jurigged']}",
            ),
        ),
        watchfiles_cli=core.Tool(
            "watchfiles CLI",
            (
                python,
                "-m",
                "watchfiles",
                "--filter",
                "python",
                f"{shlex.quote(python)} app.py",
                ".",
            ),
            "`watchfiles --filter python 'python app.py' .`: kill and restart on change "
            "(no `.pyc` files, as for the full restart)",
            env=(("PYTHONDONTWRITEBYTECODE", "1"),),
        ),
    )


# --- the report -----------------------------------------------------------------------------


def _git(*args: str) -> str:
    try:
        return subprocess.run(
            ["git", "-C", str(REPO), *args], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"


def _machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.partition(":")[2].strip()
                break
        memory = Path("/proc/meminfo").read_text().split()[1]
        memory = f"{int(memory) / 2**20:.0f} GiB"
    except (OSError, IndexError, ValueError):
        memory = "unknown memory"
    return f"{platform.system()} {platform.machine()}, {model}, {os.cpu_count()} CPUs, {memory}"


def _load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def header(mode: core.Mode, lineup: core.Lineup, command: str) -> str:
    version = _run([lineup.python, "-c", "import sys; print(sys.version.split()[0])"], "python")
    changed = _git("status", "--porcelain", "--", "src")
    dirty = " (with uncommitted changes under `src/`)" if changed else ""
    tools = [[f"**{tool.key}**", tool.how] for tool in lineup.runners]
    tools.append(
        [
            "full restart",
            "kill `python app.py`, start it again right after the write (no `.pyc` files: "
            "same-second edits of the same size would run stale ones)",
        ]
    )
    if lineup.watchfiles_cli:
        tools.append(["watchfiles CLI", lineup.watchfiles_cli.how])
    return "\n".join(
        [
            f"# hmr-ast against its peers ({mode.name} mode)",
            "",
            f"- Command: `{command}`",
            f"- Commit: `{_git('rev-parse', '--short', 'HEAD')}`{dirty}, "
            f"{time.strftime('%Y-%m-%d')}",
            f"- Machine: {_machine()}; load average at start {_load()} (other work was "
            "running on it: compare ratios, not milliseconds)",
            f"- Every tool runs on Python {version.strip()} (`{lineup.python}`, a virtualenv "
            "this script made under `.cache/`); the benchmark driver itself on Python "
            f"{platform.python_version()}.",
            "",
            core.table(["tool", "how it is run"], tools),
            "",
            *(f"- **{key}** {text}" for key, text in PEER_NOTES.items()),
        ]
    )


def write_benchmarks(report: str) -> None:
    """Replace this script's block of BENCHMARKS.md, keeping every other section."""
    block = f"{BEGIN}\n{report.rstrip()}\n{END}\n"
    text = BENCHMARKS.read_text() if BENCHMARKS.exists() else ""
    if BEGIN in text and END in text:
        before, _, rest = text.partition(BEGIN)
        _, _, after = rest.partition(END)
        text = before + block.rstrip("\n") + after
    else:
        text = block + ("\n" + text if text else "")
    BENCHMARKS.write_text(text)


# --- main -------------------------------------------------------------------------------------

SECTIONS = ("latency", "sizes", "startup", "overhead", "memory", "imports")


def run_sections(mode: core.Mode, lineup: core.Lineup, wanted: list[str], tmp: Path) -> list[str]:
    parts = []
    startup: core.Startup | None = None

    def startup_once() -> core.Startup:
        nonlocal startup
        if startup is None:
            startup = core.measure_startup(mode, lineup, tmp)
        return startup

    steps: dict[str, Callable[[], str]] = {
        "latency": lambda: core.bench_latency(mode, lineup, tmp),
        "sizes": lambda: core.bench_sizes(mode, lineup, tmp),
        "startup": lambda: core.startup_table(mode, lineup, startup_once()),
        "overhead": lambda: core.bench_overhead(mode, lineup, tmp),
        "memory": lambda: core.bench_memory(mode, lineup, startup_once()),
        "imports": lambda: core.bench_imports(mode, lineup, _startup_root(tmp)),
    }
    for section in wanted:
        began = time.perf_counter()
        try:
            parts.append(steps[section]())
        except core.BenchError as error:
            parts.append(f"## {section}: could not measure\n\n```\n{error}\n```")
            core.progress(f"{section} failed: {error}")
        finally:
            core.stop_children()
            core.progress(f"{section} took {time.perf_counter() - began:.0f} s")
    return parts


def _startup_root(tmp: Path) -> Path:
    root = tmp / "startup"
    if not (root / "app.py").exists():
        programs.project_program(root, 200)
    return root


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds: under two minutes")
    parser.add_argument(
        "--only", action="append", choices=SECTIONS, help="run only these sections (repeatable)"
    )
    parser.add_argument("--python", type=Path, help="interpreter for every tool (>= 3.12)")
    parser.add_argument("--out", type=Path, help="also write the report to this file")
    parser.add_argument(
        "--write", action="store_true", help="replace this script's block of BENCHMARKS.md"
    )
    arguments = list(sys.argv[1:] if argv is None else argv)
    options = parser.parse_args(arguments)
    mode = core.QUICK if options.quick else core.FULL
    wanted = [section for section in SECTIONS if section in (options.only or SECTIONS)]
    began = time.perf_counter()
    lineup = lineup_in(prepare_venv(options.python or find_python()))
    command = shlex.join(["python", "tools/bench.py", *arguments])
    parts = [header(mode, lineup, command)]
    with tempfile.TemporaryDirectory(prefix="hmr-bench-") as directory:
        parts += run_sections(mode, lineup, wanted, Path(directory))
    parts.append(f"Total {time.perf_counter() - began:.0f} s; load average at the end {_load()}.")
    report = "\n\n".join(parts) + "\n"
    print(report)
    if options.out:
        options.out.write_text(report)
    if options.write:
        write_benchmarks(report)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        core.stop_children()
        sys.exit(130)
