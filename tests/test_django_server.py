"""``hmr-ast django runserver``: Django's own runserver, one process, edits served hot.

The project is made as a developer makes one: ``django-admin startproject``, ``startapp``
with a model, an admin and URLs, migrated into a real sqlite database, every management
command run through ``hmr-ast django`` (which runs them as ``manage.py`` would). Each test
copies it and runs the real server on 127.0.0.1. Cost: ~8.5 s in all (the project is
made once, ~2.5 s; five servers, one of which restarts; one shell command), on every
supported Python (core).
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import shutil
import signal
import subprocess
import sys
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from harness import TIMEOUT, HotProcess, clean_env, write
from streams import read_to_end
from web_harness import Hammer, _answers, free_port, get, wait_until

pytest.importorskip("django")

# Core: 3.12 and 3.13 get the newest Django (6.x needs 3.12), 3.10 and 3.11 get 5.2.
pytestmark = pytest.mark.core

MODELS = """\
from django.db import models


class Post(models.Model):
    title = models.CharField(max_length=100)

    def __str__(self):
        return self.title
"""

ADMIN = """\
from django.contrib import admin

from .models import Post


@admin.register(Post)
class PostAdmin(admin.ModelAdmin):
    list_display = ["title"]
"""

VIEWS = """\
from django.http import JsonResponse
from django.shortcuts import render

from .models import Post


def index(request):
    return JsonResponse({"message": "hello from v1", "posts": Post.objects.count()})


def page(request):
    return render(request, "blog/page.html")
"""

TAGS = """\
from django import template

register = template.Library()


@register.filter
def shout(text):
    return text.upper() + "!"
"""

PAGE = '{% load blog_tags %}<p>{{ "hi"|shout }} t1</p>\n'


URLS = """\
from django.urls import path

from . import views

urlpatterns = [
    path("", views.index, name="index"),
    path("page/", views.page),
]
"""


def hmr_django(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "hmr_ast", "django", *args]
    done = subprocess.run(
        command, cwd=cwd, env=clean_env(), capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return done


@pytest.fixture(scope="module")
def made_project(tmp_path_factory) -> Path:
    """startproject + startapp blog (model, admin, URLs), migrated, with one post and an
    admin user; made once, copied by each test."""
    root = tmp_path_factory.mktemp("django") / "site"
    root.mkdir()
    django_admin = [sys.executable, "-m", "django"]
    subprocess.run([*django_admin, "startproject", "mysite", str(root)], check=True)
    subprocess.run([*django_admin, "startapp", "blog"], cwd=root, check=True)
    files = {"blog/models.py": MODELS, "blog/admin.py": ADMIN}
    files.update({"blog/views.py": VIEWS, "blog/urls.py": URLS})
    files.update({"blog/templatetags/__init__.py": "", "blog/templatetags/blog_tags.py": TAGS})
    files["blog/templates/blog/page.html"] = PAGE
    for name, text in files.items():
        write(root / name, text)
    settings = root / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text().replace("INSTALLED_APPS = [", 'INSTALLED_APPS = [\n    "blog",')
    )
    urls = root / "mysite" / "urls.py"
    text = urls.read_text().replace("import path", "import include, path")
    urls.write_text(
        text.replace("admin.site.urls),", "admin.site.urls),\n    path('', include('blog.urls')),")
    )
    hmr_django(root, "makemigrations", "blog", "-v", "0")  # other commands: as manage.py
    hmr_django(root, "migrate", "-v", "0")
    hmr_django(
        root,
        "shell",
        "-c",
        "from django.contrib.auth.models import User; from blog.models import Post; "
        "User.objects.create_superuser('admin', 'a@example.com', 'pw'); "
        "Post.objects.create(title='first')",
    )
    return root


@pytest.fixture
def project(made_project, tmp_path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(made_project, copy)
    return copy


def serve(project: Path, *options: str) -> tuple[HotProcess, int]:
    """``hmr-ast django runserver P OPTIONS`` in ``project``, once it answers."""
    port = free_port()
    command = [sys.executable, "-m", "hmr_ast", "django", "runserver", str(port), *options]
    hot = HotProcess(command, project, env=clean_env())
    wait_until(lambda: _answers(port) or hot.process.poll() is not None, "the server to answer")
    assert hot.process.poll() is None, "the server exited:\n" + "\n".join(hot.err.drain())
    return hot, port


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    write(path, text.replace(old, new))


def says(port: int, path: str = "/") -> str:
    status, body = get(port, path)
    return json.loads(body)["message"] if status == 200 else f"{status}"


def stop(hot: HotProcess) -> int:
    hot.process.send_signal(signal.SIGINT)
    code = hot.process.wait(timeout=TIMEOUT)
    read_to_end(hot.out)
    read_to_end(hot.err)
    return code


def served(hot: HotProcess, condition, what: str) -> object:
    """``wait_until``, with what the server printed when it times out."""
    try:
        return wait_until(condition, what)
    except AssertionError as timeout:
        raise AssertionError(f"{timeout}; the server said:\n" + "\n".join(hot.err.drain()))


def test_view_and_url_edits_are_served_with_no_failed_request(project):
    views = project / "blog" / "views.py"
    hot, port = serve(project, "-v")
    with hot:
        with Hammer(port) as hammer:
            served(hot, lambda: hammer.latest == "hello from v1", "the first answer")
            for version in range(2, 7):
                edit(views, f"v{version - 1}", f"v{version}")
                served(hot, lambda v=version: hammer.latest == f"hello from v{v}", f"v{version}")
            requests = hammer.requests
        # a new view and its URL, in one save each
        write(
            views,
            views.read_text()
            + '\n\ndef about(request):\n    return JsonResponse({"message": "about"})\n',
        )
        edit(
            project / "blog" / "urls.py",
            '    path("", views.index',
            '    path("about/", views.about),\n    path("", views.index',
        )
        served(hot, lambda: says(port, "/about/") == "about", "the new URL")
        assert stop(hot) in (0, 130)
    assert hammer.failures == [], hammer.failures[:5]
    assert requests > 20, requests
    log = "\n".join(hot.err.seen)
    assert log.count("patched in place: blog.views.index") == 5, log
    assert "URL resolvers cleared" in log, log


def test_admin_registration_edits_apply_in_place(project):
    hot, port = serve(project)
    with hot:
        browser = AdminBrowser(port)
        page = browser.changelist()
        assert "column-title" in page and "column-id" not in page
        edit(
            project / "blog" / "admin.py",
            'list_display = ["title"]',
            'list_display = ["title", "id"]',
        )
        served(hot, lambda: "column-id" in browser.changelist(), "the edited admin")
        assert stop(hot) in (0, 130)
    assert not any("AlreadyRegistered" in line for line in hot.err.seen), hot.err.seen


def test_template_filter_and_template_edits_are_served(project):
    hot, port = serve(project)
    with hot:
        assert get(port, "/page/") == (200, "<p>HI! t1</p>\n")
        edit(project / "blog" / "templatetags" / "blog_tags.py", '+ "!"', '+ "?"')
        served(hot, lambda: get(port, "/page/")[1] == "<p>HI? t1</p>\n", "the edited filter")
        edit(project / "blog" / "templates" / "blog" / "page.html", "t1", "t2")
        served(hot, lambda: get(port, "/page/")[1] == "<p>HI? t2</p>\n", "the edited template")
        assert stop(hot) in (0, 130)


def test_a_broken_view_shows_the_technical_500_until_fixed(project):
    views = project / "blog" / "views.py"
    hot, port = serve(project)
    with hot:
        assert says(port) == "hello from v1"
        edit(views, '"posts": Post.objects.count()})', '"posts": Post.objects.count()')
        page = served(hot, lambda: get(port)[0] == 500 and get(port)[1], "the technical 500")
        assert "SyntaxError" in page and "views.py, line 8" in page, page[-3000:]
        assert "Django" in page and "Traceback" in page, page[:1000]
        edit(views, '"posts": Post.objects.count()', '"posts": Post.objects.count()})')
        served(hot, lambda: says(port) == "hello from v1", "the fixed view")
        assert stop(hot) in (0, 130)


def test_a_model_edit_restarts_on_the_same_socket_and_serves_again(project):
    """models.py cannot apply in place: the process restarts, says why, and the requests
    sent meanwhile wait in the socket's backlog instead of failing."""
    hot, port = serve(project)
    with hot:
        assert says(port) == "hello from v1"
        failures: list[str] = []
        answers: list[str] = []
        done = threading.Event()

        def poll() -> None:  # a new connection each time
            while not done.is_set():
                try:
                    answers.append(says(port))
                except Exception as error:
                    failures.append(f"{type(error).__name__}: {error}")

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        edit(project / "blog" / "models.py", "return self.title", "return self.title.upper()")
        edit(project / "blog" / "views.py", "v1", "v2")  # seen only after the restart
        hot.err.wait_for(
            r"restarting: blog/models\.py changed: Django's app registry \(models\) is built"
        )
        served(hot, lambda: answers and answers[-1] == "hello from v2", "the restarted server")
        done.set()
        poller.join(TIMEOUT)
        assert stop(hot) in (0, 130)
    # Django 6.1 says "Starting WSGI development server", earlier releases "Starting
    # development server".
    starts = [line for line in hot.out.seen if re.search(r"Starting (WSGI )?development", line)]
    assert len(starts) == 2, hot.out.seen  # one process, replaced once
    assert failures == [], failures[:5]
    assert set(answers) <= {"hello from v1", "hello from v2"}, set(answers)


