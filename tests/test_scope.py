"""Which files hmr-ast instruments and watches: the project's, as configured."""

from __future__ import annotations

import pytest

from harness import HotProcess, make_project, write


def test_pyproject_exclude_keeps_a_module_out_of_reloads(tmp_path):
    make_project(
        tmp_path,
        {
            "pyproject.toml": '[tool.hmr-ast]\nexclude = ["vendored/*"]\n',
            "vendored/__init__.py": "",
            "vendored/lib.py": "VALUE = 'v1'\n",
            "mine.py": "VALUE = 'm1'\n",
            "app.py": (
                "import sys, mine, vendored.lib as lib\n"
                "from hmr_ast import runtime\n"
                "print('instrumented:', sorted(n for n in runtime.records if n != '__main__'))\n"
                "print('values', mine.VALUE, lib.VALUE)\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"instrumented: \['mine'\]")
        hot.out.wait_for("values m1 v1")
        write(tmp_path / "vendored" / "lib.py", "VALUE = 'v2'\n")
        write(tmp_path / "mine.py", "VALUE = 'm2'\n")
        hot.err.wait_for(r"reloaded mine.py: reran mine")
        hot.out.wait_for("values m2 ")


@pytest.mark.core
def test_include_brings_in_a_sibling_folder(tmp_path):
    make_project(
        tmp_path,
        {
            "shared/common.py": "VALUE = 'c1'\n",
            "app/main.py": (
                "import sys; sys.path.insert(0, sys.path[0] + '/../shared')\n"
                "import common\n"
                "print('value', common.VALUE)\n"
            ),
        },
    )
    options = ("--include", str(tmp_path / "shared" / "*.py"))
    with HotProcess.run(tmp_path / "app", "main.py", options=options) as hot:
        hot.out.wait_for("value c1")
        write(tmp_path / "shared" / "common.py", "VALUE = 'c2'\n")
        hot.err.wait_for(r"reloaded .*common.py: reran common")
        hot.out.wait_for("value c2")


def test_a_virtualenv_inside_the_project_is_never_instrumented(tmp_path):
    make_project(
        tmp_path,
        {
            "env/pyvenv.cfg": "home = /usr/bin\n",
            "env/lib/thirdparty.py": "VALUE = 1\n",
            "app.py": (
                "import sys; sys.path.insert(0, 'env/lib')\n"
                "import thirdparty\n"
                "from hmr_ast import runtime\n"
                "print('instrumented:', sorted(runtime.records))\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"instrumented: \['__main__'\]")
