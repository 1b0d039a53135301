"""Files a module reads while it executes are dependencies, like the modules it imports."""

from __future__ import annotations

import json

import pytest

from harness import RERUNNING_MAIN, HotProcess, everything, make_project, reloaded, write

pytestmark = pytest.mark.core

SETTINGS = (
    "import json, os\n"
    "print('loading settings')\n"
    "with open(os.path.join(os.path.dirname(__file__), 'config.json')) as file:\n"
    "    CONFIG = json.load(file)\n"
)


def test_editing_a_json_file_reruns_the_module_that_read_it_and_its_dependents(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import banner\nprint('banner', banner.TEXT)\n",
            "banner.py": "import settings\nTEXT = settings.CONFIG['title'].upper()\n",
            "settings.py": SETTINGS,
            "config.json": json.dumps({"title": "hello"}),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^banner HELLO$")
        write(tmp_path / "config.json", json.dumps({"title": "edited"}))
        hot.err.wait_for(r"settings: reads .*config\.json, which changed$")
        hot.err.wait_for(reloaded("config.json", "settings, banner", RERUNNING_MAIN))
        hot.out.wait_for("^loading settings$")
        hot.out.wait_for("^banner EDITED$")


def test_template_read_by_a_helper_at_import_time_belongs_to_the_importing_module(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import page\nprint('page', page.HTML)\n",
            "page.py": (
                "import templates_loader\nHTML = templates_loader.render('page.html', name='Ada')\n"
            ),
            "templates_loader.py": (
                "from pathlib import Path\n"
                "print('loading templates_loader')\n"
                "FOLDER = Path(__file__).parent / 'templates'\n"
                "def render(template, **values):\n"
                "    return (FOLDER / template).read_text().strip().format(**values)\n"
            ),
            "templates/page.html": "<p>Hello {name}</p>\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^page <p>Hello Ada</p>$")
        # The template sits in a folder with no module: it is watched all the same.
        write(tmp_path / "templates/page.html", "<h1>Bye {name}</h1>\n")
        hot.err.wait_for(reloaded("templates/page.html", "page", RERUNNING_MAIN))
        hot.out.wait_for("^page <h1>Bye Ada</h1>$")
        assert everything(hot.out).count("loading templates_loader") == 1


def test_a_file_the_module_writes_is_not_a_dependency(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import exporter, settings\nprint('exported', settings.CONFIG['title'])\n",
            "exporter.py": (
                "import os\n"
                "print('loading exporter')\n"
                "HERE = os.path.dirname(__file__)\n"
                "with open(os.path.join(HERE, 'out.txt'), 'w') as file:\n"
                "    file.write('generated')\n"
                "with open(os.path.join(HERE, 'log.txt'), 'a') as file:\n"
                "    file.write('appended')\n"
            ),
            "settings.py": SETTINGS,
            "config.json": json.dumps({"title": "one"}),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^exported one$")
        write(tmp_path / "out.txt", "edited by hand")
        write(tmp_path / "log.txt", "edited by hand")
        # A later change that must reload; the written files must not have counted before it.
        write(tmp_path / "config.json", json.dumps({"title": "two"}))
        hot.err.wait_for(reloaded("config.json", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^exported two$")
        assert not [line for line in everything(hot.err) if "out.txt" in line or "log.txt" in line]
        assert everything(hot.out).count("loading exporter") == 1


def test_data_file_edited_twice_reruns_twice(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import settings\nprint('title', settings.CONFIG['title'])\n",
            "settings.py": SETTINGS,
            "config.json": json.dumps({"title": "one"}),
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^title one$")
        write(tmp_path / "config.json", json.dumps({"title": "two"}))
        hot.err.wait_for(reloaded("config.json", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^title two$")
        write(tmp_path / "config.json", json.dumps({"title": "three"}))
        hot.err.wait_for(reloaded("config.json", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^title three$")


def test_data_file_read_by_the_entry_reruns_the_entry(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "from pathlib import Path\nprint('motd', Path('motd.txt').read_text().strip())\n"
            ),
            "motd.txt": "good morning\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^motd good morning$")
        write(tmp_path / "motd.txt", "good night\n")
        hot.err.wait_for(r"\[hmr-ast\] reloaded motd.txt: rerunning __main__$")
        hot.out.wait_for("^motd good night$")
