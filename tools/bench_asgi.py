"""Web server edit-to-effect: edit an endpoint, time until ``GET /`` returns the new body.

Two app shapes, each loading a "model" for 2 s at import:

- ``routes``: ``fixtures/fastapi_app``, the model in ``model.py``, the edited endpoint in
  ``routes.py``;
- ``single-file``: ``fixtures/fastapi_single``, model and endpoints in one ``main.py`` (the
  commonest shape, where a module-level reloader loads the model again on every edit);
- ``shared-app``: ``fixtures/fastapi_shared``, the app made in ``shared.py`` and its route
  added by ``@app.get`` in ``api.py`` (issue 14: where a module reloader adds the route a
  second time behind the old one, and serves the old body). A server that still serves the
  old body ``STALE_SECONDS`` after a save is marked stale and not measured further.

Side by side in one run, each in its own copy of the app on a free port of 127.0.0.1:

- ``hmr-ast uvicorn main:app`` (this project);
- ``uvicorn-hmr main:app`` and ``jurigged -m uvicorn main:app`` (PyPI), in a virtualenv this
  script makes under ``.cache/`` with CPython 3.12 from pyenv (uvicorn-hmr needs 3.12);
  never in the project's environment;
- ``uvicorn main:app --reload``.

Each row also counts how often the model loaded in the whole session (1 is ideal).

A third table counts torn responses (issue 14): ``fixtures/asgi_publication``'s ``GET /``
reads ``cfg.A``, awaits 0.3 s, then reads ``cfg.B``; 4 clients request it back to back
while ``cfg.py`` is saved ``--edits`` times, each save setting both to the same new value
(the next save once every client has been served it whole). A response with ``a != b`` saw
two versions of the program; a failed request is one refused or cut while a server
restarted.

Usage: ``python tools/bench_asgi.py [--rounds 10] [--shape routes single-file] [--edits 8]
[--tables latency torn] [--only NAME ...] [--no-write]``. Prints markdown tables and writes
them to the "Web server (issue 5)" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import json
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks_md import write_section

ROOT = Path(__file__).resolve().parent.parent
SHAPES = {  # app folder, the file whose endpoint is edited
    "routes": (ROOT / "fixtures" / "fastapi_app", "routes.py"),
    "single-file": (ROOT / "fixtures" / "fastapi_single", "main.py"),
    "shared-app": (ROOT / "fixtures" / "fastapi_shared", "api.py"),
}
STALE_SECONDS = 20
TORN_FIXTURE = ROOT / "fixtures" / "asgi_publication"
TORN_CLIENTS = 4
MODEL_LOADED = "loading model"
VENV = ROOT / ".cache" / "bench-uvicorn-hmr"
SECTION = "## Web server (issue 5)"
ENDPOINT = '"hello from v1"'


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def uvicorn_hmr_venv() -> Path:
    """The virtualenv with PyPI's uvicorn-hmr (made once; it needs CPython >= 3.12)."""
    python = VENV / "bin" / "python"
    if not all((VENV / "bin" / tool).exists() for tool in ("uvicorn-hmr", "jurigged")):
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        found = sorted(glob.glob(f"{root}/versions/3.12.*/bin/python3")) if root else []
        interpreter = found[-1] if found else shutil.which("python3.12")
        if interpreter is None:
            raise SystemExit("uvicorn-hmr needs CPython 3.12: none found under pyenv or on PATH")
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["uvicorn-hmr", "jurigged", "fastapi"],
            check=True,
        )
    return VENV