class AdminBrowser:
    """Logged in to the admin, with cookies, through urllib."""

    def __init__(self, port: int) -> None:
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )
        login = self.opener.open(self.base + "/admin/login/", timeout=TIMEOUT).read().decode()
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', login).group(1)
        form = {"username": "admin", "password": "pw", "csrfmiddlewaretoken": token}
        self.opener.open(
            urllib.request.Request(
                self.base + "/admin/login/?next=/admin/",
                data=urllib.parse.urlencode(form).encode(),
                headers={"Referer": self.base + "/admin/login/"},
            ),
            timeout=TIMEOUT,
        ).read()

    def changelist(self) -> str:
        response = self.opener.open(self.base + "/admin/blog/post/", timeout=TIMEOUT)
        return response.read().decode()


def test_settings_models_migrations_and_apps_edits_restart_and_say_why(made_project):
    """Which edits restart, as ``runserver`` decides it once Django is set up (any other
    module applies in place)."""
    probe = (
        "from hmr_ast.integrations.django_reload import restart_reason as why; "
        "import blog.apps, blog.views; "
        "print(why(['mysite.settings'])); print(why(['blog.models'])); "
        "print(why(['blog.migrations.0001_initial'])); print(why(['blog.apps'])); "
        "print(why(['blog.views', 'blog.urls', 'blog.admin', 'mysite.urls']))"
    )
    printed = hmr_django(made_project, "shell", "-c", probe).stdout.splitlines()
    lines = [line for line in printed if "changed:" in line or line == "None"]  # 5.2 says more
    assert lines == [
        "mysite/settings.py changed: Django reads its settings once, at start-up",
        "blog/models.py changed: Django's app registry (models) is built once, at start-up",
        "blog.migrations.0001_initial changed: migrations are loaded and checked at start-up",
        "blog/apps.py changed: Django's app registry (AppConfig) is built once, at start-up",
        "None",
    ], lines
