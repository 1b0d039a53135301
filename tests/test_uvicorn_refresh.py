"""``hmr-ast uvicorn --refresh``: an open page reloads itself in a real browser after a reload."""

from __future__ import annotations

import os

import pytest

from browser import CHROMIUM, Browser
from harness import write
from web_harness import fastapi_project, get, message, serve, wait_until

# CI installs chromium (.ci/run): there, a missing browser is a failure, not a skip.
pytestmark = pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("CI"), reason="needs Debian's chromium"
)


def test_refresh_reloads_the_open_page_after_each_successful_reload(tmp_path):
    project = fastapi_project(tmp_path)
    routes = project / "routes.py"
    hot, port = serve(project, "--refresh")
    with hot:
        status, page = get(port, "/page")  # http.client reads exactly content-length bytes
        assert status == 200 and page.rstrip().endswith("</script>"), page
        assert message(port) == "hello from v1"  # JSON is left alone
        with Browser(tmp_path / "profile") as browser:
            browser.open(f"http://127.0.0.1:{port}/page")
            wait_until(lambda: browser.evaluate("document.title") == "v1", "the page")
            hot.out.wait_for(r'"GET /__hmr_ast__/events HTTP/1\.1" 200')  # it listens (access log)
            for version in (2, 3):
                browser.evaluate("window.before_reload = true")
                write(routes, routes.read_text().replace(f"v{version - 1}", f"v{version}"))
                wait_until(
                    lambda v=version: browser.evaluate("document.title") == f"v{v}",
                    f"the page to show v{version}",
                )
                assert browser.evaluate("window.before_reload") is None  # a real reload
                hot.out.wait_for(r'"GET /__hmr_ast__/events HTTP/1\.1" 200')
