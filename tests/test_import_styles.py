"""Every way a module can reach another module's names is a dependency that reloads."""

from __future__ import annotations

import pytest

from harness import RERUNNING_MAIN, HotProcess, make_project, reloaded, write

pytestmark = pytest.mark.core


def test_import_module_then_attribute_read_reloads(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import settings\nprint('limit is', settings.LIMIT)\n",
            "settings.py": "LIMIT = 10\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^limit is 10$")
        write(tmp_path / "settings.py", "LIMIT = 20\n")
        hot.err.wait_for(reloaded("settings.py", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^limit is 20$")


def test_from_import_name_reloads(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "from settings import LIMIT\nprint('limit is', LIMIT)\n",
            "settings.py": "LIMIT = 10\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^limit is 10$")
        write(tmp_path / "settings.py", "LIMIT = 30\n")
        hot.err.wait_for(reloaded("settings.py", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^limit is 30$")


def test_from_import_in_a_module_reloads_that_module_and_its_readers(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import report\nprint('report:', report.TEXT)\n",
            "report.py": "from settings import LIMIT\nTEXT = f'limit={LIMIT}'\n",
            "settings.py": "LIMIT = 10\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^report: limit=10$")
        write(tmp_path / "settings.py", "LIMIT = 11\n")
        hot.err.wait_for(reloaded("settings.py", "settings, report", RERUNNING_MAIN))
        hot.out.wait_for("^report: limit=11$")


def test_aliased_imports_and_submodules_imported_by_name_reload(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import settings as s\n"
                "import shop.prices as p\n"
                "from shop import prices\n"
                "print('values', s.LIMIT, p.PRICE, prices.PRICE)\n"
            ),
            "settings.py": "LIMIT = 10\n",
            "shop/__init__.py": "",
            "shop/prices.py": "PRICE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^values 10 1 1$")
        write(tmp_path / "shop/prices.py", "PRICE = 2\n")
        hot.err.wait_for(reloaded("shop/prices.py", "shop.prices", RERUNNING_MAIN))
        hot.out.wait_for("^values 10 2 2$")
        write(tmp_path / "settings.py", "LIMIT = 20\n")
        hot.err.wait_for(reloaded("settings.py", "settings", RERUNNING_MAIN))
        hot.out.wait_for("^values 20 2 2$")


def test_star_import_sees_a_name_added_to_the_module(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "from shapes import *\n"
                "print('square', SQUARE, 'circle', globals().get('CIRCLE', 'absent'))\n"
            ),
            "shapes.py": "SQUARE = 4\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^square 4 circle absent$")
        write(tmp_path / "shapes.py", "SQUARE = 4\nCIRCLE = 0\n")
        hot.err.wait_for(reloaded("shapes.py", "shapes", RERUNNING_MAIN))
        hot.out.wait_for("^square 4 circle 0$")


def test_star_import_in_a_middle_module_passes_a_new_name_on(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import facade\n"
                "try:\n"
                "    circle = facade.CIRCLE\n"
                "except AttributeError:\n"
                "    circle = 'absent'\n"
                "print('square', facade.SQUARE, 'circle', circle)\n"
            ),
            "facade.py": "from shapes import *\n",
            "shapes.py": "SQUARE = 4\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^square 4 circle absent$")
        write(tmp_path / "shapes.py", "SQUARE = 4\nCIRCLE = 0\n")
        hot.err.wait_for(reloaded("shapes.py", "shapes, facade", RERUNNING_MAIN))
        hot.out.wait_for("^square 4 circle 0$")


def test_star_import_follows_a_growing_all(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "from shapes import *\n"
                "print('public', SQUARE, 'hidden' if 'PRIVATE' not in globals() else PRIVATE)\n"
            ),
            "shapes.py": "__all__ = ['SQUARE']\nSQUARE = 4\nPRIVATE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^public 4 hidden$")
        write(tmp_path / "shapes.py", "__all__ = ['SQUARE', 'PRIVATE']\nSQUARE = 4\nPRIVATE = 3\n")
        hot.err.wait_for(reloaded("shapes.py", "shapes", RERUNNING_MAIN))
        hot.out.wait_for("^public 4 3$")


