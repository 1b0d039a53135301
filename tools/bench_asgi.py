"""Web server edit-to-effect: edit an endpoint, time until ``GET /`` returns the new body.

The app is ``fixtures/fastapi_app`` (its ``model.py`` sleeps 2 s at import). Side by side in
one run, each in its own copy of the app on a free port of 127.0.0.1:

- ``hmr-ast uvicorn main:app`` (this project);
- ``uvicorn-hmr main:app`` (PyPI), in a virtualenv this script makes under ``.cache/``
  with CPython 3.12 from pyenv (it needs 3.12); never in the project's environment;
- ``uvicorn main:app --reload``.

Usage: ``python tools/bench_asgi.py [--rounds 10] [--only NAME ...] [--no-write]``.
Prints a markdown table and writes it to the "Web server (issue 5)" section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import glob
import http.client
import os
import platform
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = ROOT / "fixtures" / "fastapi_app"
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
    if not (VENV / "bin" / "uvicorn-hmr").exists():
        root = subprocess.run(["pyenv", "root"], capture_output=True, text=True).stdout.strip()
        found = sorted(glob.glob(f"{root}/versions/3.12.*/bin/python3")) if root else []
        interpreter = found[-1] if found else shutil.which("python3.12")
        if interpreter is None:
            raise SystemExit("uvicorn-hmr needs CPython 3.12: none found under pyenv or on PATH")
        subprocess.run([interpreter, "-m", "venv", str(VENV)], check=True)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
            + ["uvicorn-hmr", "fastapi"],
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


def measure(name: str, rounds: int) -> list[float]:
    """Milliseconds from each save of ``routes.py`` until the new body is served."""
    port = free_port()
    command = SERVERS[name](port)
    with tempfile.TemporaryDirectory(prefix="bench-asgi-") as temporary:
        project = Path(temporary) / "app"
        shutil.copytree(FIXTURE, project)
        routes = project / "routes.py"
        original = routes.read_text()
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        server = subprocess.Popen(
            command, cwd=project, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        try:
            wait_for_body(port, "hello from v1", timeout=60)
            time.sleep(1.0)  # start-up settles (every server gets the same)
            times = []
            for number in range(rounds):
                text = f"hello from edit {number}"
                routes.write_text(original.replace(ENDPOINT, f'"{text}"'))
                times.append(wait_for_body(port, text, timeout=60) * 1000)
                time.sleep(0.3)  # let the previous app wind down before the next edit
            return times
        finally:
            server.send_signal(2)
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def table(results: dict[str, list[float]]) -> str:
    ours = statistics.median(results["hmr-ast uvicorn"]) if "hmr-ast uvicorn" in results else None
    lines = [
        "| server | median | max | rounds | median vs hmr-ast |",
        "|---|---|---|---|---|",
    ]
    for name, times in results.items():
        median = statistics.median(times)
        ratio = f"{median / ours:.0f}x" if ours else ""
        lines.append(
            f"| {name} | {median:,.0f} ms | {max(times):,.0f} ms | {len(times)} | {ratio} |"
        )
    return "\n".join(lines)


def write_section(text: str) -> None:
    """Replace (or add) our section of BENCHMARKS.md; the other sections are not ours."""
    path = ROOT / "BENCHMARKS.md"
    current = path.read_text() if path.exists() else "# Benchmarks\n"
    start = current.find(SECTION)
    if start < 0:
        path.write_text(current.rstrip("\n") + "\n\n" + text)
        return
    end = current.find("\n## ", start + len(SECTION))
    rest = current[end + 1 :] if end >= 0 else ""
    path.write_text(current[:start] + text + ("\n" + rest if rest else ""))


_VERSIONS = (
    "import platform, importlib.metadata as m; "
    'print(f\'Python {platform.python_version()}, uvicorn-hmr {m.version("uvicorn-hmr")}, '
    'hmr {m.version("hmr")}, uvicorn {m.version("uvicorn")}\')'
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--only", nargs="*", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    options = parser.parse_args()
    results = {}
    for name in options.only:
        print(f"measuring {name} ({options.rounds} rounds)...", file=sys.stderr, flush=True)
        results[name] = measure(name, options.rounds)
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    import uvicorn

    others = ""
    if "uvicorn-hmr (PyPI)" in results:
        version = subprocess.run(
            [str(VENV / "bin" / "python"), "-c", _VERSIONS], capture_output=True, text=True
        ).stdout.strip()
        others = f" uvicorn-hmr's virtualenv: {version}."
    section = (
        f"{SECTION}\n\n"
        "Edit the endpoint in `routes.py` of `fixtures/fastapi_app` (whose `model.py` sleeps 2 s "
        "at import), time from the save until `GET /` returns the new body (polled every 2 ms), "
        f"{options.rounds} rounds each. `python tools/bench_asgi.py`, commit {commit}, "
        f"Python {platform.python_version()}, uvicorn {uvicorn.__version__}, "
        f"{os.cpu_count()} cores shared with other work: compare ratios.{others}\n\n"
        f"{table(results)}\n"
    )
    print(table(results))
    if not options.no_write:
        write_section(section)


if __name__ == "__main__":
    main()
