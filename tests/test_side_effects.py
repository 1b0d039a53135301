"""Import-time code that adds to an object another module made (registries, routes,
commands, counters, subclass registries) equals a fresh run after every edit: nothing is
added twice, removed contributions disappear, and the order is a fresh run's.

Each program's entry imports its modules, then answers every line of stdin with its state
as JSON (its loop reads the modules afresh, so it never has to rerun). After each edit the
hot process's answer must equal ``python app.py``'s on the files as they are then.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness import HotProcess, clean_env, everything, fresh_run, make_project, write
from web_harness import get, serve, wait_until

pytestmark = pytest.mark.core


def entry(imports: str, state: str) -> str:
    loop = f"for line in sys.stdin:\n    print(json.dumps({state}), flush=True)\n"
    return f"import json, sys\n{imports}\n{loop}"


def check_against_fresh(tmp_path, files: dict[str, str], edits: list[dict[str, str]]) -> list:
    """Run app.py hot; after each edit its state must equal a fresh run's. Returns stderr."""
    make_project(tmp_path, files)

    def fresh() -> object:
        result = fresh_run(tmp_path, "-B", "app.py", stdin="\n")
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout.splitlines()[-1])

    with HotProcess.run(tmp_path, "app.py", options=("-v",), stdin=True) as hot:
        hot.send("")
        assert json.loads(hot.out.wait_for(r"^[\[{]").string) == fresh()
        for edit in edits:
            for name, text in edit.items():
                write(tmp_path / name, text)
            hot.err.wait_for(r"^\[hmr-ast\] reloaded ")
            hot.send("")
            assert json.loads(hot.out.wait_for(r"^[\[{]").string) == fresh(), edit
        return everything(hot.err)


REGISTRY = """\
HANDLERS = []


def register(function):
    HANDLERS.append(function.__name__)
    return function
"""


def test_decorator_registrations_from_several_modules_equal_a_fresh_run(tmp_path):
    """``@registry.register`` and ``@register`` (from-imported) in two plugin modules: a
    rename, an addition and a removal leave each registration once, in import order."""
    a = "import registry\n\n\n@registry.register\ndef a1():\n    return 1\n"
    b = "from registry import register\n\n\n@register\ndef b1():\n    return 1\n"
    files = {
        "registry.py": REGISTRY,
        "a.py": a,
        "b.py": b,
        "app.py": entry("import a\nimport b\nimport registry", "registry.HANDLERS"),
    }
    err = check_against_fresh(
        tmp_path,
        files,
        [
            {"a.py": a.replace("a1", "a2")},
            {"b.py": b + "\n\n@register\ndef b2():\n    return 2\n"},
            {"a.py": "import registry\n"},
            {"b.py": b.replace("b1", "b0")},
        ],
    )
    assert any("HANDLERS is made again first" in line for line in err)


def test_a_subclass_registry_keeps_one_entry_per_class(tmp_path):
    """``__init_subclass__`` appends every subclass to ``Plugin.registry``: editing a
    subclass in another module leaves two entries, not four."""
    plugins = (
        "from base import Plugin\n\n\nclass A(Plugin):\n    x = 1\n\n\nclass B(Plugin):\n    pass\n"
    )
    files = {
        "base.py": (
            "class Plugin:\n    registry = []\n\n"
            "    def __init_subclass__(cls, **kwargs):\n"
            "        super().__init_subclass__(**kwargs)\n"
            "        Plugin.registry.append(cls.__name__)\n"
        ),
        "plugins.py": plugins,
        "app.py": entry("import plugins\nimport base", "base.Plugin.registry"),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"plugins.py": plugins.replace("x = 1", "x = 2")},
            {"plugins.py": plugins.replace("class B", "class C")},
        ],
    )


