"""Flask and Django development servers, edit-to-served: hmr-ast against the frameworks' own.

Each project's start-up takes 2 s (``model.py`` sleeps 2 s at import, as a project loading
a model, warming a cache or importing a large codebase does). A view edit changes the
text a view returns (``pages.py`` of a Flask app with a blueprint; ``blog/views.py`` of a
Django project with an app); a URL edit changes the text its route passes it (the route's
``defaults=``; the ``path()`` kwargs in ``blog/urls.py``). Side by side, each in its own
copy on a free port of 127.0.0.1:

- ``hmr-ast flask --app webapp run --debug`` against ``flask --app webapp run --debug``
  (werkzeug's reloader restarts the process, keeping the socket);
- ``hmr-ast django runserver`` against ``manage.py runserver`` (Django's StatReloader
  restarts the process).

Two measures:

- latency: from each save until ``GET /`` returns the new text, polled every 2 ms;
- failed requests: one client sends ``GET /`` back to back (a new connection each) while the
  view is saved ``--edits`` times (the next save once the last one is served); a request
  refused, cut or answered with an error counts as failed.

Usage: ``python tools/bench_web.py [--rounds 10] [--edits 5] [--only NAME ...]
[--no-write]``. Prints markdown tables and writes them to the "Flask and Django (issue 11)"
section of BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import http.client
import os
import platform
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
SECTION = "## Flask and Django (issue 11)"
MODEL = 'import time\n\nprint("loading model (2 seconds)...", flush=True)\ntime.sleep(2)\n'
MODEL_LOADED = "loading model"

FLASK = {
    "model.py": MODEL,
    "webapp.py": (
        "from flask import Flask\n\nimport model  # noqa: F401\nfrom pages import pages\n\n"
        "app = Flask(__name__)\napp.register_blueprint(pages)\n"
    ),
    "pages.py": (
        "from flask import Blueprint\n\npages = Blueprint('pages', __name__)\n\n\n"
        "@pages.route('/', defaults={'text': 'route v1'})\ndef index(text):\n"
        "    return text + ' view v1'\n"
    ),
}

DJANGO = {
    "model.py": MODEL,
    "manage.py": (
        "import os\nimport sys\n\nif __name__ == '__main__':\n"
        "    os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
        "    from django.core.management import execute_from_command_line\n\n"
        "    execute_from_command_line(sys.argv)\n"
    ),
    "mysite/__init__.py": "",
    "mysite/settings.py": (
        "SECRET_KEY = 'bench'\nDEBUG = True\nALLOWED_HOSTS = ['127.0.0.1', 'localhost']\n"
        "INSTALLED_APPS = ['blog']\n"
        "ROOT_URLCONF = 'mysite.urls'\nWSGI_APPLICATION = 'mysite.wsgi.application'\n"
        "DATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3', "
        "'NAME': 'db.sqlite3'}}\nUSE_TZ = True\n"
    ),
    "mysite/urls.py": "from django.urls import include, path\n\n"
    "urlpatterns = [path('', include('blog.urls'))]\n",
    "mysite/wsgi.py": (
        "import os\n\nfrom django.core.wsgi import get_wsgi_application\n\n"
        "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'mysite.settings')\n"
        "application = get_wsgi_application()\n"
    ),
    "blog/__init__.py": "",
    "blog/urls.py": "from django.urls import path\n\nfrom . import views\n\n"
    "urlpatterns = [path('', views.index, {'text': 'route v1'})]\n",
    "blog/views.py": (
        "from django.http import HttpResponse\n\nimport model  # noqa: F401\n\n\n"
        "def index(request, text):\n    return HttpResponse(text + ' view v1')\n"
    ),
}

#: server -> (project files, the view's file, its URL's file, command for a port)
SERVERS: dict[str, tuple[dict[str, str], str, str, Callable[[int], list[str]]]] = {
    "hmr-ast flask": (
        FLASK,
        "pages.py",
        "pages.py",
        lambda port: (
            [sys.executable, "-m", "hmr_ast", "flask", "--app", "webapp", "run"]
            + ["--port", str(port), "--debug", "-q"]
        ),
    ),
    "flask run --debug": (
        FLASK,
        "pages.py",
        "pages.py",
        lambda port: (
            [sys.executable, "-m", "flask", "--app", "webapp", "run"]
            + ["--port", str(port), "--debug"]
        ),
    ),
    "hmr-ast django runserver": (
        DJANGO,
        "blog/views.py",
        "blog/urls.py",
        lambda port: [sys.executable, "-m", "hmr_ast", "django", "runserver", str(port), "-q"],
    ),
    "manage.py runserver": (
        DJANGO,
        "blog/views.py",
        "blog/urls.py",
        lambda port: [sys.executable, "manage.py", "runserver", str(port)],
    ),
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(port: int) -> tuple[int, str] | None:
    """``GET /``'s status and body, or None while nothing answers (a server restarting)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", "/")
        response = connection.getresponse()
        return response.status, response.read().decode()
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def wait_for(port: int, text: str, timeout: float = 60) -> float:
    """Poll every 2 ms until ``GET /`` answers ``text``; the time it took, in seconds."""
    started = time.perf_counter()
    while True:
        answer = get(port)
        now = time.perf_counter()
        if answer is not None and answer[1] == text:
            return now - started
        if now - started > timeout:
            raise TimeoutError(f"no {text!r} after {timeout} s; last answer: {answer!r}")
        time.sleep(0.002)


