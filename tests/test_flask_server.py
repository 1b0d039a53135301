"""``hmr-ast flask --app webapp run``: Flask's own CLI, one werkzeug server, edits served hot.

Each test runs the real command on 127.0.0.1 against a small Flask project with a blueprint,
and edits its files on disk as a developer would. Cost: ~5.5 s in all (seven servers, one
plain command, one hmr-ast run).
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from harness import TIMEOUT, HotProcess, clean_env, make_project, write
from streams import read_to_end
from web_harness import Hammer, _answers, free_port, get, open_stream, wait_until

pytest.importorskip("flask")

WEBAPP = """\
from flask import Flask, jsonify

from pages import pages

app = Flask(__name__)
app.register_blueprint(pages)


@app.route("/health")
def health():
    return jsonify(message="ok")
"""

PAGES = """\
from flask import Blueprint, jsonify

pages = Blueprint("pages", __name__)


@pages.route("/")
def index():
    return jsonify(message="hello from v1")
"""


def flask_project(into: Path) -> Path:
    return make_project(into / "site", {"webapp.py": WEBAPP, "pages.py": PAGES})


def serve(project: Path, *options: str) -> tuple[HotProcess, int]:
    """``hmr-ast flask --app webapp run --port P OPTIONS`` in ``project``, once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "hmr_ast", "flask", "--app", "webapp", "run"]
    hot = HotProcess([*command, "--port", str(port), *options], project, env=clean_env())
    wait_until(lambda: _answers(port) or hot.process.poll() is not None, "the server to answer")
    assert hot.process.poll() is None, "the server exited:\n" + "\n".join(hot.err.drain())
    return hot, port


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    write(path, text.replace(old, new))


def served(hot: HotProcess, condition, what: str) -> object:
    """``wait_until``, with what the server printed when it times out."""
    try:
        return wait_until(condition, what)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; the server said:\n" + "\n".join(hot.err.drain()))


def says(port: int, path: str = "/") -> str:
    status, body = get(port, path)
    return json.loads(body)["message"] if status == 200 else f"{status}: {body[:300]}"


def stop(hot: HotProcess) -> int:
    hot.process.send_signal(signal.SIGINT)
    code = hot.process.wait(timeout=TIMEOUT)
    read_to_end(hot.out)
    read_to_end(hot.err)
    return code


def test_view_edits_in_a_blueprint_are_served_with_no_failed_request(tmp_path):
    project = flask_project(tmp_path)
    hot, port = serve(project, "--debug", "-v")
    with hot:
        with Hammer(port) as hammer:
            wait_until(lambda: hammer.latest == "hello from v1", "the first answer")
            for version in range(2, 7):
                edit(project / "pages.py", f"v{version - 1}", f"v{version}")
                wait_until(lambda v=version: hammer.latest == f"hello from v{v}", f"v{version}")
            served = hammer.requests
        assert stop(hot) in (0, 130)
    assert hammer.failures == [], hammer.failures[:5]
    assert served > 20, served
    log = "\n".join(hot.err.seen)
    # -v explains each swap; werkzeug's reloader never ran
    assert log.count("same app object, kept; patched in place: pages.index") == 5, log
    assert "werkzeug's reloader is off" in log, log
    assert "Restarting with" not in log, log
    assert "Debugger is active" in log, log


def test_routes_hooks_and_filters_added_after_the_first_request_are_served(tmp_path):
    """Flask refuses ``app.route`` once the app has served; hmr-ast lets an edit add views,
    ``before_request`` hooks, error handlers and template filters as a fresh run would."""
    project = flask_project(tmp_path)
    webapp = project / "webapp.py"
    hot, port = serve(project, "-v")
    with hot:
        assert says(port, "/health") == "ok"
        added = (
            WEBAPP
            + """

@app.before_request
def stamp():
    g.stamp = "s1"


@app.template_filter("shout")
def shout(text):
    return text.upper() + "!"


@app.errorhandler(404)
def missing(error):
    return jsonify(message="no such page v1"), 404


@app.route("/stamp")
def show_stamp():
    return jsonify(message=render_template_string("{{ g.stamp }} {{ 'hi'|shout }}"))
"""
        )
        imports = "from flask import Flask, g, jsonify, render_template_string"
        write(webapp, added.replace("from flask import Flask, jsonify", imports))
        served(hot, lambda: says(port, "/stamp") == "s1 HI!", "the new route, hook and filter")
        assert get(port, "/nowhere") == (404, '{"message":"no such page v1"}\n')
        edit(webapp, '"s1"', '"s2"')
        edit(webapp, '+ "!"', '+ "?"')
        edit(webapp, "no such page v1", "no such page v2")
        wait_until(lambda: says(port, "/stamp") == "s2 HI?", "the edited hook and filter")
        wait_until(lambda: "v2" in get(port, "/nowhere")[1], "the edited error handler")
        assert stop(hot) in (0, 130)


