"""Smoke tests of the benchmark's generated programs and report plumbing (tools/bench*.py).

They run the generated programs under plain python only: the benchmark's numbers are only
as good as the programs printing what the benchmark expects.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))

import bench  # noqa: E402
import bench_core  # noqa: E402
import bench_programs  # noqa: E402


def _run(root: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "app.py"], cwd=root, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def test_project_program_prints_ready_then_its_value(tmp_path: Path) -> None:
    bench_programs.project_program(tmp_path, 30)
    assert _run(tmp_path) == ["ready", bench_programs.expected_value_line(0)]


def test_latency_program_prints_the_value_of_its_leaf(tmp_path: Path) -> None:
    bench_programs.latency_program(tmp_path, "once", slow_seconds=0)
    (tmp_path / "leaf.py").write_text(bench_programs.leaf_source(7))
    assert _run(tmp_path) == [bench_programs.SLOW_BANNER, bench_programs.expected_value_line(7)]


def test_big_leaf_has_the_lines_asked_for() -> None:
    for lines in (100, 1000):
        text = bench_programs.big_leaf_source(3, lines)
        assert text.count("\n") == lines
        assert "VALUE = 3\n" in text


def test_kernel_program_reports_a_time_and_a_result_per_kernel(tmp_path: Path) -> None:
    bench_programs.kernel_program(tmp_path, iterations=50, repeats=2, budget=0.1)
    (line,) = _run(tmp_path)
    report = json.loads(line.removeprefix("BENCH-JSON "))
    assert set(report["times"]) == set(report["checks"])
    assert len(report["times"]) == 2 * len(bench_programs.KERNELS)


def test_rotated_order_puts_every_tool_first_and_last() -> None:
    orders = [bench_core.rotated(("a", "b", "c"), run) for run in range(4)]
    assert {order[0] for order in orders} == {"a", "b", "c"}
    assert all(sorted(order) == ["a", "b", "c"] for order in orders)


def test_writing_benchmarks_keeps_other_sections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "BENCHMARKS.md"
    target.write_text("## Web server\n\ntheirs\n")
    monkeypatch.setattr(bench, "BENCHMARKS", target)
    bench.write_benchmarks("# ours, first\n")
    bench.write_benchmarks("# ours, second\n")
    text = target.read_text()
    assert "first" not in text
    assert text.index("ours, second") < text.index("## Web server\n\ntheirs\n")
