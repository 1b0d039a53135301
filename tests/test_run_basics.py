"""The promise of the README: edit a leaf, and exactly what depends on it reruns."""

from __future__ import annotations

import pytest

from harness import HotProcess, make_project, write

pytestmark = pytest.mark.core


def test_editing_leaf_reruns_dependents_but_not_slow_module(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import greeting, model\nprint('says', greeting.MESSAGE, model.SIZE)\n",
            "model.py": "print('loading model')\nSIZE = 7\n",
            "greeting.py": "MESSAGE = 'hello'\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("loading model")
        hot.out.wait_for("says hello 7")
        write(tmp_path / "greeting.py", "MESSAGE = 'edited'\n")
        hot.err.wait_for(r"reloaded greeting.py: reran greeting in [\d.]+ ms, rerunning __main__")
        hot.out.wait_for("says edited 7")
        assert "loading model" not in hot.out.drain()
