#!/usr/bin/env python3
"""Real projects' own test suites, run plainly and under ``hmr-ast run -m pytest``.

    python tools/check_corpus.py                    # every project, 1 round, table printed
    python tools/check_corpus.py --rounds 3 --write # medians of 3, into BENCHMARKS.md
    python tools/check_corpus.py --only click attrs --tutorial 0   # some of them

Not run in CI: it needs the package index and takes ~15 minutes a round (the first round
also installs). Each project is fetched as its pinned source distribution
(``pip download --no-deps --no-binary :all: NAME==VERSION``),
unpacked and installed editable, with its test dependencies, this checkout of hmr-ast
(editable) and pytest 9.0, into its own virtualenv under ``.cache/corpus/`` (git ignores it).
The tree is the project's working folder, as a developer of that project has it, so hmr-ast
instruments the project's own modules and its tests. The hmr-ast that runs is the commit
given by ``--commit`` (default HEAD), exported with ``git archive`` and put first on
PYTHONPATH: edits not committed yet, by anyone working in this checkout, do not count.

Each round runs the suite (a) as ``python -m pytest ARGS`` and (b) as
``hmr-ast run -v -m pytest ARGS``, alternately. For (b), the run ends when hmr-ast says
``__main__ exited``; then nobody edits anything for 10 s, and every reload or restart hmr-ast
reports in that window (its stderr is read with a deadline, nothing sleeps) counts against
it. Targets: identical outcome counts, time <= 1.10x, no reload. Logs of every run are kept
in ``.cache/corpus/NAME-VERSION/logs/``.

PYTHONDONTWRITEBYTECODE is removed from the runs' environment (``--dont-write-bytecode``
keeps it): with it, Python writes no ``.pyc`` and hmr-ast no cache of instrumented code, so
every run would be a cold start for both, which is not how projects are usually run.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from benchmarks_md import write_section

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".cache" / "corpus"
SECTION = "## Real projects' test suites (issue 13)"
QUIET_WINDOW = 10.0
PYTEST = "pytest>=9.0,<9.1"  # the release the corpus table was measured with (repeatable)


@dataclass(frozen=True)
class Project:
    name: str  # as on the package index
    version: str
    covers: str
    test_deps: tuple[str, ...] = ()
    pytest_args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()  # the project's own switches, as its CI sets them


PROJECTS = (
    Project(
        "attrs",
        "26.1.0",
        "attrs itself (class-building decorators, slotted classes, `__future__` annotations "
        "in tests), src layout, hypothesis writes `.hypothesis/`",
        ("hypothesis", "pympler", "cloudpickle"),
    ),
    Project(
        "click",
        "8.5.1",
        "`from __future__ import annotations` throughout, src layout, `filterwarnings=error`, "
        "tests write files",
    ),
    Project(
        "itsdangerous", "2.2.0", "src layout, small library, `filterwarnings=error`", ("freezegun",)
    ),
    Project("markupsafe", "3.0.4", "C extension (`_speedups`) built in place, src layout"),
    Project(
        "python-dotenv",
        "1.2.4",
        "suite writes `.env` files and runs subprocesses, src layout",
        ("click",),
    ),
    Project("tomlkit", "0.15.2", "`__future__` annotations, flat layout, `TypedDict`-free parsers"),
    Project(
        "marshmallow",
        "4.4.0",
        "metaclass (`SchemaMeta`), `__future__` annotations, dataclass-like schemas, src layout",
        ("simplejson",),
    ),
    Project(
        "pydantic-settings",
        "2.16.3",
        "pydantic-heavy: `BaseSettings` models, `TypedDict`/dataclass fields, writes `.env`/"
        "JSON/TOML files, flat layout",
        ("pytest-mock",),
        ("--ignore=tests/test_docs.py",),  # needs pytest-examples (ruff, black) to lint docs
    ),
    Project(
        "jaraco.functools",
        "4.6.0",
        "namespace package (`jaraco/` has no `__init__.py`), doctests, `--import-mode importlib`",
        ("jaraco.classes",),
        # a timing test that fails on a loaded machine, plain or not
        ("--deselect", "test_functools.py::TestThrottler::test_function_throttled"),
    ),
    Project(
        "packaging",
        "26.4",
        "`__future__` annotations, dataclasses, src layout, `filterwarnings=error`",
        ("pretend", "tomli_w", "typing_extensions", "hypothesis"),
    ),
    Project(
        "cattrs",
        "26.2.1",
        "attrs classes, dataclasses and `TypedDict`s structured by generated code (`linecache`"
        ", `exec`), hypothesis strategies, src layout",
        ("hypothesis", "immutables", "pytest-benchmark"),
        ("tests", "--ignore=tests/preconf", "--ignore=tests/test_preconf.py"),  # a dozen libraries
        (("FAST", "1"),),  # its conftest's hypothesis profile with max_examples=10
    ),
    Project(
        "jinja2",
        "3.1.6",
        "templates compiled to Python at run time (`compile`, `linecache`), src layout, "
        "`filterwarnings=error`",
        ("trio",),
    ),
    Project(
        "flask",
        "3.1.3",
        "web framework: apps, blueprints, instance folders and config files written by tests, "
        "src layout",
        ("asgiref", "greenlet", "python-dotenv"),
    ),
    Project(
        "zope.interface",
        "8.7",
        "namespace package (`src/zope/` has no `__init__.py`), C extension built in place, "
        "class advice and metaclass-like declarations",
        ("zope.event", "zope.testing"),
        ("src/zope/interface",),
    ),
    Project(
        "wrapt",
        "2.5.2",
        "C extension (`_wrappers`) built in place, object proxies, decorators that rewrite "
        "classes and functions, src layout",
        (),
        ("tests/core",),
    ),
    Project(
        "fastapi",
        "0.165.0",
        "pydantic-heavy apps: the tutorial's `docs_src` apps imported by `tests/test_tutorial`"
        " (the suite of issue 13), whose tests write `log.txt`, `static/`, `templates/`",
        (
            "uvicorn",
            "httpx",
            "httpx2",
            "python-multipart",
            "jinja2",
            "email-validator",
            "dirty-equals",
            "inline-snapshot",
            "pyyaml",
            "sqlmodel",
            "pwdlib[argon2]",
            "pyjwt",
            "orjson",
            "ujson",
            "a2wsgi",
            "flask",
            "anyio[trio]",
            "pytest-timeout",
            "pytest-xdist",  # registers the xdist_group mark (run without -n)
            "pydantic-settings",
            "typer",
            "strawberry-graphql",
            "opentelemetry-sdk",
            "opentelemetry-instrumentation-fastapi",
            "opentelemetry-exporter-otlp-proto-http",
            "logfire",
            "sentry-sdk",
        ),
        ("tests/test_tutorial",),
    ),
)


# --- fetching and installing ---------------------------------------------------------------


def home(project: Project) -> Path:
    return CACHE / f"{project.name}-{project.version}"


def step(command: list[str], cwd: Path | None = None, log: Path | None = None) -> None:
    """Run a set-up command; on failure show its output and stop."""
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True)
    if log is not None:
        with log.open("a") as file:
            file.write(f"$ {' '.join(command)}\n{result.stdout}{result.stderr}\n")
    if result.returncode != 0:
        sys.exit(f"check_corpus: failed: {' '.join(command)}\n{result.stdout}{result.stderr}")


def fetch(project: Project) -> Path:
    """The unpacked source distribution (downloaded and unpacked once)."""
    tree = home(project) / "tree"
    if (tree / ".unpacked").exists():
        return tree
    sdists = CACHE / "sdists"
    sdists.mkdir(parents=True, exist_ok=True)
    spec = f"{project.name}=={project.version}"
    step(["pip", "download", "-q", "--no-deps", "--no-binary", ":all:", spec, "-d", str(sdists)])
    tail = f"-{project.version}.tar.gz"
    archive = next(
        path
        for path in sdists.iterdir()
        if path.name.endswith(tail) and _normal(path.name[: -len(tail)]) == _normal(project.name)
    )
    shutil.rmtree(tree, ignore_errors=True)
    unpack = home(project) / "unpack"
    shutil.rmtree(unpack, ignore_errors=True)
    with tarfile.open(archive) as tar:
        tar.extractall(unpack, filter="data")
    (top,) = unpack.iterdir()
    top.rename(tree)
    unpack.rmdir()
    (tree / ".unpacked").write_text(archive.name)
    return tree


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def prepare(project: Project) -> tuple[Path, Path]:
    """(the tree, its virtualenv's python), installed once per set of requirements."""
    tree = fetch(project)
    venv = home(project) / "venv"
    python = venv / "bin" / "python"
    wanted = "\n".join([PYTEST, *project.test_deps, str(ROOT)])
    marker = venv / ".installed"
    if marker.exists() and marker.read_text() == wanted:
        return tree, python
    shutil.rmtree(venv, ignore_errors=True)
    log = home(project) / "install.log"
    log.unlink(missing_ok=True)
    step([sys.executable, "-m", "venv", str(venv)], log=log)
    pip = [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    step([*pip, PYTEST, *project.test_deps], log=log)
    step([*pip, "-e", str(ROOT)], log=log)
    step([*pip, "-e", str(tree)], log=log)
    marker.write_text(wanted)
    return tree, python


# --- running -----------------------------------------------------------------------------

OUTCOME = re.compile(r"(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|warnings?|deselected)")
SUMMARY = re.compile(r"^=*\s*((?:\d+ \w+,? ?)+)(?:in [\d.]+s)")


def outcome_counts(stdout: str) -> dict[str, int]:
    """pytest's last summary line as {outcome: count}; {} when it printed none."""
    for line in reversed(stdout.splitlines()):
        if SUMMARY.search(line.strip()):
            counts = {}
            for number, word in OUTCOME.findall(line):
                word = {"error": "errors", "warning": "warnings"}.get(word, word)
                counts[word] = int(number)
            return counts
    return {}


@dataclass
class Run:
    counts: dict[str, int]
    seconds: float
    reloads_during: list[str] = field(default_factory=list)
    reloads_after: list[str] = field(default_factory=list)
    noise: list[str] = field(default_factory=list)  # stderr lines of hmr-ast's own making


def environment(keep_dont_write: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not keep_dont_write:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.pop("PYTEST_ADDOPTS", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def activated(env: dict[str, str], python: Path) -> dict[str, str]:
    """``env`` with the virtualenv activated, as its developers run their suite (the suite
    may start the project's console scripts by name)."""
    env = dict(env, VIRTUAL_ENV=str(python.parent.parent))
    env["PATH"] = f"{python.parent}{os.pathsep}{env.get('PATH', '')}"
    return env


class Child:
    """A process whose stdout and stderr are copied to ``logs`` and read, line by line with
    the time each was read, on threads (queues of (time, line), then None)."""

    def __init__(self, command: list[str], cwd: Path, env: dict, logs: Path, name: str):
        self.out_copy = (logs / f"{name}.out").open("w")
        self.err_copy = (logs / f"{name}.err").open("w")
        self.start = time.perf_counter()
        self.process = subprocess.Popen(
            command,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.out: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self.err: queue.Queue[tuple[float, str] | None] = queue.Queue()
        self.pumps = [
            threading.Thread(target=_pump, args=(self.process.stdout, self.out, self.out_copy)),
            threading.Thread(target=_pump, args=(self.process.stderr, self.err, self.err_copy)),
        ]
        for pump in self.pumps:
            pump.start()

    def stdout(self) -> list[tuple[float, str]]:
        """Every stdout line, once the process has ended."""
        lines = []
        while (item := self.out.get()) is not None:
            lines.append(item)
        return lines

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        for pump in self.pumps:
            pump.join(timeout=10)
        self.out_copy.close()
        self.err_copy.close()


def _pump(pipe, lines: queue.Queue, copy) -> None:
    for line in iter(pipe.readline, ""):
        copy.write(line)
        lines.put((time.perf_counter(), line.rstrip("\n")))
    lines.put(None)


HEADER = re.compile(r"^=+ test session starts =+$")


def summary(stdout: list[tuple[float, str]], ended: float) -> tuple[dict[str, int], float]:
    """The counts and the time of the summary line of the run that ended at ``ended``: the
    last summary line before the header of any run started after it (a restart)."""
    found: tuple[dict[str, int], float] = ({}, float("nan"))
    for stamp, line in stdout:
        if stamp > ended and HEADER.match(line):
            break
        counts = outcome_counts(line)
        if counts:
            found = counts, stamp
    return found


def run_plain(project: Project, tree: Path, python: Path, logs: Path, env: dict) -> Run:
    """``python -m pytest``; timed from spawn to pytest's summary line."""
    command = [str(python), "-m", "pytest", *project.pytest_args]
    child = Child(command, tree, env, logs, "plain")
    try:
        child.process.wait()
        counts, stamp = summary(child.stdout(), float("inf"))
    finally:
        child.close()
    return Run(counts, stamp - child.start)


RELOAD = re.compile(r"^\[hmr-ast\] reloaded ")
EXITED = re.compile(r"^\[hmr-ast\]   __main__ (exited|raised)|^\[hmr-ast\] __main__ raised")


def run_hot(
    project: Project, tree: Path, python: Path, logs: Path, env: dict, timeout: float
) -> Run:
    """``hmr-ast run -v -m pytest``, timed from spawn to pytest's summary line; it goes on
    until hmr-ast says the entry ended, then 10 s with nobody editing."""
    hmr = python.parent / "hmr-ast"
    command = [str(hmr), "run", "-v", "-m", "pytest", *project.pytest_args]
    child = Child(command, tree, env, logs, "hot")
    run = Run({}, float("nan"))
    ended = None
    try:
        # Until the entry ends (or the process does, or the time is up).
        deadline = child.start + timeout
        while ended is None:
            try:
                item = child.err.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                run.noise.append(f"no end of the run after {timeout:.0f} s")
                break
            if item is None:
                run.noise.append(f"hmr-ast ended (exit code {child.process.wait()})")
                break
            stamp, line = item
            if EXITED.search(line):
                ended = stamp
            elif RELOAD.search(line):
                run.reloads_during.append(line)
            elif _ours(line):
                run.noise.append(line)
        # Then 10 s in which nobody edits: every reload reported counts.
        if ended is not None:
            quiet_until = time.perf_counter() + QUIET_WINDOW
            while (remaining := quiet_until - time.perf_counter()) > 0:
                try:
                    item = child.err.get(timeout=remaining)
                except queue.Empty:
                    break
                if item is None:
                    run.noise.append(f"hmr-ast ended (exit code {child.process.wait()})")
                    break
                if RELOAD.search(item[1]):
                    run.reloads_after.append(item[1])
                elif _ours(item[1]):
                    run.noise.append(item[1])
    finally:
        child.close()
    counts, stamp = summary(child.stdout(), ended if ended is not None else float("inf"))
    run.counts, run.seconds = counts, stamp - child.start
    return run


def _ours(line: str) -> bool:
    """A stderr line that plain pytest would not print: hmr-ast's, or a traceback it caused."""
    return line.startswith("[hmr-ast]") or "Exception ignored in" in line


# --- the table ---------------------------------------------------------------------------


@dataclass
class Result:
    project: Project
    plain: list[Run]
    hot: list[Run]
    warm_up: list[Run] = field(default_factory=list)  # untimed, but checked like the others

    def checked(self) -> list[Run]:
        return self.warm_up + self.plain + self.hot

    def tests(self) -> int:
        counts = self.plain[0].counts
        return sum(n for k, n in counts.items() if k not in ("warnings", "deselected"))

    def same_counts(self) -> bool:
        first = self.plain[0].counts
        return bool(first) and all(run.counts == first for run in self.checked())

    def ratio(self) -> float:
        return statistics.median(r.seconds for r in self.hot) / statistics.median(
            r.seconds for r in self.plain
        )

    def reloads_after(self) -> int:
        return sum(len(run.reloads_after) for run in self.checked())

    def reloads_during(self) -> int:
        return sum(len(run.reloads_during) for run in self.checked())

    def ok(self) -> bool:
        return (
            self.same_counts()
            and self.ratio() <= 1.10
            and not self.reloads_after()
            and not self.reloads_during()
        )


def show_counts(counts: dict[str, int]) -> str:
    if not counts:
        return "no summary line"
    return ", ".join(f"{n} {k}" for k, n in counts.items())


def table(results: list[Result]) -> str:
    lines = [
        "| project | tests | plain: outcomes | plain s | hmr-ast: outcomes | hmr-ast s | ratio "
        "| reloads during / in 10 s after | targets |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        plain = statistics.median(r.seconds for r in result.plain)
        hot = statistics.median(r.seconds for r in result.hot)
        hot_counts = {show_counts(r.counts) for r in result.warm_up[1:] + result.hot}
        missed = []
        if not result.same_counts():
            missed.append("outcomes differ")
        if not result.ratio() <= 1.10:
            missed.append("time")
        if result.reloads_during() or result.reloads_after():
            missed.append("reloads")
        lines.append(
            f"| {result.project.name} {result.project.version} | {result.tests()} "
            f"| {show_counts(result.plain[0].counts)} | {plain:.1f} "
            f"| {' / '.join(sorted(hot_counts))} | {hot:.1f} | {result.ratio():.2f}x "
            f"| {result.reloads_during()} / {result.reloads_after()} "
            f"| {'met' if not missed else 'missed: ' + ', '.join(missed)} |"
        )
    return "\n".join(lines)


def details(results: list[Result]) -> str:
    """What hmr-ast printed besides pytest's own output, per project (first lines)."""
    lines = []
    for result in results:
        seen: list[str] = []
        for run in result.warm_up[1:] + result.hot:
            for line in run.reloads_during + run.reloads_after + run.noise:
                if line not in seen:
                    seen.append(line)
        if seen:
            lines.append(f"- {result.project.name}:")
            lines += [f"  - `{line[:200]}`" for line in seen[:6]]
            if len(seen) > 6:
                lines.append(f"  - ... {len(seen) - 6} more distinct lines")
    return "\n".join(lines)


def export(revision: str) -> tuple[str, str]:
    """(src folder, short hash) of hmr-ast at ``revision``, exported once with git archive."""
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
    return str(folder / "src"), commit


def section(results: list[Result], rounds: int, env_note: str, command: str, commit: str) -> str:
    projects = "\n".join(
        f"- **{r.project.name} {r.project.version}**: {r.project.covers}"
        + (f"; run as `pytest {' '.join(r.project.pytest_args)}`" if r.project.pytest_args else "")
        + "".join(f", `{k}={v}`" for k, v in r.project.env)
        for r in results
    )
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return (
        f"{SECTION}\n\nFrom `{command}`: hmr-ast at `{commit}`, Python "
        f"{platform.python_version()}, pytest 9.0, {os.cpu_count()} CPUs shared with other "
        f"work (load average at the end {load}), {rounds} round(s), plain and hmr-ast "
        f"alternately, medians. {env_note}\n\n"
        "Each project's pinned source distribution, installed editable in its own virtualenv "
        "with its test dependencies; its own suite run as `python -m pytest` and as "
        "`hmr-ast run -v -m pytest` in the unpacked tree (hmr-ast from an export of the commit "
        "named, first on PYTHONPATH). Times are wall clock from spawn to pytest's summary line "
        "(hmr-ast keeps watching after the run; its `__main__ exited` line ends it). Then 10 s "
        "with no edit: any reload or restart hmr-ast reports counts. Targets: the same outcome "
        "counts, <= 1.10x, no reload.\n\n"
        f"{table(results)}\n\nWhat the projects cover:\n\n{projects}\n\n"
        + (
            f"What hmr-ast printed besides the suite's own output:\n\n{details(results)}\n"
            if details(results)
            else ""
        )
    )


#: Hand-written subsections of our section that a new run keeps (they say what the runs found).
KEPT = ("### Notes (hand-written", "### Differences found", "### First runs")


# --- FastAPI's tutorial apps under hmr-ast uvicorn ----------------------------------------

FASTAPI = next(project for project in PROJECTS if project.name == "fastapi")
#: What a tutorial app may import to be served here: no sibling modules, no database or
#: template folders, nothing outside fastapi's own dependencies.
_ALLOWED = re.compile(
    r"^(fastapi(?!\.(testclient|staticfiles|templating))|pydantic|typing|typing_extensions|"
    r"collections|datetime|dataclasses|enum|uuid|time|functools|contextlib|json|decimal|"
    r"starlette|annotated_types|__future__)\b"
)
PROBE = "/hmr-ast-corpus-edit"
EDIT = """

@app.get("/hmr-ast-corpus-edit")
def hmr_ast_corpus_edit():
    return {"edited": True}
"""


def tutorial_apps(tree: Path, limit: int) -> list[Path]:
    """The first servable app of each tutorial folder of ``docs_src`` (sorted), at most
    ``limit``: a single file defining ``app = FastAPI(...)`` and importing only _ALLOWED."""
    apps = []
    for folder in sorted((tree / "docs_src").iterdir()):
        for path in sorted(folder.glob("*.py")):
            text = path.read_text()
            imports = re.findall(r"^(?:from|import) ([\w.]+)", text, re.MULTILINE)
            if "\napp = FastAPI(" in text and all(_ALLOWED.match(name) for name in imports):
                apps.append(path)
                break
    return apps[:limit]


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _get(port: int, path: str) -> tuple[int, str]:
    import http.client

    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode(errors="replace")
    finally:
        connection.close()


def responses(port: int) -> dict[str, tuple[int, str]]:
    """``/openapi.json`` and every GET path it lists that needs no parameter."""
    import json

    seen = {path: _get(port, path) for path in ("/openapi.json", PROBE)}
    status, body = seen["/openapi.json"]
    if status == 200:
        for path, operations in sorted(json.loads(body).get("paths", {}).items()):
            get = operations.get("get")
            if "{" in path or get is None:
                continue
            if any(parameter.get("required") for parameter in get.get("parameters", [])):
                continue
            seen[path] = _get(port, path)
    return seen


def _serving(child: Child, port: int, timeout: float = 30) -> str | None:
    """None once ``port`` answers; else why not."""
    import socket

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if child.process.poll() is not None:
            return f"exited ({child.process.returncode})"
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return None
        except OSError:
            time.sleep(0.02)
    return "did not answer"


def _plain_responses(python: Path, folder: Path, env: dict, logs: Path) -> dict | str:
    port = _free_port()
    command = [str(python), "-m", "uvicorn", "main:app", "--port", str(port)]
    child = Child(command, folder, env, logs, "plain")
    try:
        return _serving(child, port) or responses(port)
    finally:
        child.close()


def check_tutorial_app(source: Path, python: Path, env: dict) -> tuple[str, list[str] | None]:
    """(app, differences): plain uvicorn vs hmr-ast uvicorn before the edit, and a fresh
    plain uvicorn vs hmr-ast uvicorn after appending one route to the app's file; None when
    plain uvicorn cannot serve it here (it needs a folder or a service)."""
    name = f"{source.parent.name}/{source.name}"
    folder = home(FASTAPI) / "apps" / f"{source.parent.name}-{source.stem}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    main = folder / "main.py"
    main.write_text(source.read_text())
    differences = []
    main.write_text(source.read_text() + EDIT)
    after = _plain_responses(python, folder, env, folder)
    main.write_text(source.read_text())
    before = _plain_responses(python, folder, env, folder)
    if isinstance(before, str) or isinstance(after, str):
        return name, None
    port = _free_port()
    command = [str(python.parent / "hmr-ast"), "uvicorn", "main:app", "--port", str(port)]
    child = Child(command, folder, env, folder, "hot")
    try:
        problem = _serving(child, port)
        if problem:
            return name, [f"hmr-ast uvicorn {problem}"]
        hot_before = responses(port)
        if hot_before != before:
            differences.append(_difference("at start", before, hot_before))
        main.write_text(source.read_text() + EDIT)
        deadline = time.perf_counter() + 20
        while True:  # the reload line, then the new route served
            try:
                item = child.err.get(timeout=max(0.0, deadline - time.perf_counter()))
            except queue.Empty:
                return name, [*differences, "no reload line within 20 s of the edit"]
            if item is None:
                return name, [*differences, "hmr-ast uvicorn exited after the edit"]
            if RELOAD.search(item[1]):
                break
        while _get(port, PROBE) != after[PROBE]:
            if time.perf_counter() > deadline:
                return name, [*differences, f"{PROBE} never served as by plain uvicorn"]
            time.sleep(0.02)
        hot_after = responses(port)
    finally:
        child.close()
    if hot_after != after:
        differences.append(_difference("after the edit", after, hot_after))
    return name, differences


def _difference(when: str, plain: dict | str, hot: dict | str) -> str:
    if isinstance(plain, str) or isinstance(hot, str):
        return f"{when}: plain {plain if isinstance(plain, str) else 'served'}, hmr-ast {hot}"
    paths = sorted(set(plain) | set(hot))
    differ = [path for path in paths if plain.get(path) != hot.get(path)]
    first = differ[0]
    return (
        f"{when}: {', '.join(differ)} differ; {first}: plain {plain.get(first)!r:.300}, "
        f"hmr-ast {hot.get(first)!r:.300}"
    )


def run_tutorial(limit: int, env: dict) -> tuple[str, int]:
    """The tutorial part of the section, and how many apps differed."""
    tree, python = prepare(FASTAPI)
    apps = tutorial_apps(tree, limit)
    env = activated(env, python)
    lines, failed, unservable = [], 0, []
    for source in apps:
        name, differences = check_tutorial_app(source, python, env)
        if differences is None:
            print(f"{name}: plain uvicorn cannot serve it here; left out", flush=True)
            unservable.append(name)
            continue
        print(f"{name}: {'; '.join(differences) or 'same responses'}", flush=True)
        if differences:
            failed += 1
            lines += [f"- `{name}`: {difference}" for difference in differences]
    text = (
        f"### FastAPI {FASTAPI.version}'s tutorial apps under `hmr-ast uvicorn`\n\n"
        f"Part of the same command (`--tutorial {limit}`): the first servable app of "
        f"each `docs_src` folder of the fastapi sdist (one file, importing only fastapi, "
        f"pydantic and the standard library), {len(apps)} apps. Each is served by plain "
        "`uvicorn main:app` and by `hmr-ast uvicorn main:app`; then one route is appended to "
        "its file, and once hmr-ast has reloaded and serves that route, its responses are "
        "compared with a fresh plain `uvicorn` of the edited file. Compared: `/openapi.json` "
        "(every model's schema, so every annotation) and every GET path that needs no "
        f"parameter, status and body.\n\n**{len(apps) - len(unservable) - failed} of "
        f"{len(apps) - len(unservable)} apps serve the same responses as a fresh start, before "
        "and after the edit.**"
        + (
            f" Left out: {', '.join(f'`{name}`' for name in unservable)}, which plain uvicorn "
            "does not serve here either (a missing folder or service)."
            if unservable
            else ""
        )
        + "\n"
    )
    if lines:
        text += "\nDifferences:\n\n" + "\n".join(lines) + "\n"
    return text, failed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [p.name for p in PROJECTS]
    parser.add_argument("--only", nargs="*", choices=names, default=names)
    parser.add_argument("--rounds", type=int, default=1)
    parser.add_argument(
        "--dont-write-bytecode",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE from the environment (every run cold)",
    )
    parser.add_argument("--write", action="store_true", help="write the section of BENCHMARKS.md")
    parser.add_argument(
        "--tutorial",
        type=int,
        default=100,
        metavar="N",
        help="also serve N of FastAPI's tutorial apps under hmr-ast uvicorn, edit each (0: none)",
    )
    parser.add_argument(
        "--commit",
        default="HEAD",
        help="the commit of hmr-ast to run (exported under .cache/corpus/; default HEAD, so "
        "edits not committed yet do not count)",
    )
    parser.add_argument(
        "--hmr-ast-src",
        metavar="DIR",
        help="import hmr-ast from DIR (a src/ folder) instead of --commit",
    )
    options = parser.parse_args()
    env = environment(options.dont_write_bytecode)
    if options.hmr_ast_src:
        source, commit = os.path.abspath(options.hmr_ast_src), options.hmr_ast_src
    else:
        source, commit = export(options.commit)
    env["PYTHONPATH"] = source
    env_note = (
        "PYTHONDONTWRITEBYTECODE=1 (no `.pyc`, no hmr-ast cache: every run cold)."
        if "PYTHONDONTWRITEBYTECODE" in env
        else "PYTHONDONTWRITEBYTECODE unset: `.pyc` files and hmr-ast's cache are written, "
        "so after the first round both run warm."
    )
    results = []
    for project in PROJECTS:
        if project.name not in options.only:
            continue
        tree, python = prepare(project)
        project_env = activated(dict(env, **dict(project.env)), python)
        logs = home(project) / "logs"
        result = Result(project, [], [])
        # An untimed round first: both then start with .pyc files and hmr-ast's cache written
        # (unless PYTHONDONTWRITEBYTECODE), as a project's developers run their suite.
        for round in range(options.rounds + 1):
            folder = logs / (f"round-{round}" if round else "warm-up")
            folder.mkdir(parents=True, exist_ok=True)
            plain = run_plain(project, tree, python, folder, project_env)
            timeout = max(120.0, 5 * plain.seconds)
            hot = run_hot(project, tree, python, folder, project_env, timeout)
            if not round:
                result.warm_up += [plain, hot]
            else:
                result.plain.append(plain)
                result.hot.append(hot)
            print(
                f"{project.name} {f'round {round}' if round else 'warm-up'}: "
                f"plain {show_counts(plain.counts)} "
                f"{plain.seconds:.1f} s; hmr-ast {show_counts(hot.counts)} "
                f"{hot.seconds:.1f} s, reloads {len(hot.reloads_during)}"
                f" during, {len(hot.reloads_after)} after",
                flush=True,
            )
        results.append(result)
    tutorial, failed = run_tutorial(options.tutorial, env) if options.tutorial else ("", 0)
    print(f"hmr-ast: {commit}")
    print()
    print(table(results))
    print()
    print(details(results))
    print()
    print(tutorial)
    command = "python tools/check_corpus.py" + (
        f" --rounds {options.rounds}" if options.rounds != 1 else ""
    )
    if options.write:
        text = section(results, options.rounds, env_note, command + " --write", commit)
        write_section(SECTION, text + ("\n" + tutorial if tutorial else ""), KEPT)
    return 0 if all(result.ok() for result in results) and not failed else 1


if __name__ == "__main__":
    sys.exit(main())
