"""What parsing costs: plain ``compile`` against hmr-ast's instrumenting transform (with and
without the static facts ``hmr-ast impact`` stores) and against libcst, on one source file.

    python tools/bench_parsers.py [FILE]      # default: the standard library's argparse.py

libcst is not a dependency of hmr-ast; its row appears when it is importable (for example
``pip install libcst`` in a throwaway virtualenv), otherwise the table says so.
"""

from __future__ import annotations

import argparse
import gc
import time
from collections.abc import Callable
from unittest import mock


def best_ms(work: Callable[[], object], runs: int = 15) -> float:
    """Best of ``runs``, the collector paused while timing (it adds noise, not cost)."""
    best = float("inf")
    for _ in range(runs):
        gc.collect()
        gc.disable()
        try:
            started = time.perf_counter()
            work()
            best = min(best, time.perf_counter() - started)
        finally:
            gc.enable()
    return best * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("file", nargs="?", default=argparse.__file__)
    options = parser.parse_args()
    with open(options.file, "rb") as file:
        source = file.read()
    from hmr_ast import transform

    rows = [("`compile`", best_ms(lambda: compile(source, options.file, "exec")))]
    rows.append(("hmr-ast transform", best_ms(lambda: transform.instrument_source(source, "x"))))
    empty = {"units": (), "returns": {}, "class_attributes": {}}
    with mock.patch.object(transform, "module_facts", lambda tree, text: dict(empty)):
        without = best_ms(lambda: transform.instrument_source(source, "x"))
    rows.append(("hmr-ast transform without the static facts", without))
    try:
        import libcst
    except ImportError:
        libcst = None
    if libcst is not None:
        rows.append(
            ("`libcst.parse_module` (parse only)", best_ms(lambda: libcst.parse_module(source)))
        )
    base = rows[0][1]
    lines = source.count(b"\n")
    print(f"{options.file}: {lines:,} lines; best of 15 runs each\n")
    print("| step | ms | vs compile |\n|---|---|---|")
    for name, ms in rows:
        print(f"| {name} | {ms:.1f} | {ms / base:.2f}x |")
    if libcst is None:
        print("\n(libcst is not importable here: no libcst row)")
    share = (rows[1][1] - without) / rows[1][1]
    print(f"\nThe static facts are {share:.0%} of the transform's time on this file.")


if __name__ == "__main__":
    main()