def test_a_registry_that_refuses_duplicates_takes_the_new_options(tmp_path):
    """An admin-style ``site.register(Model, **options)`` that raises on a second
    registration: an options edit is applied, as in a fresh run."""
    admin = "from sites import site\nfrom models import Book\n\nsite.register(Book, per_page=10)\n"
    files = {
        "sites.py": (
            "class Site:\n    def __init__(self):\n        self.registry = {}\n\n"
            "    def register(self, model, **options):\n"
            "        if model.__name__ in self.registry:\n"
            "            raise ValueError(f'{model.__name__} is already registered')\n"
            "        self.registry[model.__name__] = options\n\n\nsite = Site()\n"
        ),
        "models.py": "class Book:\n    pass\n",
        "admin.py": admin,
        "app.py": entry("import admin\nimport sites", "sites.site.registry"),
    }
    check_against_fresh(tmp_path, files, [{"admin.py": admin.replace("10", "25")}])


def test_counters_taken_at_import_count_as_in_a_fresh_run(tmp_path):
    """``A = ids.next_id()`` in a.py and ``B = ids.next_id()`` in b.py: after an edit to
    a.py, A is 1 and B is 2, as in a fresh run (not A == 3)."""
    files = {
        "ids.py": (
            "_next = 0\n\n\ndef next_id():\n    global _next\n    _next += 1\n    return _next\n"
        ),
        "a.py": "import ids\n\nA = ids.next_id()\n",
        "b.py": "from ids import next_id\n\nB = next_id()\n",
        "app.py": entry("import a\nimport b", "[a.A, b.B]"),
    }
    check_against_fresh(
        tmp_path,
        files,
        [{"a.py": "import ids\n\nA = ids.next_id()  # edited\n"}, {"b.py": files["b.py"] + "\n"}],
    )


def test_click_commands_from_another_module_follow_renames_and_removals(tmp_path):
    """``@cli.command()`` in commands.py on the group made in cli.py."""
    pytest.importorskip("click")
    commands = (
        "from cli import cli\n\n\n@cli.command()\ndef hello():\n    pass\n\n\n"
        "@cli.command()\ndef bye():\n    pass\n"
    )
    files = {
        "cli.py": "import click\n\n\n@click.group()\ndef cli():\n    pass\n",
        "commands.py": commands,
        "app.py": entry("import commands\nimport cli", "list(cli.cli.commands)"),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"commands.py": commands.replace("def hello", "def greet")},
            {"commands.py": commands.split("\n\n\n@cli.command()\ndef bye")[0] + "\n"},
        ],
    )


API = """\
from shared import app


@app.get("/")
def root():
    return {"answer": "v0"}
"""


def test_routes_added_to_an_app_from_another_module_are_served_once_and_fresh(tmp_path):
    """FastAPI: ``@app.get`` in api.py on the app made in shared.py, served as main:app.
    A path edit, an added route and a body edit are served at once, no route is doubled,
    and the old path is gone."""
    pytest.importorskip("fastapi")
    make_project(
        tmp_path,
        {
            "shared.py": "from fastapi import FastAPI\n\napp = FastAPI()\n",
            "api.py": API,
            "main.py": "import api\nfrom shared import app\n",
        },
    )
    hot, port = serve(tmp_path, "-v")
    with hot:
        assert get(port) == (200, '{"answer":"v0"}')
        write(tmp_path / "api.py", API.replace('"/"', '"/new"'))
        wait_until(lambda: get(port, "/new") == (200, '{"answer":"v0"}'), "the moved route")
        assert get(port)[0] == 404
        write(tmp_path / "api.py", API + '\n\n@app.get("/two")\ndef two():\n    return 2\n')
        wait_until(lambda: get(port, "/two") == (200, "2"), "the added route")
        assert get(port) == (200, '{"answer":"v0"}')
        write(tmp_path / "api.py", API.replace('"v0"', '"v1"'))
        wait_until(lambda: get(port) == (200, '{"answer":"v1"}'), "the edited body")
        assert get(port, "/two")[0] == 404
        paths = json.loads(get(port, "/openapi.json")[1])["paths"]
        assert list(paths) == ["/"]


