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


SELF_WRITING_APP = """\
import json, os, pathlib, shutil, sqlite3, threading

import state

with open("config.json") as file:
    CONFIG = json.load(file)
print("config", CONFIG["name"], "state", state.STATE["n"], flush=True)

log = open("log.txt", "a")  # held open for writing, as a logging handler holds its file
db = sqlite3.connect("data.sqlite")
db.execute("create table if not exists ticks (n)")
watcher = next(t for t in threading.enumerate() if t.name == "hmr-ast-watcher")
assert watcher.ready.wait(10)  # so that the watcher sees every write below
for tick in range(1, 4):
    pathlib.Path("state.json").write_text(json.dumps({"n": tick}))  # read by state.py
    cache = pathlib.Path("cache.json")
    cache.write_text(json.dumps(tick))
    assert json.loads(cache.read_text()) == tick
    log.write(f"tick {tick}\\n")
    log.flush()
    db.execute("insert into ticks values (?)", (tick,))
    db.commit()
    os.makedirs("uploads/new", exist_ok=True)
    pathlib.Path("uploads/new/file.txt").write_text("upload")
    shutil.rmtree("uploads")
    print("tick", tick, flush=True)
print("done", flush=True)
"""


def test_what_the_program_writes_itself_never_reloads_it(tmp_path):
    """Files it writes, keeps open, creates and removes, read at import or in its loop, are
    its own doing; an edit to a file its start-up read still reruns it."""
    make_project(
        tmp_path,
        {
            "app.py": SELF_WRITING_APP,
            "state.py": "import json\nwith open('state.json') as f:\n    STATE = json.load(f)\n",
            "state.json": json.dumps({"n": 0}),
            "config.json": json.dumps({"name": "one"}),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^done$")
        hot.err.wait_for(r"state\.json changed: the program opened for writing it .*; not an edit$")
        # A real edit: reported alone, so no write of the program's was taken for one before.
        write(tmp_path / "config.json", json.dumps({"name": "two"}))
        hot.err.wait_for(r"\[hmr-ast\] reloaded config\.json: rerunning __main__$")
        # state.py is not rerun: what it read changed only by the program's own writes (a
        # restart would read them; a reload keeps the module as the program left it).
        hot.out.wait_for("^config two state 0$")
        reloads = [line for line in everything(hot.err) if line.startswith("[hmr-ast] reloaded")]
        assert reloads == ["[hmr-ast] reloaded config.json: rerunning __main__"]


def test_a_file_the_running_loop_reads_is_read_again_not_rerun(tmp_path):
    """A server's or worker's loop reads its file each time round: an edit to it does not
    restart the loop; a file read before the loop began still does."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys\nfrom pathlib import Path\n"
                "GREETING = Path('greeting.txt').read_text().strip()\n"
                "print('started', GREETING, flush=True)\n"
                "for line in sys.stdin:\n"
                "    print(GREETING, Path('motd.txt').read_text().strip(), flush=True)\n"
            ),
            "greeting.txt": "hello\n",
            "motd.txt": "morning\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",), stdin=True) as hot:
        hot.out.wait_for("^started hello$")
        hot.send("go")
        hot.out.wait_for("^hello morning$")
        write(tmp_path / "motd.txt", "night\n")
        hot.err.wait_for(
            r"__main__: motd\.txt changed, but only its running statement \(lines 5-6\)"
        )
        hot.send("go")
        hot.out.wait_for("^hello night$")
        write(tmp_path / "greeting.txt", "bye\n")
        hot.err.wait_for(r"\[hmr-ast\] reloaded greeting\.txt: restarting __main__$")
        hot.out.wait_for("^started bye$")
        assert everything(hot.out).count("started hello") == 1


SCRATCH_TESTS = """\
import pathlib, shutil

import helper


def test_writes_a_log_and_reads_it_back():
    pathlib.Path("log.txt").write_text("line")
    assert pathlib.Path("log.txt").read_text() == "line"
    pathlib.Path("log.txt").unlink()


def test_makes_static_and_templates_folders():
    for folder in ("static", "templates"):
        pathlib.Path(folder).mkdir()
        (pathlib.Path(folder) / "index.html").write_text("<p>hi</p>")
        assert (pathlib.Path(folder) / "index.html").read_text() == "<p>hi</p>"
        shutil.rmtree(folder)
    assert helper.VALUE == 1
"""


def test_a_test_run_that_writes_scratch_files_is_not_restarted(tmp_path):
    """``hmr-ast run -m pytest``: files the tests create, read and delete in the working
    directory reload nothing, during the run or after it; editing a module they use does."""
    make_project(tmp_path, {"test_scratch.py": SCRATCH_TESTS, "helper.py": "VALUE = 1\n"})
    options = ("-m", "pytest", "-q", "-p", "no:cacheprovider")
    with HotProcess.run(tmp_path, *options) as hot:
        hot.out.wait_for(r"^2 passed")
        write(tmp_path / "helper.py", "VALUE = 2\n")
        hot.err.wait_for(reloaded(r"helper\.py", "helper"))
        reloads = [line for line in everything(hot.err) if line.startswith("[hmr-ast] reloaded")]
        assert len(reloads) == 1, reloads


def test_making_an_existing_folder_again_does_not_hide_the_next_edit(tmp_path):
    """``os.makedirs(folder, exist_ok=True)`` on the project's folder creates nothing (pytest's
    cache plugin does it to the rootdir): an edit right after it reloads."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import os, sys\nimport helper\n"
                "for line in sys.stdin:\n"
                "    os.makedirs(os.path.dirname(os.path.abspath(__file__)), exist_ok=True)\n"
                "    print('value', helper.VALUE, flush=True)\n"
            ),
            "helper.py": "VALUE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.send("?")
        hot.out.wait_for("^value 1$")
        write(tmp_path / "helper.py", "VALUE = 22\n")
        hot.err.wait_for(reloaded(r"helper\.py", "helper"))
        hot.send("?")
        hot.out.wait_for("^value 22$")


def test_a_file_the_program_rewrote_long_before_a_new_watch_is_not_an_edit(tmp_path):
    """A file it read and then wrote itself, changed since it was read, is still its own
    change when a new folder restarts the watch seconds later (the sweep finds it)."""
    make_project(
        tmp_path,
        {
            "app.py": (
                "import pathlib, time\n"
                "state = pathlib.Path('state.txt')\n"
                "count = int(state.read_text())\n"
                "state.write_text(str(count + 1))\n"
                "time.sleep(2.5)  # past the window in which its own writes are ignored\n"
                "import plugins.extra  # a new folder: the watch restarts and sweeps\n"
                "print('done', count, plugins.extra.X, flush=True)\n"
            ),
            "state.txt": "0",
            "plugins/__init__.py": "",
            "plugins/extra.py": "X = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^done 0 1$")
        write(tmp_path / "plugins/extra.py", "X = 22\n")
        hot.err.wait_for(r"\[hmr-ast\] reloaded plugins/extra\.py: ")
        hot.out.wait_for("^done 1 22$")
        reloads = [line for line in everything(hot.err) if line.startswith("[hmr-ast] reloaded")]
        assert len(reloads) == 1, reloads