def test_a_broken_edit_shows_in_the_debugger_page_until_fixed(tmp_path):
    project = flask_project(tmp_path)
    pages = project / "pages.py"
    hot, port = serve(project, "--debug")
    with hot:
        assert says(port) == "hello from v1"
        edit(pages, 'return jsonify(message="hello from v1")', "return jsonify(message=")
        page = wait_until(lambda: get(port)[0] == 500 and get(port)[1], "the debugger page")
        assert "Werkzeug Debugger" in page and "SyntaxError" in page, page[:500]
        assert "pages.py" in page, page[:2000]
        assert "integrations/wsgi.py" not in page  # hmr-ast's own frames are hidden
        hot.err.wait_for(r"pages failed: the debugger page shows the error")
        edit(pages, "return jsonify(message=", 'return jsonify(message="fixed")')
        wait_until(lambda: says(port) == "fixed", "the fixed view")
        assert stop(hot) in (0, 130)


def test_other_flask_commands_run_as_with_flask(tmp_path):
    project = flask_project(tmp_path)
    command = [sys.executable, "-m", "hmr_ast", "flask", "--app", "webapp", "routes"]
    ours = subprocess.run(command, cwd=project, env=clean_env(), capture_output=True, text=True)
    assert ours.returncode == 0, ours.stderr
    assert "pages.index" in ours.stdout and "health" in ours.stdout, ours.stdout
    mistake = subprocess.run(
        [*command[:4], "--app", "nowhere", "routes"],
        cwd=project,
        env=clean_env(),
        capture_output=True,
        text=True,
    )
    assert mistake.returncode == 2 and "nowhere" in mistake.stderr, mistake.stderr


def test_neither_framework_is_imported_unless_its_subcommand_runs(tmp_path):
    make_project(
        tmp_path,
        {"probe.py": "import sys\nprint('flask' in sys.modules, 'django' in sys.modules)\n"},
    )
    with HotProcess.run(tmp_path, "probe.py") as hot:
        hot.out.wait_for(r"^False False$")  # hmr-ast run keeps watching: wait, then stop


def test_refresh_tells_open_pages_to_reload_after_an_edit(tmp_path):
    project = flask_project(tmp_path)
    write(
        project / "pages.py",
        PAGES
        + '\n\n@pages.route("/page")\ndef page():\n    return "<html><body>v1</body></html>"\n',
    )
    hot, port = serve(project, "--refresh")
    with hot:
        status, html = get(port, "/page")
        assert status == 200 and "hmr-ast --refresh" in html and "__hmr_ast__/events" in html
        assert "hmr-ast --refresh" not in get(port, "/")[1]  # JSON is left alone
        connection, events = open_stream(port, "/__hmr_ast__/events")
        try:
            events.wait_for(r"^retry: 500$")
            edit(project / "pages.py", "<body>v1", "<body>v2")
            events.wait_for(r"^event: reload$")
            assert "v2" in get(port, "/page")[1]
        finally:
            connection.close()
        assert stop(hot) in (0, 130)


def test_an_app_factory_is_called_again_after_each_reload(tmp_path):
    project = make_project(
        tmp_path / "site",
        {
            "pages.py": PAGES,
            "webapp.py": "from flask import Flask\n\nfrom pages import pages\n\n\n"
            "def create_app():\n    app = Flask(__name__)\n    app.register_blueprint(pages)\n"
            "    print('app made', flush=True)\n    return app\n",
        },
    )
    hot, port = serve(project, "-v")
    with hot:
        assert says(port) == "hello from v1"
        edit(project / "pages.py", "v1", "v2")
        served(hot, lambda: says(port) == "hello from v2", "the edited view")
        hot.err.wait_for(r"serving a new app object \(#2\)")
        assert stop(hot) in (0, 130)
    assert hot.out.seen.count("app made") == 2, hot.out.seen


def test_an_app_that_does_not_load_at_start_serves_its_error_until_fixed(tmp_path):
    project = flask_project(tmp_path)
    pages = project / "pages.py"
    edit(pages, 'pages = Blueprint("pages", __name__)', 'raise RuntimeError("half done")')
    hot, port = serve(project, "--debug")
    with hot:
        hot.err.wait_for(r"the app does not load; serving its error until an edit fixes it")
        status, page = get(port)
        assert status == 500 and "half done" in page and "Werkzeug Debugger" in page, page[:300]
        edit(pages, 'raise RuntimeError("half done")', 'pages = Blueprint("pages", __name__)')
        served(hot, lambda: says(port) == "hello from v1", "the app, once fixed")
        hot.err.wait_for(r"the app loads now")
        assert stop(hot) in (0, 130)
    assert any("Serving Flask app 'webapp'" in line for line in hot.out.seen), hot.out.seen