def test_flask_views_on_an_app_from_another_module_follow_edits(tmp_path):
    """Flask: views.py does ``from webapp import app; @app.route(...)`` and a blueprint is
    registered at import. Flask refuses ``app.route`` once the app has served a request;
    each edit makes the app again, so a moved, added or removed view is served as in a
    fresh run, through the app's own test client."""
    pytest.importorskip("flask")
    views = (
        "from webapp import app\n\n\n@app.route('/')\ndef index():\n    return 'v0'\n\n\n"
        "@app.route('/about')\ndef about():\n    return 'about'\n"
    )
    files = {
        "webapp.py": "from flask import Flask\n\napp = Flask(__name__)\n",
        "views.py": views,
        "parts.py": (
            "from flask import Blueprint\n\nparts = Blueprint('parts', __name__)\n\n\n"
            "@parts.route('/part')\ndef part():\n    return 'part v0'\n"
        ),
        "wiring.py": (
            "from webapp import app\nfrom parts import parts\n\napp.register_blueprint(parts)\n"
        ),
        "app.py": entry(
            "import views\nimport wiring\nimport webapp",
            "[(str(rule), webapp.app.test_client().get(str(rule)).get_data(as_text=True))"
            " for rule in webapp.app.url_map.iter_rules() if 'static' not in str(rule)]",
        ),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"views.py": views.replace("'v0'", "'v1'")},
            {"views.py": views.replace("'/about'", "'/info'")},
            {"views.py": views.split("\n\n\n@app.route('/about')")[0] + "\n"},
            {"parts.py": files["parts.py"].replace("part v0", "part v1")},
            {"parts.py": files["parts.py"].replace("'/part'", "'/piece'")},
        ],
    )


def test_pluggy_plugins_registered_at_import_are_registered_once(tmp_path):
    """pluggy: a PluginManager made in hooks.py, plugins registered from another module
    (pluggy refuses a plugin registered twice)."""
    pytest.importorskip("pluggy")
    plugins = (
        "from hooks import manager, implement\n\n\nclass Loud:\n    @implement\n"
        "    def greet(self):\n        return 'LOUD'\n\n\nmanager.register(Loud(), name='loud')\n"
    )
    files = {
        "hooks.py": (
            "import pluggy\n\nspecify = pluggy.HookspecMarker('demo')\n"
            "implement = pluggy.HookimplMarker('demo')\n\n\nclass Spec:\n    @specify\n"
            "    def greet(self):\n        pass\n\n\nmanager = pluggy.PluginManager('demo')\n"
            "manager.add_hookspecs(Spec)\n"
        ),
        "plugins.py": plugins,
        "app.py": entry(
            "import plugins\nimport hooks",
            "[sorted(name for name, _ in hooks.manager.list_name_plugin()),"
            " hooks.manager.hook.greet()]",
        ),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"plugins.py": plugins.replace("'LOUD'", "'LOUDER'")},
            {"plugins.py": plugins.replace("name='loud'", "name='shout'")},
        ],
    )


def test_blinker_receivers_connected_at_import_fire_once(tmp_path):
    """blinker: a signal made in signals.py, a receiver connected in another module; after
    edits the signal reaches each receiver once (blinker's named signals are process-wide)."""
    pytest.importorskip("blinker")
    receivers = (
        "from signals import ready\n\n\n@ready.connect\ndef on_ready(sender):\n    return 'r0'\n"
    )
    files = {
        "signals.py": "from blinker import Signal\n\nready = Signal()\n",
        "receivers.py": receivers,
        "app.py": entry(
            "import receivers\nimport signals", "[r for _, r in signals.ready.send('x')]"
        ),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"receivers.py": receivers.replace("'r0'", "'r1'")},
            {"receivers.py": receivers.replace("on_ready", "when_ready")},
            {"receivers.py": receivers + "\n\n@ready.connect\ndef also(sender):\n    return 'a'\n"},
        ],
    )