def test_star_importers_ignore_a_change_to_a_name_outside_all(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "from shapes import *\nprint('public', SQUARE)\n",
            "shapes.py": "__all__ = ['SQUARE']\nSQUARE = 4\nPRIVATE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^public 4$")
        write(tmp_path / "shapes.py", "__all__ = ['SQUARE']\nSQUARE = 4\nPRIVATE = 2\n")
        changed = hot.err.wait_for(r"shapes: reran; changed names: (.*)$")
        assert changed[1] == "PRIVATE"
        hot.err.wait_for(reloaded("shapes.py", "shapes"))


PACKAGE = {
    "app.py": (
        "import shop, shop.orders.basket\n"
        "print('total', shop.TOTAL, 'price', shop.prices.PRICE,"
        " 'basket', shop.orders.basket.BASKET)\n"
    ),
    "shop/__init__.py": "from . import prices\nfrom .prices import PRICE\nTOTAL = PRICE * 10\n",
    "shop/prices.py": "PRICE = 1\n",
    "shop/orders/__init__.py": "",
    "shop/orders/basket.py": "from ..prices import PRICE as UNIT\nBASKET = [UNIT] * 3\n",
}


def test_relative_imports_in_a_package_reload_deep_to_shallow(tmp_path):
    make_project(tmp_path, PACKAGE)
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^total 10 price 1 basket \[1, 1, 1\]$")
        write(tmp_path / "shop/prices.py", "PRICE = 2\n")
        match = hot.err.wait_for(reloaded("shop/prices.py", "(?P<modules>.+)", RERUNNING_MAIN))
        modules = match["modules"].split(", ")
        assert modules[0] == "shop.prices"
        assert sorted(modules) == ["shop", "shop.orders.basket", "shop.prices"]
        hot.out.wait_for(r"^total 20 price 2 basket \[2, 2, 2\]$")


def test_editing_a_package_init_reruns_it_and_its_readers_only(tmp_path):
    make_project(tmp_path, PACKAGE)
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^total 10 price 1 basket \[1, 1, 1\]$")
        write(
            tmp_path / "shop/__init__.py",
            "from . import prices\nfrom .prices import PRICE\nTOTAL = PRICE * 100\n",
        )
        hot.err.wait_for(reloaded("shop/__init__.py", "shop", RERUNNING_MAIN))
        hot.out.wait_for(r"^total 100 price 1 basket \[1, 1, 1\]$")


def test_rerunning_a_package_keeps_its_imported_submodules(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys, shop.prices\n"
                "print('ready')\n"
                "for line in sys.stdin:\n"
                "    print('has prices', hasattr(shop, 'prices'))\n"
            ),
            "shop/__init__.py": "NAME = 'shop'\n",
            "shop/prices.py": "PRICE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "shop/__init__.py", "NAME = 'store'\n")
        hot.err.wait_for(reloaded("shop/__init__.py", "shop"))
        hot.send("check")
        hot.out.wait_for("^has prices True$")


def test_module_getattr_reads_reload_through_the_names_it_uses(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import lazy\nprint('answer', lazy.ANSWER)\n",
            "lazy.py": (
                "def __getattr__(name):\n"
                "    if name == 'ANSWER':\n"
                "        return BASE * 2\n"
                "    raise AttributeError(name)\n"
                "\n"
                "BASE = 21\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^answer 42$")
        # Only BASE changes; __getattr__ is the same function, yet the entry used it.
        write(
            tmp_path / "lazy.py",
            "def __getattr__(name):\n"
            "    if name == 'ANSWER':\n"
            "        return BASE * 2\n"
            "    raise AttributeError(name)\n"
            "\n"
            "BASE = 50\n",
        )
        hot.err.wait_for(reloaded("lazy.py", "lazy", RERUNNING_MAIN))
        hot.out.wait_for("^answer 100$")
        # __getattr__ itself changes.
        write(
            tmp_path / "lazy.py",
            "def __getattr__(name):\n"
            "    if name == 'ANSWER':\n"
            "        return BASE * 3\n"
            "    raise AttributeError(name)\n"
            "\n"
            "BASE = 50\n",
        )
        hot.err.wait_for(reloaded("lazy.py", "lazy", RERUNNING_MAIN))
        hot.out.wait_for("^answer 150$")


def test_read_inside_a_function_called_at_import_time_is_a_dependency(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import pages\nprint('page', pages.PAGE)\n",
            "pages.py": "import loader\nPAGE = loader.load()\n",
            "loader.py": "import paths\n\ndef load():\n    return paths.ROOT.upper()\n",
            "paths.py": "ROOT = 'home'\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^page HOME$")
        write(tmp_path / "paths.py", "ROOT = 'srv'\n")
        # loader itself read nothing at import time: it does not rerun.
        hot.err.wait_for(reloaded("paths.py", "paths, pages", RERUNNING_MAIN))
        hot.out.wait_for("^page SRV$")
        assert any("pages: reads paths:ROOT, which changed" in line for line in hot.err.seen)


def test_function_defined_in_the_entry_and_called_at_import_time(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import paths\n"
                "\n"
                "def shout():\n"
                "    return paths.ROOT.upper()\n"
                "\n"
                "print('shout', shout())\n"
            ),
            "paths.py": "ROOT = 'home'\nOTHER = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^shout HOME$")
        # A name shout() does not read: the entry is left alone.
        write(tmp_path / "paths.py", "ROOT = 'home'\nOTHER = 2\n")
        hot.err.wait_for(reloaded("paths.py", "paths"))
        write(tmp_path / "paths.py", "ROOT = 'srv'\nOTHER = 2\n")
        hot.err.wait_for(reloaded("paths.py", "paths", RERUNNING_MAIN))
        hot.out.wait_for("^shout SRV$")