SERVERS: dict[str, Callable[[int], list[str]]] = {
    "hmr-ast uvicorn": lambda port: [
        *(sys.executable, "-m", "hmr_ast", "uvicorn", "main:app"),
        *("--port", str(port), "--log-level", "warning"),
    ],
    "uvicorn-hmr (PyPI)": lambda port: [
        str(uvicorn_hmr_venv() / "bin" / "uvicorn-hmr"),
        *("main:app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ],
    "jurigged (PyPI)": lambda port: [
        *(str(uvicorn_hmr_venv() / "bin" / "jurigged"), "-m", "uvicorn", "main:app"),
        *("--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"),
    ],
    "uvicorn --reload": lambda port: [
        *(sys.executable, "-m", "uvicorn", "main:app", "--reload"),
        *("--port", str(port), "--log-level", "warning"),
    ],
}


def body(port: int) -> str | None:
    """``GET /``'s body, or None while nothing answers (a server restarting)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/")
        return connection.getresponse().read().decode()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_for_body(port: int, text: str, timeout: float) -> float:
    """Poll every 2 ms until ``GET /`` contains ``text``; the time it took, in seconds."""
    started = time.perf_counter()
    while True:
        answer = body(port)
        now = time.perf_counter()
        if answer is not None and text in answer:
            return now - started
        if now - started > timeout:
            raise TimeoutError(f"no {text!r} after {timeout} s; last answer: {answer!r}")
        time.sleep(0.002)


def measure(name: str, rounds: int, shape: str = "routes") -> tuple[list[float], int, bool]:
    """Milliseconds from each save of the endpoint's file until the new body is served, how
    often the model loaded in the whole session, and whether it went stale (still the old
    body ``STALE_SECONDS`` after a save: the rounds stop there)."""
    port = free_port()
    command = SERVERS[name](port)
    fixture, edited = SHAPES[shape]
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as temporary:
        project = Path(temporary) / "app"
        shutil.copytree(fixture, project)
        routes = project / edited
        original = routes.read_text()
        output = open(Path(temporary) / "output.txt", "w")  # noqa: SIM115 - closed below
        server = start(command, project, output)
        try:
            wait_for_body(port, "hello from v1", timeout=60)
            time.sleep(1.0)  # start-up settles (every server gets the same)
            times = []
            stale = False
            for number in range(rounds):
                text = f"hello from edit {number}"
                routes.write_text(original.replace(ENDPOINT, f'"{text}"'))
                try:
                    times.append(wait_for_body(port, text, timeout=STALE_SECONDS) * 1000)
                except TimeoutError:
                    stale = True
                    break
                time.sleep(0.3)  # let the previous app wind down before the next edit
        finally:
            stop(server)
            output.close()
        loads = (Path(temporary) / "output.txt").read_text().count(MODEL_LOADED)
        return times, loads, stale


def start(command: list[str], project: Path, output) -> subprocess.Popen:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen(command, cwd=project, env=env, stdout=output, stderr=subprocess.DEVNULL)


def stop(server: subprocess.Popen) -> None:
    server.send_signal(2)
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait()


class Readers:
    """Clients requesting ``GET /`` of the torn-read app back to back, recording ``(a, b)``."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.served: list[list[tuple[int, int]]] = [[] for _ in range(TORN_CLIENTS)]
        self.failed = 0
        self.seen = threading.Condition()
        self.stopping = threading.Event()
        self.threads = [
            threading.Thread(target=self.run, args=(served,), daemon=True) for served in self.served
        ]

    def run(self, served: list[tuple[int, int]]) -> None:
        connection = None
        while not self.stopping.is_set():
            if connection is None:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
            try:
                connection.request("GET", "/")
                answer = json.loads(connection.getresponse().read())
            except (OSError, http.client.HTTPException, ValueError):
                connection.close()
                connection = None
                with self.seen:
                    self.failed += 1
                time.sleep(0.01)  # a restarting server: try again shortly
                continue
            with self.seen:
                served.append((answer["a"], answer["b"]))
                self.seen.notify_all()
        if connection is not None:
            connection.close()

    def wait_for(self, version: int, timeout: float) -> None:
        """Until every client has been served ``version`` whole."""
        with self.seen:
            if not self.seen.wait_for(
                lambda: all((version, version) in served for served in self.served), timeout
            ):
                raise TimeoutError(f"version {version} not served to every client in {timeout} s")


def measure_torn(name: str, edits: int) -> tuple[int, int, int, str]:
    """Responses, torn responses and failed requests over ``edits`` saves of ``cfg.py``, and
    what went wrong if a save was never served."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-torn-") as temporary:
        project = Path(temporary) / "app"
        shutil.copytree(TORN_FIXTURE, project)
        server = start(SERVERS[name](port), project, subprocess.DEVNULL)
        readers = Readers(port)
        try:
            wait_for_body(port, '"a": 1', timeout=60)
            time.sleep(1.0)  # start-up settles (every server gets the same)
            for thread in readers.threads:
                thread.start()
            readers.wait_for(1, timeout=60)
            for version in range(2, edits + 2):
                (project / "cfg.py").write_text(f"A = {version}\nB = {version}\n")
                readers.wait_for(version, timeout=60)
            problem = ""
        except TimeoutError as error:
            problem = str(error)
        finally:
            readers.stopping.set()
            for thread in readers.threads:
                thread.join(timeout=40)
            stop(server)
        pairs = [pair for served in readers.served for pair in served]
        return len(pairs), sum(a != b for a, b in pairs), readers.failed, problem


def torn_table(results: dict[str, tuple[int, int, int, str]]) -> str:
    lines = [
        "| server | responses | torn (saw two versions) | failed requests | every save served |",
        "|---|---|---|---|---|",
    ]
    for name, (responses, torn, failed, problem) in results.items():
        served = f"no: {problem}" if problem else "yes"
        lines.append(f"| {name} | {responses} | {torn} | {failed} | {served} |")
    return "\n".join(lines)


def table(results: dict[str, tuple[list[float], int, bool]]) -> str:
    ours = results.get("hmr-ast uvicorn")
    base = statistics.median(ours[0]) if ours and ours[0] else None
    lines = [
        "| server | median | max | rounds | median vs hmr-ast | model loads |",
        "|---|---|---|---|---|---|",
    ]
    for name, (times, loads, stale) in results.items():
        if stale:
            lines.append(
                f"| {name} | **stale**: the old body still served {STALE_SECONDS} s after save "
                f"{len(times) + 1} | | {len(times)} | | {loads} |"
            )
            continue
        median = statistics.median(times)
        ratio = f"{median / base:.1f}x" if base else ""
        lines.append(
            f"| {name} | {median:,.0f} ms | {max(times):,.0f} ms | {len(times)} | {ratio} "
            f"| {loads} |"
        )
    return "\n".join(lines)


_VERSIONS = (
    "import platform, importlib.metadata as m; "
    'print(f\'Python {platform.python_version()}, uvicorn-hmr {m.version("uvicorn-hmr")}, '
    'jurigged {m.version("jurigged")}, hmr {m.version("hmr")}, uvicorn {m.version("uvicorn")}\')'
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", nargs="*", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--shape", nargs="*", choices=list(SHAPES), default=list(SHAPES))
    parser.add_argument("--edits", type=int, default=8, help="saves in the torn-read table")
    parser.add_argument(
        "--tables", nargs="*", choices=("latency", "torn"), default=["latency", "torn"]
    )
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    options = parser.parse_args()
    tables = {}
    for shape in options.shape if "latency" in options.tables else ():
        results = {}
        for name in options.only:
            print(f"{shape}: measuring {name} ({options.rounds} rounds)...", file=sys.stderr)
            results[name] = measure(name, options.rounds, shape)
        tables[shape] = table(results)
    if "torn" in options.tables:
        torn = {}
        for name in options.only:
            print(f"torn reads: measuring {name} ({options.edits} edits)...", file=sys.stderr)
            torn[name] = measure_torn(name, options.edits)
        tables["torn"] = torn_table(torn)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    import uvicorn

    others = ""
    if any(name.endswith("(PyPI)") for name in options.only):
        version = subprocess.run(
            [str(VENV / "bin" / "python"), "-c", _VERSIONS], capture_output=True, text=True
        ).stdout.strip()
        others = f" uvicorn-hmr's virtualenv: {version}."
    described = {
        "routes": "the endpoint in `routes.py` of `fixtures/fastapi_app` (the model in `model.py`)",
        "single-file": "the endpoint in `main.py` of `fixtures/fastapi_single` (the model in the "
        "same file)",
        "shared-app": "the endpoint in `api.py` of `fixtures/fastapi_shared`, added by "
        "`@app.get` to the app `shared.py` made (the model in `model.py`)",
        "torn": f"`cfg.py` of `fixtures/asgi_publication` {options.edits} times, each save "
        "setting `A` and `B` to the same new value, while "
        f"{TORN_CLIENTS} clients request `GET /` back to back (it reads `cfg.A`, awaits 0.3 s, "
        "reads `cfg.B`; the next save once every client was served the last one whole); a torn "
        "response saw two versions of the program",
    }
    body_text = "\n".join(f"Edit {described[shape]}:\n\n{text}\n" for shape, text in tables.items())
    command = " ".join(["python tools/bench_asgi.py", *sys.argv[1:]])
    section = (
        f"{SECTION}\n\n"
        "The model sleeps 2 s at import. Time from the save until `GET /` returns the new body "
        f"(polled every 2 ms), {options.rounds} rounds each. `{command}`, "
        f"commit {commit}, Python {platform.python_version()}, uvicorn {uvicorn.__version__}, "
        f"{os.cpu_count()} cores shared with other work: compare ratios.{others}\n\n"
        f"{body_text}"
    )
    print(body_text)
    if not options.no_write:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