def test_impact_predicts_owners_made_again_and_their_contributors(tmp_path):
    """``hmr-ast impact`` names the owner statement made again and every contributor, and
    lists every module the engine then reruns (recall), for a registry, a counter and an
    app with routes from another module."""
    a = "import registry\n\n\n@registry.register\ndef a1():\n    return 1\n"
    files = {
        "registry.py": REGISTRY,
        "a.py": a,
        "b.py": "from registry import register\n\n\n@register\ndef b1():\n    return 1\n",
        "ids.py": (
            "_next = 0\n\n\ndef next_id():\n    global _next\n    _next += 1\n    return _next\n"
        ),
        "c.py": "import ids\n\nC = ids.next_id()\n",
        "d.py": "from ids import next_id\n\nD = next_id()\n",
        "app.py": entry(
            "import a\nimport b\nimport c\nimport d\nimport registry",
            "[registry.HANDLERS, c.C, d.D]",
        ),
    }
    edits = [
        ("a.py", a.replace("a1", "a2"), {"registry", "a", "b"}),
        ("c.py", "import ids\n\nC = ids.next_id()  # edited\n", {"ids", "c", "d"}),
    ]
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py", options=("-v",), stdin=True) as hot:
        hot.send("")
        hot.out.wait_for(r"^\[")
        for path, text, expected in edits:
            write(tmp_path / path, text)
            line = hot.err.wait_for(r"^\[hmr-ast\] reloaded ").string
            reran = set(line.split(": reran ")[1].split(" in ")[0].split(", "))
            assert reran == expected, line
    # The same statements edited back, against the versions that ran last (the cache's).
    for path, _text, expected in edits:
        write(tmp_path / path, files[path])
        result = subprocess.run(
            [sys.executable, "-m", "hmr_ast", "impact", "--json", "app.py", path],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
            env=clean_env(),
        )
        assert result.returncode == 0, result.stderr
        predicted = json.loads(result.stdout)
        assert expected <= set(predicted["order"]), predicted["order"]
        owner = {"a.py": "registry", "c.py": "ids"}[path]
        assert any(why.startswith("makes ") for why in predicted["reasons"][owner])


ROUTES = """\
from fastapi import APIRouter

router = APIRouter()


@router.get("/items")
def items():
    return ["v0"]
"""


def test_a_router_included_from_another_module_follows_edits(tmp_path):
    """FastAPI: routes.py makes an ``APIRouter``, main.py makes the app and calls
    ``app.include_router(router)``. A moved route, an added one and a body edit are each
    served, once, without serving a stale route."""
    pytest.importorskip("fastapi")
    make_project(
        tmp_path,
        {
            "routes.py": ROUTES,
            "main.py": (
                "from fastapi import FastAPI\nfrom routes import router\n\napp = FastAPI()\n"
                "app.include_router(router)\n"
            ),
        },
    )
    hot, port = serve(tmp_path, "-v")
    with hot:
        assert get(port, "/items") == (200, '["v0"]')
        write(tmp_path / "routes.py", ROUTES.replace('"/items"', '"/things"'))
        wait_until(lambda: get(port, "/things") == (200, '["v0"]'), "the moved route")
        assert get(port, "/items")[0] == 404
        write(
            tmp_path / "routes.py", ROUTES + '\n\n@router.get("/more")\ndef more():\n    return 1\n'
        )
        wait_until(lambda: get(port, "/more") == (200, "1"), "the added route")
        write(tmp_path / "routes.py", ROUTES.replace('"v0"', '"v1"'))
        wait_until(lambda: get(port, "/items") == (200, '["v1"]'), "the edited body")
        assert get(port, "/more")[0] == 404
        paths = json.loads(get(port, "/openapi.json")[1])["paths"]
        assert list(paths) == ["/items"]


def test_setting_a_models_mode_in_the_entry_never_loads_it_again(tmp_path):
    """``net.eval()`` and ``net.to("cpu")`` set a state (calling them again changes
    nothing), unlike ``append`` or ``register``: an edit of the entry that calls them
    restarts it without making the model again."""
    files = {
        "model.py": (
            "print('loading the model', flush=True)\n\n\nclass Net:\n    mode = 'train'\n\n"
            "    def eval(self):\n        self.mode = 'eval'\n\n"
            "    def to(self, device):\n        self.device = device\n        return self\n\n\n"
            "net = Net()\n"
        ),
        "app.py": (
            "from model import net\n\nnet.eval()\nnet.to('cpu')\n"
            "print('ready', net.mode, net.device, flush=True)\n"
        ),
    }
    make_project(tmp_path, files)
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^ready eval cpu$")
        write(tmp_path / "app.py", files["app.py"].replace("'cpu'", "'meta'"))
        hot.out.wait_for("^ready eval meta$")
    assert everything(hot.out).count("loading the model") == 1


