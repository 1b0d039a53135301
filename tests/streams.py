"""What a finished (or finishing) process printed, for tests that prove something did not happen.

``harness.Stream.wait_for`` consumes lines up to an expected one. Once the process has exited,
everything it ever wrote is in the pipe: ``read_to_end`` takes the rest, so a test can say
"no such line, ever".
"""

from __future__ import annotations

import queue
import time

from harness import TIMEOUT, HotProcess, Stream


def read_to_end(stream: Stream, timeout: float = TIMEOUT) -> list[str]:
    """Consume every line left in ``stream`` until its pipe closes; return them."""
    deadline = time.monotonic() + timeout
    lines: list[str] = []
    while True:
        try:
            line = stream.lines.get(timeout=0.05)
        except queue.Empty:
            if not stream._thread.is_alive() and stream.lines.empty():
                return lines  # the end marker was already taken by an earlier drain()
            if time.monotonic() > deadline:
                raise AssertionError(
                    "the stream did not end; saw:\n" + "\n".join(stream.seen)
                ) from None
            continue
        if line is None:
            return lines
        stream.seen.append(line)
        lines.append(line)


def finish(hot: HotProcess) -> int:
    """Ctrl-C the process, wait for it to exit and read both pipes to the end."""
    code = hot.interrupt()
    read_to_end(hot.out)
    read_to_end(hot.err)
    return code


def hmr_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("[hmr-ast]")]
