"""Drive a real ``hmr-ast run`` process: start it, edit files on disk, wait for what it prints.

Every wait is for an expected line, with a generous timeout; nothing sleeps and hopes.
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
TIMEOUT = 20.0


def clean_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env.update(extra)
    return env


def write(path: Path, text: str) -> None:
    """Write a file the way an editor saves it (one write, then close)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def make_project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        write(root / name, text)
    return root


def copy_fixture(name: str, into: Path) -> Path:
    target = into / name
    shutil.copytree(FIXTURES / name, target)
    return target


class Stream:
    """Lines of one pipe, read on a thread, consumed in order by ``wait_for``."""

    def __init__(self, pipe) -> None:
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(pipe,), daemon=True)
        self._thread.start()

    def _pump(self, pipe) -> None:
        for line in iter(pipe.readline, ""):
            self.lines.put(line.rstrip("\n"))
        self.lines.put(None)

    def wait_for(self, pattern: str, timeout: float = TIMEOUT) -> re.Match:
        """Consume lines until one matches ``pattern`` (a regex); fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(
                    f"timed out waiting for {pattern!r}; saw:\n" + "\n".join(self.seen)
                )
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line is None:
                raise AssertionError(
                    f"stream ended waiting for {pattern!r}; saw:\n" + "\n".join(self.seen)
                )
            self.seen.append(line)
            match = regex.search(line)
            if match:
                return match

    def drain(self) -> list[str]:
        """Lines that arrived so far and were not consumed yet."""
        lines = []
        while True:
            try:
                line = self.lines.get_nowait()
            except queue.Empty:
                return lines
            if line is None:
                return lines
            self.seen.append(line)
            lines.append(line)


class HotProcess:
    """``hmr-ast run`` (or any command) in ``cwd``, with stdout/stderr as ``Stream``s."""

    def __init__(
        self, args: list[str], cwd: Path, env: dict[str, str] | None = None, stdin=None
    ) -> None:
        self.process = subprocess.Popen(
            args,
            cwd=cwd,
            env=env or clean_env(),
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            bufsize=1,
        )
        self.out = Stream(self.process.stdout)
        self.err = Stream(self.process.stderr)

    @classmethod
    def run(cls, cwd: Path, *program: str, options: tuple[str, ...] = (), **kwargs) -> HotProcess:
        return cls([sys.executable, "-m", "hmr_ast", "run", *options, *program], cwd, **kwargs)

    def send(self, line: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def interrupt(self) -> int:
        self.process.send_signal(signal.SIGINT)
        return self.process.wait(timeout=TIMEOUT)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=TIMEOUT)

    def __enter__(self) -> HotProcess:
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def fresh_run(cwd: Path, *program: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    """The oracle: what a plain ``python`` run prints for the files as they are now."""
    return subprocess.run(
        [sys.executable, *program],
        cwd=cwd,
        env=clean_env(),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


RERUNNING_MAIN = ", rerunning __main__"


def reloaded(paths: str, modules: str, tail: str = "") -> str:
    """The reload line for ``paths`` rerunning exactly ``modules`` (regexes), then ``tail``."""
    return rf"\[hmr-ast\] reloaded {paths}: reran {modules} in [\d.]+ ms{tail}$"


def everything(stream: Stream) -> list[str]:
    """Every line the stream has delivered so far, consumed or not."""
    stream.drain()
    return stream.seen
