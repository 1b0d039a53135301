"""A broken edit never breaks the running program: the previous module stays until fixed."""

from __future__ import annotations

import re

import pytest

from harness import RERUNNING_MAIN, HotProcess, everything, make_project, reloaded, write


def error_block(stream, first: str) -> list[str]:
    """The error report that starts with a line matching ``first``, up to 'kept the previous'."""
    lines = [stream.wait_for(first).string]
    while "kept the previous" not in lines[-1]:
        lines.append(stream.wait_for("").string)
    return lines


def wait_for_entry(hot, match) -> None:
    """After a reload line: if it restarted a looping entry, wait until it is ready again."""
    if match["entry"] and "restarting" in match["entry"]:
        hot.out.wait_for("^ready$")


#: A running entry either keeps its loop (it re-reads module.NAME) or restarts: both are fine.
ENTRY_MAY_RESTART = "(?P<entry>, (restarting|rerunning) __main__)?"

LOOPING_ENTRY = (
    "import sys\n"
    "import prices, report\n"
    "print('ready')\n"
    "for line in sys.stdin:\n"
    "    print('values', prices.PRICE, report.TEXT)\n"
)
#: Its print reads TEXT: a statement-level rerun runs it again whenever TEXT is computed again.
REPORT = "import prices\nTEXT = f'price={prices.PRICE}'\nprint('loading report' if TEXT else '')\n"


@pytest.mark.core
def test_syntax_error_keeps_previous_module_until_fixed(tmp_path):
    make_project(
        tmp_path,
        {"app.py": LOOPING_ENTRY, "report.py": REPORT, "prices.py": "PRICE = 1\n"},
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "prices.py", "PRICE = 1\n\nPRICE = (2\n")
        block = error_block(hot.err, r"\[hmr-ast\] error in .*prices\.py, line 3: SyntaxError: ")
        assert block[-1] == (
            "[hmr-ast] kept the previous prices; modules that use it were not rerun"
        )
        assert not [line for line in block if "hmr_ast" in line or "importlib" in line]
        hot.send("after the error")
        hot.out.wait_for("^values 1 price=1$")
        assert everything(hot.out).count("loading report") == 1

        write(tmp_path / "prices.py", "PRICE = 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] prices recovered$")
        match = hot.err.wait_for(reloaded("prices.py", "prices, report", ENTRY_MAY_RESTART))
        hot.out.wait_for("^loading report$")
        wait_for_entry(hot, match)
        hot.send("after the fix")
        hot.out.wait_for("^values 2 price=2$")