def test_views_imported_by_the_module_that_makes_the_app_register_once(tmp_path):
    """Flask's package layout: webapp.py makes the app, then imports views.py, which adds
    routes to it (an import cycle). An added view makes the app again before any view is
    added to it: no "overwriting an existing endpoint" error on the way (the cycle's order
    let views.py add to the old app first)."""
    pytest.importorskip("flask")
    views = 'from webapp import app\n\n\n@app.route("/about")\ndef about():\n    return "about"\n'
    files = {
        "webapp.py": "from flask import Flask\n\napp = Flask(__name__)\n\nimport views  # noqa\n",
        "views.py": views,
        "app.py": entry("import webapp", "sorted(map(str, webapp.app.url_map.iter_rules()))"),
    }
    err = check_against_fresh(
        tmp_path,
        files,
        [{"views.py": views + '\n\n@app.route("/new")\ndef new():\n    return "new"\n'}],
    )
    assert not [line for line in err if "error" in line], err


def test_a_metaclass_registry_keeps_one_entry_per_class(tmp_path):
    """A metaclass made in meta.py records every class made with it; classes in another
    module, edited, renamed and removed, are recorded once each, in order."""
    models = (
        "from meta import Model\n\n\nclass User(Model):\n    table = 'users'\n\n\n"
        "class Post(Model):\n    table = 'posts'\n"
    )
    files = {
        "meta.py": (
            "class Registry(type):\n    classes = []\n\n"
            "    def __init__(cls, name, bases, namespace):\n"
            "        super().__init__(name, bases, namespace)\n"
            "        Registry.classes.append((name, namespace.get('table')))\n\n\n"
            "class Model(metaclass=Registry):\n    pass\n"
        ),
        "models.py": models,
        "app.py": entry("import models\nimport meta", "meta.Registry.classes"),
    }
    check_against_fresh(
        tmp_path,
        files,
        [
            {"models.py": models.replace("'users'", "'people'")},
            {"models.py": models.replace("class Post", "class Article")},
            {"models.py": models.split("\n\n\nclass Post")[0] + "\n"},
        ],
    )


def test_a_metaclass_that_registers_classes_in_another_modules_registry(tmp_path):
    """marshmallow's shape: ``SchemaMeta.__init__`` calls ``registry.register(name, cls)``,
    which adds to ``registry._registry``. Editing a schema makes that registry again (it made
    the metaclass again, and the old registrations stayed), then every class made with the
    metaclass (``Schema`` included: a fresh run registers it too), each registered once."""
    schemas = (
        "from meta import Schema\n\n\nclass UserSchema(Schema):\n    x = 1\n\n\n"
        "class PostSchema(Schema):\n    pass\n"
    )
    files = {
        "registry.py": (
            "_registry = {}\n\n\ndef register(name, cls):\n"
            "    _registry.setdefault(name, []).append(cls)\n"
        ),
        "meta.py": (
            "import registry\n\n\nclass SchemaMeta(type):\n"
            "    def __init__(cls, name, bases, namespace):\n"
            "        super().__init__(name, bases, namespace)\n"
            "        registry.register(name, cls)\n\n\n"
            "class Schema(metaclass=SchemaMeta):\n    pass\n"
        ),
        "schemas.py": schemas,
        "app.py": entry(
            "import schemas\nimport registry",
            "{name: [getattr(c, 'x', None) for c in classes]"
            " for name, classes in registry._registry.items()}",
        ),
    }
    err = check_against_fresh(
        tmp_path,
        files,
        [
            {"schemas.py": schemas.replace("x = 1", "x = 2")},
            {"schemas.py": schemas.replace("class PostSchema", "class ArticleSchema")},
        ],
    )
    assert any("registry: _registry is made again first" in line for line in err)
    assert not any("SchemaMeta is made again" in line for line in err)
