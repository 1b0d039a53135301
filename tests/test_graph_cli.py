"""``hmr-ast graph`` and ``hmr-ast impact``: the graph as DOT, JSON and Mermaid, from the source
alone or from one real run; what an edit reruns, in order, with reasons, without running."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import TIMEOUT, HotProcess, clean_env, make_project, write

CHAIN = {
    "app.py": "import a\nimport helpers\n\nprint(a.TOTAL, helpers.describe())\n",
    "a.py": "from b import BASE\nimport c\n\nTOTAL = BASE + c.EXTRA\nUNUSED = 5\n",
    "b.py": "BASE = 1\nOTHER = 2\n",
    "c.py": "EXTRA = 10\n",
    "helpers.py": "import b\n\n\ndef describe():\n    return f'other={b.OTHER}'\n",
}


def hmr_ast(root: Path, *args: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "hmr_ast", *args],
        cwd=root,
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return result


def graph_json(root: Path, *args: str) -> dict:
    return json.loads(hmr_ast(root, "graph", "app.py", "--json", *args).stdout)


def edges(document: dict) -> dict[tuple[str, str], list[str]]:
    return {(e["from"], e["to"]): e["names"] for e in document["edges"]}


def impact(root: Path, *files: str) -> dict:
    return json.loads(hmr_ast(root, "impact", "app.py", *files, "--json").stdout)


def test_graph_json_lists_modules_with_files_and_edges_labelled_with_the_names_read(tmp_path):
    make_project(tmp_path, CHAIN)
    document = graph_json(tmp_path)
    assert document["entry"] == "__main__"
    assert {m["name"]: m["file"] for m in document["modules"]} == {
        "__main__": "app.py",
        "a": "a.py",
        "b": "b.py",
        "c": "c.py",
        "helpers": "helpers.py",
    }
    assert edges(document) == {
        ("__main__", "a"): ["TOTAL"],
        ("__main__", "helpers"): ["describe"],
        ("a", "b"): ["BASE"],
        ("a", "c"): ["EXTRA"],
        ("helpers", "b"): [],  # read only inside a function: a name-level edge (--names)
    }


def test_graph_names_shows_what_a_function_reads_when_called(tmp_path):
    make_project(tmp_path, CHAIN)
    document = graph_json(tmp_path, "--names")
    assert {"from": "helpers:describe", "to": "b:OTHER"} in document["names"]


def test_graph_names_lists_each_statement_with_the_names_it_reads_and_binds(tmp_path):
    make_project(tmp_path, CHAIN)
    document = graph_json(tmp_path, "--names")
    statements = {(s["module"], s["line"]): s for s in document["statements"]}
    assert statements[("a", 4)] == {
        "module": "a",
        "line": 4,
        "text": "TOTAL = BASE + c.EXTRA",
        "binds": ["TOTAL"],
        "reads": ["a:BASE", "a:c", "c:EXTRA"],
        "calls": False,
        "whole": None,
    }
    assert statements[("a", 1)]["reads"] == ["b:BASE"]  # a from-import reads what it imports
    assert statements[("__main__", 4)]["whole"] == "the entry runs whole, as python runs it"
    assert "statements" not in graph_json(tmp_path)  # only with --names


def test_graph_statements_lead_to_what_impact_says_each_statement_reruns_for(tmp_path):
    """Following a statement's reads, then the name edges, reaches a changed name exactly
    when ``impact`` says the statement reruns because it reads one (same rules)."""
    make_project(tmp_path, CHAIN)
    document = graph_json(tmp_path, "--names")
    name_edges: dict[str, set[str]] = {}
    for edge in document["names"]:
        name_edges.setdefault(edge["from"], set()).add(edge["to"])

    def reach(reads: list[str]) -> set[str]:
        found, stack = set(reads), list(reads)
        while stack:
            for target in name_edges.get(stack.pop(), ()):
                if target not in found:
                    found.add(target)
                    stack.append(target)
        return found

    predicted = impact(tmp_path, "b.py")["statements"]["a"]
    changed = {"b:BASE", "b:OTHER"}  # no earlier run: every name of b may change
    bound: set[str] = set()
    checked = 0
    for statement in (s for s in document["statements"] if s["module"] == "a"):
        said = next(p for p in predicted if p["line"] == statement["line"])
        reads_changed = bool(reach(statement["reads"]) & (changed | bound))
        assert said["runs"] == reads_changed, (statement, said)
        if reads_changed:
            bound |= {f"a:{name}" for name in statement["binds"]}
            checked += 1
    assert checked == 2  # from b import BASE; TOTAL = BASE + c.EXTRA


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz is not installed")
def test_graph_dot_renders_with_graphviz_marking_the_entry_and_cycles(tmp_path):
    make_project(
        tmp_path,
        {
            **CHAIN,
            "c.py": "import d\n\nEXTRA = 10\n",
            "d.py": "import c\n\n\ndef back():\n    return c.EXTRA\n",
        },
    )
    dot = hmr_ast(tmp_path, "graph", "app.py", "--dot", "--names").stdout
    assert '"__main__" [label="__main__\\napp.py", peripheries=2, style=bold];' in dot
    assert '"a" -> "b" [label="BASE"];' in dot
    assert '"c" -> "d" [color=red];' in dot and '"d" -> "c" [color=red];' in dot  # a cycle
    rendered = subprocess.run(
        ["dot", "-Tsvg"], input=dot, capture_output=True, text=True, timeout=60
    )
    assert rendered.returncode == 0, rendered.stderr
    assert "<svg" in rendered.stdout


def test_graph_mermaid_is_a_flowchart_with_the_entry_marked(tmp_path):
    make_project(tmp_path, CHAIN)
    mermaid = hmr_ast(tmp_path, "graph", "app.py", "--mermaid", "-o", "graph.mmd")
    assert mermaid.stdout == ""
    text = (tmp_path / "graph.mmd").read_text()
    lines = text.splitlines()
    assert lines[0] == "flowchart LR"
    ids = {line.split("[")[0].strip(): line for line in lines if '["' in line}
    entry = next(key for key, line in ids.items() if '"__main__<br/>app.py"' in line)
    assert f"  class {entry} entry" in lines
    assert any("-->|BASE|" in line for line in lines)


def test_runtime_graph_records_what_really_ran_and_agrees_with_the_static_one(tmp_path):
    make_project(tmp_path, CHAIN)
    static = graph_json(tmp_path)
    result = hmr_ast(tmp_path, "graph", "app.py", "--json", "--runtime", "-o", "runtime.json")
    assert result.stdout == "11 other=2\n"  # the program really ran, once, and ended
    runtime = json.loads((tmp_path / "runtime.json").read_text())
    assert runtime["modules"] == static["modules"]
    for edge, names in edges(runtime).items():
        assert set(names) <= set(edges(static)[edge]), edge


def test_impact_gives_the_rerun_order_deepest_first_with_reasons(tmp_path):
    make_project(tmp_path, CHAIN)
    document = impact(tmp_path, "c.py")
    del document["statements"]  # the statement-level test below reads them
    assert document == {
        "order": ["c", "a", "__main__"],
        "reasons": {
            "c": ["edited"],
            "a": ["reads c:EXTRA"],
            "__main__": ["reads a:TOTAL"],
        },
        "notes": [],
    }
    # helpers reads b.OTHER only when describe() is called; the entry calls it
    text = hmr_ast(tmp_path, "impact", "app.py", "b.py").stdout
    assert text.splitlines() == [
        "an edit to b.py reruns, in this order:",
        "  b         edited",
        "      b.py: every statement (edited; no earlier run to compare with)",
        "  a         reads b:BASE",
        "      a.py:1 from b import BASE: reads b:BASE, which may change",
        "      a.py:4 TOTAL = BASE + c.EXTRA: reads a:BASE, which may change",
        "  __main__  reads a:TOTAL; reads helpers:describe, which reads b:OTHER",
        "      app.py: every statement (the entry runs whole, as python runs it)",
    ]


SERVICE = {
    "app.py": "import service\n",
    "service.py": (
        "def load():\n    return {'name': 'model'}\n\n\n"
        "MODEL = load()\nprint('ready')\n\n\n"
        "def answer():\n    return 1\n\n\n"
        "ANSWER = answer()\n"
    ),
}


def test_impact_names_each_statement_that_reruns_and_the_calls_that_do_not(tmp_path):
    """After a run, an edit to one function: its def and what calls it rerun; the model
    load beside it does not, and impact says so with file and line, as the engine does."""
    make_project(tmp_path, SERVICE)
    hmr_ast(tmp_path, "graph", "app.py", "--runtime", "-o", "runtime.json")  # one real run
    write(tmp_path / "service.py", SERVICE["service.py"].replace("return 1", "return 2"))
    text = hmr_ast(tmp_path, "impact", "app.py", "service.py").stdout
    assert text.splitlines() == [
        "an edit to service.py reruns, in this order:",
        "  service  edited",
        "      service.py:5 MODEL = load(): not rerun, reads nothing that changed",
        "      service.py:6 print('ready'): not rerun, reads nothing that changed",
        "      service.py:9 def answer():: edited",
        "      service.py:13 ANSWER = answer(): reads service:answer, which may change",
    ]
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "service.py", SERVICE["service.py"].replace("return 1", "return 3"))
        hot.err.wait_for(r"service: ran 2 of 5 statements \(lines 9, 13\)$")


def test_impact_narrows_to_the_names_the_edit_changed_since_the_last_run(tmp_path):
    make_project(tmp_path, CHAIN)
    hmr_ast(tmp_path, "graph", "app.py", "--runtime", "-o", "runtime.json")  # one real run
    write(tmp_path / "b.py", "BASE = 1\nOTHER = 3\n")
    assert impact(tmp_path, "b.py")["order"] == ["b", "__main__"]  # a reads only b.BASE
    write(tmp_path / "b.py", "BASE = 1\nOTHER = 2\nNEW = 0\n")
    assert impact(tmp_path, "b.py")["order"] == ["b"]  # nobody reads NEW, or * of b


def test_impact_assumes_every_name_changed_when_the_last_run_is_unknown(tmp_path):
    make_project(tmp_path, CHAIN)
    write(tmp_path / "b.py", "BASE = 1\nOTHER = 3\n")  # no run yet: no cached version
    assert impact(tmp_path, "b.py")["order"] == ["b", "a", "__main__"]


def test_impact_notes_what_it_cannot_see(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import importlib, plugins\n\n"
            "for name in plugins.NAMES:\n    importlib.import_module(name)\n",
            "plugins.py": "import sys\n\nNAMES = ['x']\nHOOK = getattr(sys, NAMES[0], None)\n",
            "lonely.py": "X = 1\n",
            "settings.json": "{}\n",
        },
    )
    result = impact(tmp_path, "plugins.py", "lonely.py", "settings.json")
    assert result["order"] == ["plugins", "__main__"]
    notes = result["notes"]
    assert "lonely.py: not imported by the program; editing it reruns nothing" in notes
    assert any(note.startswith("settings.json: not a module") for note in notes)
    assert any(note.startswith("app.py:4: import_module() loads modules") for note in notes)
    assert any(note.startswith("plugins.py:4: getattr() with a computed name") for note in notes)


def test_impact_and_graph_take_a_module_entry_with_m(tmp_path):
    make_project(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/main.py": "from . import config\n\nprint(config.PORT)\n",
            "pkg/config.py": "PORT = 80\n",
        },
    )
    result = hmr_ast(tmp_path, "impact", "-m", "pkg.main", "pkg/config.py", "--json")
    assert json.loads(result.stdout)["order"] == ["pkg.config", "__main__"]
    document = json.loads(hmr_ast(tmp_path, "graph", "-m", "pkg.main", "--json").stdout)
    assert ("__main__", "pkg.config") in edges(document)


def test_run_graph_out_keeps_the_file_up_to_date_after_each_reload(tmp_path):
    make_project(tmp_path, CHAIN)
    out = tmp_path / "graph.json"
    with HotProcess.run(tmp_path, "app.py", options=("--graph-out", str(out))) as hot:
        hot.out.wait_for("^11 other=2$")
        document = wait_for_json(out, lambda d: len(d["modules"]) == 5)
        assert edges(document)[("a", "b")] == ["BASE"]
        write(tmp_path / "c.py", "import b\n\nEXTRA = b.OTHER\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded c\.py: reran c, a")
        document = wait_for_json(out, lambda d: ("c", "b") in edges(d))
        assert edges(document)[("c", "b")] == ["OTHER"]


def wait_for_json(path: Path, ready) -> dict:
    """The file's content once ``ready`` says it shows what the test waits for."""
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            document = json.loads(path.read_text())
        except (OSError, ValueError):
            document = None
        if document is not None and ready(document):
            return document
        time.sleep(0.02)
    raise AssertionError(f"{path} never showed it: {path.read_text() if path.exists() else '-'}")