def test_syntax_error_report_shows_only_the_users_file(tmp_path):
    make_project(
        tmp_path,
        {"app.py": "import prices\nprint('price', prices.PRICE)\n", "prices.py": "PRICE = 1\n"},
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^price 1$")
        write(tmp_path / "prices.py", "PRICE = 1\nif PRICE\n    PRICE = 2\n")
        block = error_block(hot.err, r"error in .*prices\.py, line 2: SyntaxError: ")
        # No frames of hmr-ast or of the standard library's parser: only the user's file.
        frames = [line for line in block if line.lstrip().startswith("File ")]
        assert all("prices.py" in frame for frame in frames), block
        assert any("if PRICE" in line for line in block), block


BROKEN_AT_IMPORT = (
    '"""Prices, version two."""\n'
    "PRICE = 10\n"
    "NEW_NAME = 'only in the broken version'\n"
    "def helper():\n"
    "    return 'new helper'\n"
    "raise RuntimeError('prices are broken')\n"
)


@pytest.mark.core
def test_exception_at_import_time_restores_the_exact_previous_namespace(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import sys\n"
                "import prices, report\n"
                "helper = prices.helper\n"
                "before = sorted(vars(prices))\n"
                "print('ready')\n"
                "for line in sys.stdin:\n"
                "    print('values', prices.PRICE, report.TEXT, prices.helper(), prices.__doc__)\n"
                "    print('same helper', prices.helper is helper)\n"
                "    print('same names', sorted(vars(prices)) == before)\n"
                "    print('new name', hasattr(prices, 'NEW_NAME'))\n"
            ),
            "report.py": REPORT,
            "prices.py": (
                '"""Prices, version one."""\nPRICE = 1\ndef helper():\n    return "old helper"\n'
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "prices.py", BROKEN_AT_IMPORT)
        block = error_block(
            hot.err, r"\[hmr-ast\] error in .*prices\.py, line 6: RuntimeError: prices are broken$"
        )
        assert block[1] == "Traceback (most recent call last):"
        assert [line for line in block if line.lstrip().startswith("File ")] == [
            f'  File "{tmp_path / "prices.py"}", line 6, in <module>'
        ]
        assert block[-1] == (
            "[hmr-ast] kept the previous prices; modules that use it were not rerun"
        )
        hot.send("check")
        hot.out.wait_for("^values 1 price=1 old helper Prices, version one.$")
        hot.out.wait_for("^same helper True$")
        hot.out.wait_for("^same names True$")
        hot.out.wait_for("^new name False$")
        assert everything(hot.out).count("loading report") == 1

        write(tmp_path / "prices.py", BROKEN_AT_IMPORT.replace("raise", "# raise"))
        hot.err.wait_for(r"^\[hmr-ast\] prices recovered$")
        # The entry bound prices.helper before its loop: it must start over.
        hot.err.wait_for(reloaded("prices.py", "prices, report", ", restarting __main__"))
        hot.out.wait_for("^ready$")
        hot.send("check")
        hot.out.wait_for("^values 10 price=10 new helper Prices, version two.$")


def test_exception_in_a_function_called_at_import_time_shows_both_frames(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": "import prices\nprint('price', prices.PRICE)\n",
            "prices.py": "import parse\nPRICE = parse.number('1')\n",
            "parse.py": "def number(text):\n    return int(text)\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^price 1$")
        write(tmp_path / "prices.py", "import parse\n\nPRICE = parse.number('one')\n")
        block = error_block(hot.err, r"error in .*parse\.py, line 2: ValueError: invalid literal")
        frames = [line.strip() for line in block if line.lstrip().startswith("File ")]
        assert frames == [
            f'File "{tmp_path / "prices.py"}", line 3, in <module>',
            f'File "{tmp_path / "parse.py"}", line 2, in number',
        ]


@pytest.mark.core
def test_deleted_module_is_kept_and_recovers_when_the_file_returns(tmp_path):
    make_project(
        tmp_path, {"app.py": LOOPING_ENTRY, "report.py": REPORT, "prices.py": "PRICE = 1\n"}
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        (tmp_path / "prices.py").unlink()
        hot.err.wait_for(r"^\[hmr-ast\] .*prices\.py was deleted; keeping the previous prices$")
        hot.send("while deleted")
        hot.out.wait_for("^values 1 price=1$")
        write(tmp_path / "prices.py", "PRICE = 3\n")
        hot.err.wait_for(r"^\[hmr-ast\] prices recovered$")
        match = hot.err.wait_for(reloaded("prices.py", "prices, report", ENTRY_MAY_RESTART))
        wait_for_entry(hot, match)
        hot.send("after it returned")
        hot.out.wait_for("^values 3 price=3$")
        assert everything(hot.out).count("loading report") == 2


BROKEN_ENTRY = "import prices\nprint('price', prices.PRICE)\nraise RuntimeError('entry broke')\n"


@pytest.mark.core
def test_entry_that_raises_on_its_first_run_keeps_watching_and_reruns_when_fixed(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": BROKEN_ENTRY,
            "prices.py": "PRICE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^price 1$")
        hot.err.wait_for("^Traceback")
        hot.err.wait_for(rf'^  File "{tmp_path / "app.py"}", line 3, in <module>$')
        hot.err.wait_for("^RuntimeError: entry broke$")
        hot.err.wait_for(r"^\[hmr-ast\] __main__ raised; watching for changes$")
        assert not [line for line in everything(hot.err) if "hmr_ast" in line]
        write(tmp_path / "app.py", "import prices\nprint('fixed', prices.PRICE)\n")
        hot.err.wait_for(r"^\[hmr-ast\] reloaded app.py: rerunning __main__$")
        hot.err.wait_for(r"^\[hmr-ast\] __main__ recovered$")
        hot.out.wait_for("^fixed 1$")
        write(tmp_path / "prices.py", "PRICE = 2\n")
        hot.err.wait_for(reloaded("prices.py", "prices", RERUNNING_MAIN))
        hot.out.wait_for("^fixed 2$")


def test_entry_that_raised_is_not_rerun_until_something_changes(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": BROKEN_ENTRY,
            "prices.py": "PRICE = 1\n",
        },
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.err.wait_for(r"^\[hmr-ast\] __main__ raised; watching for changes$")
        write(tmp_path / "prices.py", "PRICE = 2\n")
        # The first edit after the failure: only now is the entry tried again.
        line = hot.err.wait_for(r"\[hmr-ast\] reloaded ").string
        assert re.search(reloaded("prices.py", "prices", RERUNNING_MAIN), line), line
        hot.out.wait_for("^price 2$")
        assert everything(hot.out).count("price 1") == 1
        assert not [line for line in everything(hot.err) if "reloaded app.py" in line]


def test_entry_with_a_syntax_error_on_its_first_run_runs_once_fixed(tmp_path):
    make_project(tmp_path, {"app.py": "print('hello'\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.err.wait_for("SyntaxError")
        hot.err.wait_for(r"^\[hmr-ast\] could not run .*app\.py; watching for changes$")
        write(tmp_path / "app.py", "print('hello')\n")
        hot.out.wait_for("^hello$")


def test_entry_that_breaks_on_a_rerun_keeps_watching_and_recovers(tmp_path):
    make_project(
        tmp_path,
        {"app.py": "import prices\nprint('price', prices.PRICE)\n", "prices.py": "PRICE = 1\n"},
    )
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^price 1$")
        write(tmp_path / "app.py", "import prices\nprint('price', prices.PRICE / 0)\n")
        error_block(hot.err, r"error in .*app\.py, line 2: ZeroDivisionError: division by zero$")
        # A dependency changes while the entry is broken: the entry is retried, still broken.
        write(tmp_path / "prices.py", "PRICE = 2\n")
        error_block(hot.err, r"error in .*app\.py, line 2: ZeroDivisionError: division by zero$")
        write(tmp_path / "app.py", "import prices\nprint('price', prices.PRICE)\n")
        hot.err.wait_for(r"^\[hmr-ast\] __main__ recovered$")
        hot.out.wait_for("^price 2$")


@pytest.mark.core
def test_circular_imports_with_deferred_reads_reload(tmp_path):
    make_project(
        tmp_path,
        {
            "app.py": (
                "import first\n"
                "print('first sees', first.second_value(),"
                " 'second sees', first.second.first_value(), 'scaled', first.SCALED)\n"
            ),
            "first.py": (
                "import second\n"
                "VALUE = 1\n"
                "SCALED = second.scale(VALUE)\n"
                "def second_value():\n"
                "    return second.VALUE\n"
            ),
            "second.py": (
                "import first\n"
                "VALUE = 2\n"
                "FACTOR = 10\n"
                "def scale(number):\n"
                "    return number * FACTOR\n"
                "def first_value():\n"
                "    return first.VALUE\n"
            ),
        },
    )
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^first sees 2 second sees 1 scaled 10$")
        write(
            tmp_path / "second.py",
            "import first\n"
            "VALUE = 3\n"
            "FACTOR = 100\n"
            "def scale(number):\n"
            "    return number * FACTOR\n"
            "def first_value():\n"
            "    return first.VALUE\n",
        )
        hot.err.wait_for(reloaded("second.py", "second, first", RERUNNING_MAIN))
        hot.out.wait_for("^first sees 3 second sees 1 scaled 100$")
        write(
            tmp_path / "first.py",
            "import second\n"
            "VALUE = 4\n"
            "SCALED = second.scale(VALUE)\n"
            "def second_value():\n"
            "    return second.VALUE\n",
        )
        hot.err.wait_for(reloaded("first.py", "first", RERUNNING_MAIN))
        hot.out.wait_for("^first sees 3 second sees 4 scaled 400$")


@pytest.mark.core
def test_a_rerun_reading_a_name_its_new_code_no_longer_binds_fails_as_a_fresh_import(tmp_path):
    """Renaming ``X`` but not a use of it: a fresh import raises NameError, so must the
    rerun, not quietly read the old ``X`` (a renamed web app would get routes added to the
    old, live object). Removing the stale use recovers."""
    make_project(
        tmp_path,
        {"app.py": LOOPING_ENTRY, "report.py": REPORT, "prices.py": "PRICE = 1\n"},
    )
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "prices.py", "COST = 2\nDOUBLE = PRICE * 2\n")
        block = error_block(hot.err, r"\[hmr-ast\] error in .*prices\.py, line 2: NameError: ")
        assert "name 'PRICE' is not defined" in block[0]
        hot.send("after the error")
        hot.out.wait_for("^values 1 price=1$")

        write(tmp_path / "prices.py", "PRICE = 3\nDOUBLE = PRICE * 2\n")
        hot.err.wait_for(r"^\[hmr-ast\] prices recovered$")
        match = hot.err.wait_for(reloaded("prices.py", "prices, report", ENTRY_MAY_RESTART))
        wait_for_entry(hot, match)
        hot.send("after the fix")
        hot.out.wait_for("^values 3 price=3$")