class Client:
    """One client sending ``GET /`` back to back, a new connection each, counting failures."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.requests = 0
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Client:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stop.is_set():
            answer = get(self.port)
            self.requests += 1
            if answer is None or answer[0] != 200:
                self.failed += 1
                time.sleep(0.002)  # refused at once: do not spin


FIRST = "route v1 view v1"


def measure(name: str, rounds: int, edits: int) -> dict[str, object]:
    files, view_file, url_file, command = SERVERS[name]
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-web-") as temporary:
        project = Path(temporary) / "site"
        for relative, text in files.items():
            (project / relative).parent.mkdir(parents=True, exist_ok=True)
            (project / relative).write_text(text)
        view, url = project / view_file, project / url_file
        output_path = Path(temporary) / "output.txt"
        with open(output_path, "w") as output:
            env = dict(os.environ, PYTHONUNBUFFERED="1")
            env.pop("PYTHONDONTWRITEBYTECODE", None)
            server = subprocess.Popen(
                command(port), cwd=project, env=env, stdout=output, stderr=subprocess.STDOUT
            )
            try:
                started = time.perf_counter()
                wait_for(port, FIRST)
                startup = time.perf_counter() - started
                time.sleep(1.0)  # start-up settles (every server gets the same)
                times = {"view": [], "url": []}
                for kind, path, old in (("view", view, "view v1"), ("url", url, "route v1")):
                    original = path.read_text()
                    for number in range(rounds):
                        new = f"{kind} edit {number}"
                        path.write_text(original.replace(old, new))
                        times[kind].append(wait_for(port, FIRST.replace(old, new)) * 1000)
                        time.sleep(0.3)
                    path.write_text(original)
                    wait_for(port, FIRST)
                    time.sleep(0.3)
                original = view.read_text()
                with Client(port) as client:
                    for number in range(edits):
                        new = f"hammered edit {number}"
                        view.write_text(original.replace("view v1", new))
                        wait_for(port, FIRST.replace("view v1", new))
                        time.sleep(0.1)
            finally:
                server.send_signal(2)
                try:
                    server.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    server.kill()
                    server.wait()
        loads = output_path.read_text().count(MODEL_LOADED)
    return {
        "times": times["view"],
        "url_times": times["url"],
        "startup": startup,
        "loads": loads,
        "requests": client.requests,
        "failed": client.failed,
    }


#: each framework's own server -> hmr-ast's, for the ratio
_OURS = {"flask run --debug": "hmr-ast flask", "manage.py runserver": "hmr-ast django runserver"}


def latency_table(results: dict[str, dict[str, object]]) -> str:
    lines = [
        "| server | view edit: median | max | vs hmr-ast | URL edit: median | max | rounds "
        "| first start | model loads |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, result in results.items():
        times: list[float] = result["times"]  # type: ignore[assignment]
        ours = results.get(_OURS.get(name, name))
        base = statistics.median(ours["times"]) if ours else None  # type: ignore[arg-type]
        median = statistics.median(times)
        ratio = f"{median / base:,.0f}x" if base else ""
        url: list[float] = result["url_times"]  # type: ignore[assignment]
        lines.append(
            f"| {name} | {median:,.1f} ms | {max(times):,.1f} ms | {ratio} | "
            f"{statistics.median(url):,.1f} ms | {max(url):,.1f} ms | {len(times)} | "
            f"{result['startup']:.1f} s | {result['loads']} |"
        )
    return "\n".join(lines)


def failures_table(results: dict[str, dict[str, object]], edits: int) -> str:
    lines = [f"| server | requests during {edits} reloads | failed |", "|---|---|---|"]
    for name, result in results.items():
        lines.append(f"| {name} | {result['requests']} | {result['failed']} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--edits", type=int, default=5, help="saves under the hammering client")
    parser.add_argument("--only", nargs="*", choices=list(SERVERS), default=list(SERVERS))
    parser.add_argument("--no-write", action="store_true", help="leave BENCHMARKS.md alone")
    options = parser.parse_args()
    results = {}
    for name in options.only:
        print(
            f"measuring {name} ({options.rounds} rounds, {options.edits} edits)...", file=sys.stderr
        )
        results[name] = measure(name, options.rounds, options.edits)
    import importlib.metadata

    versions = ", ".join(
        f"{package} {importlib.metadata.version(package)}"
        for package in ("flask", "werkzeug", "django")
    )
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    text = (
        f"{SECTION}\n\n`python tools/bench_web.py --rounds {options.rounds} --edits "
        f"{options.edits}` at {commit}, Python {platform.python_version()}, {versions}, on "
        f"{platform.machine()} Linux (a 2-core machine shared with other work). Each project "
        "loads a model for 2 s at start-up: a Flask app with a blueprint (`pages.py`), a "
        "Django project with an app (`blog/views.py`, `blog/urls.py`).\n\n"
        "Edit to served (each save until `GET /` returns the new text, polled every 2 ms); "
        "a view edit changes the text the view returns, a URL edit the text its route "
        "passes it (`defaults=` of the blueprint's route; the kwargs of the `path()` in "
        "`blog/urls.py`):\n\n"
        f"{latency_table(results)}\n\n"
        "Failed requests while the view is saved and served again "
        f"{options.edits} times, one client sending `GET /` back to back on new connections "
        "(refused, cut, or not 200):\n\n"
        f"{failures_table(results, options.edits)}\n"
    )
    print(text)
    if not options.no_write:
        write_section(SECTION, text)


if __name__ == "__main__":
    main()
