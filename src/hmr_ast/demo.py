"""``hmr-ast demo``: show a newcomer a hot reload without them editing anything.

Copies the bundled sample program to a temporary folder, runs it under ``hmr-ast run``,
edits its greeting file, shows what reran and how long the edit took to show up, and exits.
"""

from __future__ import annotations

import os
import queue
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

_TIMEOUT = 30.0


def sample_program() -> Path:
    """The bundled sample: in the wheel as ``hmr_ast/_demo``, in a checkout ``fixtures/demo``."""
    import hmr_ast

    here = Path(hmr_ast.__file__).resolve().parent
    candidates = [here / "_demo", here.parent.parent / "fixtures" / "demo"]
    candidates += [Path(entry) / "hmr_ast" / "_demo" for entry in sys.path if entry]
    for candidate in candidates:
        if (candidate / "app.py").is_file():
            return candidate
    raise FileNotFoundError("the demo program is missing from this installation")


def _pump(stream, name: str, lines: queue.Queue) -> None:
    for line in iter(stream.readline, ""):
        lines.put((name, line.rstrip("\n"), time.perf_counter()))
    lines.put((name, None, time.perf_counter()))


def _wait_for(lines: queue.Queue, text: str, deadline: float, seen: list[str]) -> float:
    """Echo the child's lines until a stdout line contains ``text``; return when it came."""
    while True:
        try:
            name, line, when = lines.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise TimeoutError(f"the demo did not print {text!r} in time") from None
        if line is None:
            raise RuntimeError("the demo program stopped unexpectedly")
        prefix = "  | " if name == "out" else "  "
        print(f"{prefix}{line}", flush=True)
        seen.append(line)
        if name == "out" and text in line:
            return when


def run_demo(argv: list[str]) -> int:
    with tempfile.TemporaryDirectory(prefix="hmr-ast-demo-") as folder:
        project = Path(folder) / "demo"
        shutil.copytree(sample_program(), project, ignore=shutil.ignore_patterns("__pycache__"))
        print(f"hmr-ast demo: running {project / 'app.py'} under hmr-ast", flush=True)
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        child = subprocess.Popen(
            [sys.executable, "-m", "hmr_ast", "run", "app.py"],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        lines: queue.Queue = queue.Queue()
        for stream, name in ((child.stdout, "out"), (child.stderr, "err")):
            threading.Thread(target=_pump, args=(stream, name, lines), daemon=True).start()
        try:
            deadline = time.monotonic() + _TIMEOUT
            started = time.perf_counter()
            _wait_for(lines, "Hello from hmr-ast", deadline, [])
            startup = time.perf_counter() - started
            new_message = f"Hello again, edited at {time.strftime('%H:%M:%S')}"
            print(f"hmr-ast demo: editing greeting.py -> MESSAGE = {new_message!r}", flush=True)
            written = time.perf_counter()
            (project / "greeting.py").write_text(f'MESSAGE = "{new_message}"\n')
            after_edit: list[str] = []
            shown = _wait_for(lines, new_message, time.monotonic() + _TIMEOUT, after_edit)
        except (TimeoutError, RuntimeError) as error:
            print(f"hmr-ast demo failed: {error}", file=sys.stderr)
            return 1
        finally:
            child.kill()
            child.wait()
        reloaded_model = any("loading the model" in line for line in after_edit)
        print(
            f"hmr-ast demo: the edit showed up {(shown - written) * 1000:.0f} ms after the save; "
            + (
                "model.py was loaded again (unexpected)."
                if reloaded_model
                else f"model.py was not re-executed (a restart pays its {startup:.1f} s again)."
            ),
            flush=True,
        )
        return 1 if reloaded_model else 0
