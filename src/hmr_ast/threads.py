"""What the program's threads are executing right now: which module bodies, which line."""

from __future__ import annotations

import sys

from . import runtime


def running_statement(record: runtime.ModuleRecord) -> tuple[int, int] | None:
    """Lines of the top-level statement ``record``'s module body is executing now."""
    for frame in sys._current_frames().values():
        while frame is not None:
            if frame.f_code.co_name == "<module>" and frame.f_globals is record.namespace:
                line = frame.f_lineno
                for first, last in record.meta.get("statements", ()):
                    if first <= line <= last:
                        return first, last
                return None
            frame = frame.f_back
    return None


def executing_modules(thread_id: int) -> set[str]:
    """Project modules whose body is on ``thread_id``'s stack right now."""
    frame = sys._current_frames().get(thread_id)
    names = set()
    while frame is not None:
        if frame.f_code.co_name == "<module>":
            record = runtime.record_for(frame.f_globals)
            if record is not None:
                names.add(record.name)
        frame = frame.f_back
    return names
