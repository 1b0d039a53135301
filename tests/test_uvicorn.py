"""``hmr-ast uvicorn main:app``: edits swap the app in place, on the same socket, no request lost.

Each test runs the real command on 127.0.0.1 against a copy of ``fixtures/fastapi_app``
and edits its files on disk, as a developer would.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from harness import TIMEOUT, write
from streams import read_to_end
from web_harness import Hammer, fastapi_project, get, message, open_stream, serve, wait_until


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    write(path, text.replace(old, new))


def test_edits_swap_the_app_with_no_failed_request_and_the_model_loads_once(tmp_path):
    project = fastapi_project(tmp_path, slow_model=True)
    routes = project / "routes.py"
    hot, port = serve(project)
    with hot:
        with Hammer(port) as hammer:
            wait_until(lambda: hammer.latest == "hello from v1", "the first app to answer")
            for version in range(2, 7):
                edit(routes, f"v{version - 1}", f"v{version}")
                wait_until(lambda v=version: hammer.latest == f"hello from v{v}", f"v{version}")
            hot.out.wait_for("^shutdown v5$")
            served = hammer.requests
        assert read_to_end_after_ctrl_c(hot) == 0
    assert hammer.failures == [], hammer.failures[:5]
    assert served > 50, served
    lines = hot.out.seen
    assert lines.count("loading model (2 seconds)...") == 1, lines
    # each new app started before the one it replaced shut down
    for version in range(1, 6):
        assert lines.index(f"startup v{version + 1}") < lines.index(f"shutdown v{version}"), lines
    assert lines[-1] == "shutdown v6", lines


def read_to_end_after_ctrl_c(hot) -> int:
    hot.process.send_signal(signal.SIGINT)
    code = hot.process.wait(timeout=TIMEOUT)
    read_to_end(hot.out)
    read_to_end(hot.err)
    return code


def test_a_stream_keeps_the_old_app_running_and_does_not_hold_the_reload_back(tmp_path):
    project = fastapi_project(tmp_path)
    hot, port = serve(project)
    with hot, connect(f"ws://127.0.0.1:{port}/echo", open_timeout=TIMEOUT) as websocket:
        connection, ticks = open_stream(port, "/ticks")
        ticks.wait_for(r"^data: v1 tick 2$")
        websocket.send("before")
        assert websocket.recv(timeout=TIMEOUT) == "echo before"
        edit(project / "routes.py", "v1", "v2")
        hot.out.wait_for("^startup v2$")
        assert message(port) == "hello from v2"  # served at once, stream still open
        ticks.drain()  # the ticks so far (none new if the reload took under one tick)
        latest = max(int(line.rsplit(" ", 1)[1]) for line in ticks.seen if "tick" in line)
        ticks.wait_for(rf"^data: v\d tick {latest + 2}$")  # the stream goes on
        websocket.send("after")
        assert websocket.recv(timeout=TIMEOUT) == "echo after"  # and so does the websocket
        assert "shutdown v1" not in hot.out.drain()  # its app is still in use
        connection.close()
        websocket.close()
        hot.out.wait_for("^shutdown v1$")  # after its last connection ended


def test_close_on_reload_ends_the_old_apps_streams(tmp_path):
    project = fastapi_project(tmp_path)
    hot, port = serve(project, "--close-on-reload")
    with hot, connect(f"ws://127.0.0.1:{port}/echo", open_timeout=TIMEOUT) as websocket:
        connection, ticks = open_stream(port, "/ticks")
        ticks.wait_for(r"^data: v1 tick 2$")
        edit(project / "routes.py", "v1", "v2")
        read_to_end(ticks)  # the response ends, cleanly
        with pytest.raises(ConnectionClosed) as closed:
            websocket.recv(timeout=TIMEOUT)
        assert closed.value.rcvd.code == 1012  # "service restart"
        hot.out.wait_for("^shutdown v1$")
        assert message(port) == "hello from v2"
        connection.close()
        _, fresh = open_stream(port, "/ticks")
        fresh.wait_for(r"^data: v2 tick 1$")


def test_a_broken_edit_keeps_serving_the_previous_app_and_the_fix_recovers(tmp_path):
    project = fastapi_project(tmp_path)
    routes, main = project / "routes.py", project / "main.py"
    good_main = main.read_text()
    hot, port = serve(project)
    with hot:
        # a syntax error: the engine names the file and line, the old app goes on
        edit(routes, 'VERSION = "v1"', 'VERSION = "v1" +')
        hot.err.wait_for(r"error in .*routes\.py, line \d+: SyntaxError")
        assert message(port) == "hello from v1"
        # the module runs, but ATTR is gone
        write(routes, routes.read_text().replace('"v1" +', '"v1"'))
        hot.err.wait_for(r"routes recovered")
        write(main, good_main.replace("\napp", "\napplication"))
        hot.err.wait_for(r"main:app: AttributeError: .*still serving the previous app")
        assert message(port) == "hello from v1"
        # the new app's startup fails
        write(
            main, good_main.replace("    yield\n", "    raise RuntimeError('no db')\n    yield\n")
        )
        edit(routes, "v1", "v2")
        hot.err.wait_for(
            r"the new main:app did not start: RuntimeError: no db; still serving the previous one"
        )
        # The previous app serves on; its endpoint was patched in place, so it runs the edit
        # (waited for: the two saves may land in two batches, the message coming from the first).
        wait_until(lambda: message(port) == "hello from v2", "the edit on the previous app")
        # fixed: the next save serves it
        write(main, good_main)
        wait_until(lambda: message(port) == "hello from v2", "the fixed app")
        hot.out.wait_for("^startup v2$")
        hot.out.wait_for("^shutdown v1$")


def test_factory_is_called_again_after_a_reload(tmp_path):
    project = fastapi_project(tmp_path)
    main = project / "main.py"
    main.write_text(
        main.read_text().replace("app = FastAPI(", "def create_app():\n    app = FastAPI(")
        + "    return app\n".replace("app.include_router", "    app.include_router")
    )
    text = main.read_text().replace("\napp.include_router", "\n    app.include_router")
    main.write_text(text)
    hot, port = serve(project, "--factory", target="main:create_app")
    with hot:
        assert message(port) == "hello from v1"
        edit(project / "routes.py", "v1", "v2")
        wait_until(lambda: message(port) == "hello from v2", "the factory's new app")
        hot.out.wait_for("^shutdown v1$")


def test_an_edit_landing_while_a_request_imports_that_module_waits_for_the_import(tmp_path):
    """A request imports a project module for the first time; the module is edited while its
    body still runs on the server's thread. The server is not restarted (which would stop
    it): the module reruns with the edit once its import has finished."""
    project = fastapi_project(tmp_path)
    write(
        project / "lazy.py",
        "import os, time\n\nprint('lazy importing', flush=True)\n"
        "while not os.path.exists('release'):\n    time.sleep(0.01)\nVALUE = 1\n",
    )
    routes = project / "routes.py"
    write(
        routes,
        routes.read_text() + "\n\n@router.get('/lazy')\nasync def lazy() -> dict:\n"
        "    import lazy\n\n    return {'value': lazy.VALUE}\n",
    )
    hot, port = serve(project, "-v")
    with hot:
        answers: list[tuple[int, str]] = []
        request = threading.Thread(target=lambda: answers.append(get(port, "/lazy")))
        request.start()
        hot.out.wait_for("^lazy importing$")
        edit(project / "lazy.py", "VALUE = 1", "VALUE = 2")
        hot.err.wait_for(r"lazy: still executing on the main thread; reruns after$")
        write(project / "release", "")
        request.join(TIMEOUT)
        assert answers == [(200, '{"value":1}')]  # the import under way ran the old code
        hot.err.wait_for(r"^\[hmr-ast\] reloaded files: reran lazy in ")
        assert get(port, "/lazy") == (200, '{"value":2}')
        assert hot.process.poll() is None


def test_an_app_that_does_not_load_at_start_serves_its_error_until_an_edit_fixes_it(tmp_path):
    project = fastapi_project(tmp_path)
    routes = project / "routes.py"
    good = routes.read_text()
    write(routes, good.replace('VERSION = "v1"', 'VERSION = "v1"\nraise RuntimeError("half done")'))
    hot, port = serve(project)
    with hot:
        hot.err.wait_for(r"could not load main:app; serving the error until it loads$")
        status, body = get(port)
        assert status == 500
        assert "main:app failed to load" in body and "routes.py, line 10" in body
        assert "RuntimeError: half done" in body
        write(routes, good.replace('VERSION = "v1"', 'VERSION = "v1"\nundefined_name'))
        hot.err.wait_for(r"main:app still does not load: NameError: ")
        wait_until(lambda: "NameError" in get(port)[1], "the new error to be served")
        write(routes, good)
        hot.err.wait_for(r"main:app loaded$")
        wait_until(
            lambda: get(port) == (200, '{"message":"hello from v1","model":"tiny-model"}'), "v1"
        )
        hot.out.wait_for("^startup v1$")


def test_an_app_whose_first_import_is_a_syntax_error_loads_once_the_file_is_fixed(tmp_path):
    """A syntax error leaves no module behind (nothing was run); its file is watched anyway,
    and the fix loads the app (it stayed the error until a restart)."""
    project = fastapi_project(tmp_path)
    main = project / "main.py"
    good = main.read_text()
    write(main, good.replace("app = FastAPI(", "app = FastAPI(("))
    hot, port = serve(project)
    with hot:
        hot.err.wait_for(r"could not load main:app; serving the error until it loads$")
        assert "SyntaxError" in get(port)[1]
        write(main, good)
        hot.err.wait_for(r"main:app loaded$")
        wait_until(
            lambda: get(port) == (200, '{"message":"hello from v1","model":"tiny-model"}'), "v1"
        )


def test_ctrl_c_shuts_down_cleanly_with_uvicorn_options(tmp_path):
    project = fastapi_project(tmp_path)
    hot, port = serve(project, "--log-level", "warning", "--root-path", "/api")
    with hot:
        assert get(port, "/openapi.json")[0] == 200
        assert read_to_end_after_ctrl_c(hot) == 0
    assert hot.out.seen[-2:] == ["startup v1", "shutdown v1"], hot.out.seen
    assert not [line for line in hot.err.seen if line.startswith("INFO:")], hot.err.seen
    assert not [line for line in hot.err.seen if "Traceback" in line], hot.err.seen


def test_usage_mistakes_get_a_message_not_a_traceback(tmp_path):
    for args, says in (
        (["main"], "give the app as MODULE:ATTR"),
        (["main:app", "--workers", "2"], "serves from one process"),
    ):
        done = subprocess.run(
            [sys.executable, "-m", "hmr_ast", "uvicorn", *args],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 2, done
        assert says in done.stderr and "Traceback" not in done.stderr, done.stderr