def test_entry_edited_to_import_a_new_module_then_editing_that_module(tmp_path):
    make_project(tmp_path, {"app.py": "print('plain')\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^plain$")
        write(tmp_path / "extra.py", "VALUE = 'first'\n")
        write(tmp_path / "app.py", "import extra\nprint('extra', extra.VALUE)\n")
        hot.err.wait_for(r"reloaded app.py(, extra.py)?: rerunning __main__$")
        hot.out.wait_for("^extra first$")
        write(tmp_path / "extra.py", "VALUE = 'second'\n")
        hot.err.wait_for(reloaded("extra.py", "extra", RERUNNING_MAIN))
        hot.out.wait_for("^extra second$")


def test_import_of_a_missing_module_recovers_when_the_file_is_created(tmp_path):
    make_project(tmp_path, {"app.py": "print('plain')\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^plain$")
        write(tmp_path / "app.py", "import extra\nprint('extra', extra.VALUE)\n")
        hot.err.wait_for(
            r"error in .*app\.py, line 1: ModuleNotFoundError: No module named 'extra'"
        )
        write(tmp_path / "extra.py", "VALUE = 'created'\n")
        hot.err.wait_for(r"\[hmr-ast\] __main__ recovered$")
        hot.out.wait_for("^extra created$")
        write(tmp_path / "extra.py", "VALUE = 'edited'\n")
        hot.err.wait_for(reloaded("extra.py", "extra", RERUNNING_MAIN))
        hot.out.wait_for("^extra edited$")


def test_new_module_in_a_new_package_folder_is_watched(tmp_path):
    make_project(tmp_path, {"app.py": "print('plain')\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^plain$")
        make_project(tmp_path, {"plugins/__init__.py": "", "plugins/hello.py": "NAME = 'a'\n"})
        write(tmp_path / "app.py", "import plugins.hello\nprint('plugin', plugins.hello.NAME)\n")
        hot.out.wait_for("^plugin a$")
        write(tmp_path / "plugins/hello.py", "NAME = 'b'\n")
        hot.err.wait_for(reloaded("plugins/hello.py", "plugins.hello", RERUNNING_MAIN))
        hot.out.wait_for("^plugin b$")


def test_new_and_dropped_imports_change_what_reruns(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import view\nprint('view', view.TEXT)\n",
            "view.py": "import old_source\nTEXT = old_source.VALUE\n",
            "old_source.py": "VALUE = 'old 1'\n",
            "new_source.py": "VALUE = 'new 1'\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^view old 1$")
        write(tmp_path / "view.py", "import new_source\nTEXT = new_source.VALUE\n")
        hot.err.wait_for(reloaded("view.py", "view", RERUNNING_MAIN))
        hot.out.wait_for("^view new 1$")
        # The new import is a dependency...
        write(tmp_path / "new_source.py", "VALUE = 'new 2'\n")
        hot.err.wait_for(reloaded("new_source.py", "new_source, view", RERUNNING_MAIN))
        hot.out.wait_for("^view new 2$")
        # ...and the dropped one no longer is.
        write(tmp_path / "old_source.py", "VALUE = 'old 2'\n")
        hot.err.wait_for(reloaded("old_source.py", "old_source"))
        assert not [line for line in hot.out.drain() if line.startswith("view")]
