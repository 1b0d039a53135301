"""What project statements hand to the standard library (logging handlers, atexit functions,
signal handlers, warnings filters, sys.path entries) is taken back before they run again or
go: after each edit the program equals a fresh run. Real ``hmr-ast run`` processes, real
edits; about 3 s in all."""

from __future__ import annotations

import pytest

from harness import HotProcess, everything, fresh_run, make_project, write
from streams import finish

pytestmark = pytest.mark.core

LOG_SETUP = """\
import logging
import sys

logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="root %(message)s")
log = logging.getLogger("app")
log.propagate = False
handler = logging.StreamHandler(sys.stdout)
handler.setFormatter(logging.Formatter("v1 %(message)s"))
log.addHandler(handler)
"""

LOG_APP = """\
import logging
import sys
import log_setup

for line in sys.stdin:
    logging.getLogger("app").info("app got %s", line.strip())
    logging.info("root got %s", line.strip())
    print("handlers", len(logging.getLogger("app").handlers), len(logging.root.handlers))
    print("end", flush=True)
"""


def test_an_edited_logging_setup_logs_each_line_once_as_a_fresh_run(tmp_path):
    """The formatter edited: one handler, not two; basicConfig edited: its handler and
    level are replaced, not added to."""
    make_project(tmp_path, {"log_setup.py": LOG_SETUP, "app.py": LOG_APP})
    edits = [
        LOG_SETUP,
        LOG_SETUP.replace("v1 ", "v2 "),
        LOG_SETUP.replace("v1 ", "v2 ").replace('"root ', '"base '),
    ]
    with HotProcess.run(tmp_path, "app.py", stdin=True) as hot:
        for number, source in enumerate(edits):
            if number:
                write(tmp_path / "log_setup.py", source)
                hot.err.wait_for(r"^\[hmr-ast\] reloaded log_setup\.py")
            start = len(everything(hot.out))
            hot.send(f"line{number}")
            hot.out.wait_for("^end$")
            fresh = fresh_run(tmp_path, "-B", "app.py", stdin=f"line{number}\n")
            assert everything(hot.out)[start:] == fresh.stdout.splitlines()
    assert fresh.stdout.splitlines() == [
        "v2 app got line2",
        "base root got line2",
        "handlers 1 1",
        "end",
    ]


ATEXIT_LIB = """\
import atexit

atexit.register(print, "goodbye from v1", flush=True)
"""


def test_an_edited_atexit_registration_runs_once_at_exit(tmp_path):
    make_project(tmp_path, {"lib.py": ATEXIT_LIB, "app.py": "import lib\nprint('ready')\n"})
    with HotProcess.run(tmp_path, "app.py", options=("-v",)) as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "lib.py", ATEXIT_LIB.replace("v1", "v2"))
        hot.err.wait_for(r"^\[hmr-ast\] reloaded lib\.py")
        finish(hot)
    goodbyes = [line for line in everything(hot.out) if line.startswith("goodbye")]
    assert (
        goodbyes
        == ["goodbye from v2"]
        == fresh_run(tmp_path, "-B", "app.py").stdout.splitlines()[1:]
    )


SIGNAL_LIB = """\
import signal

VERSION = 1


def on_usr1(signum, frame):
    print("usr1")


signal.signal(signal.SIGUSR1, on_usr1)
"""

SIGNAL_APP = """\
import signal
import lib

handler = signal.getsignal(signal.SIGUSR1)
print("usr1 handler", getattr(handler, "__name__", handler), "version", lib.VERSION)
"""


def test_a_removed_signal_handler_is_replaced_by_the_previous_one(tmp_path):
    """The entry has finished: the main thread applies the edit, and may set handlers."""
    make_project(tmp_path, {"lib.py": SIGNAL_LIB, "app.py": SIGNAL_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^usr1 handler on_usr1 version 1$")
        edited = SIGNAL_LIB.replace("VERSION = 1", "VERSION = 2").replace(
            "signal.signal(signal.SIGUSR1, on_usr1)", ""
        )
        write(tmp_path / "lib.py", edited)
        line = hot.out.wait_for("^.* version 2$").group(0)
    assert line == fresh_run(tmp_path, "-B", "app.py").stdout.strip()
    assert line.startswith("usr1 handler ") and "on_usr1" not in line


WARNINGS_LIB = """\
import warnings

VERSION = 1
warnings.filterwarnings("ignore", message="first")
"""

WARNINGS_APP = """\
import warnings
import lib

ours = [f[1].pattern for f in warnings.filters if f[0] == "ignore" and f[1] is not None]
print("ignored", ours, "version", lib.VERSION)
"""


def test_an_edited_warnings_filter_replaces_the_old_one(tmp_path):
    make_project(tmp_path, {"lib.py": WARNINGS_LIB, "app.py": WARNINGS_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^ignored \['first'\] version 1$")
        write(tmp_path / "lib.py", WARNINGS_LIB.replace("first", "second").replace("1", "2"))
        line = hot.out.wait_for("^.* version 2$").group(0)
    assert (
        line == fresh_run(tmp_path, "-B", "app.py").stdout.strip() == "ignored ['second'] version 2"
    )


PATH_LIB = """\
import os
import sys


class Finder:
    def find_spec(self, name, path=None, target=None):
        return None


HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "plugins_v1"))
sys.meta_path.append(Finder())
VERSION = 1
"""

PATH_APP = """\
import sys
import lib

plugins = [entry.rsplit("/", 1)[-1] for entry in sys.path if "plugins" in entry]
finders = sum(type(finder).__name__ == "Finder" for finder in sys.meta_path)
print("plugins", plugins, "finders", finders, "version", lib.VERSION)
"""


def test_edited_sys_path_and_meta_path_insertions_replace_the_old_ones(tmp_path):
    make_project(tmp_path, {"lib.py": PATH_LIB, "app.py": PATH_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^plugins \['plugins_v1'\] finders 1 version 1$")
        for version in (2, 3):
            edited = (
                PATH_LIB.replace("plugins_v1", f"plugins_v{version}")
                .replace("Finder())", f"Finder()){'  # again' * version}")
                .replace("VERSION = 1", f"VERSION = {version}")
            )
            write(tmp_path / "lib.py", edited)
            line = hot.out.wait_for(f"^.* version {version}$").group(0)
            assert line == fresh_run(tmp_path, "-B", "app.py").stdout.strip()
    assert line == "plugins ['plugins_v3'] finders 1 version 3"


FINALIZE_LIB = """\
import weakref


class Resource:
    pass


RESOURCE = Resource()
weakref.finalize(RESOURCE, print, "finalized v1", flush=True)
"""


def test_what_the_standard_library_registers_for_itself_stays(tmp_path):
    """``weakref.finalize`` registers its one ``atexit`` function the first time it is used:
    that registration is the library's, and stays when the statement that used it reruns."""
    make_project(tmp_path, {"lib.py": FINALIZE_LIB, "app.py": "import lib\nprint('ready')\n"})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^ready$")
        write(tmp_path / "lib.py", FINALIZE_LIB.replace("v1", "v2"))
        hot.err.wait_for(r"^\[hmr-ast\] reloaded lib\.py")
        finish(hot)
    assert "finalized v2" in everything(hot.out)


REGISTRIES_LIB = """\
import codecs
import copyreg
import mimetypes


class Point:
    def __init__(self, x):
        self.x = x


def reduce_point(point):
    return Point, (point.x,)


def search(name):
    return codecs.lookup("utf-8") if name == "hmrcodec" else None


copyreg.pickle(Point, reduce_point)
codecs.register(search)
mimetypes.add_type("text/x-v1", ".hmrv")
VERSION = 1
"""

REGISTRIES_APP = """\
import codecs
import copyreg
import mimetypes
import lib

try:
    codec = codecs.lookup("hmrcodec").name
except LookupError:
    codec = "missing"
print(
    "reducer", copyreg.dispatch_table.get(lib.Point) is not None, "codec", codec,
    "type", mimetypes.guess_type("a.hmrv")[0], "v1", mimetypes.guess_extension("text/x-v1"),
    "version", lib.VERSION,
)
"""


def test_removed_copyreg_codec_and_edited_mimetypes_registrations_are_gone(tmp_path):
    make_project(tmp_path, {"lib.py": REGISTRIES_LIB, "app.py": REGISTRIES_APP})
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for(r"^reducer True codec utf-8 type text/x-v1 v1 \.hmrv version 1$")
        edited = (
            REGISTRIES_LIB.replace("copyreg.pickle(Point, reduce_point)", "")
            .replace("codecs.register(search)", "")
            .replace("x-v1", "x-v2")
            .replace("VERSION = 1", "VERSION = 2")
        )
        write(tmp_path / "lib.py", edited)
        line = hot.out.wait_for("^.* version 2$").group(0)
    assert line == fresh_run(tmp_path, "-B", "app.py").stdout.strip()
    assert line == "reducer False codec missing type text/x-v2 v1 None version 2"


def test_a_program_that_deletes_sys_getframe_still_registers_and_warns(tmp_path):
    """attrs' own suite deletes ``sys._getframe`` to test its fallback, then warnings filters
    and atexit functions are registered as usual: the recorders took it at import (they
    looked it up at each call: AttributeError, and pytest's INTERNALERROR)."""
    files = {
        "app.py": (
            "import atexit, sys, warnings\n\nsaved = sys._getframe\ndel sys._getframe\n"
            "warnings.simplefilter('ignore', DeprecationWarning)\n"
            "atexit.register(print, 'bye', flush=True)\nsys._getframe = saved\n"
            "print('end', flush=True)\n"
        ),
    }
    make_project(tmp_path, files)
    assert fresh_run(tmp_path, "app.py").stdout.split() == ["end", "bye"]
    with HotProcess.run(tmp_path, "app.py") as hot:
        hot.out.wait_for("^end$")
        assert not [line for line in everything(hot.err) if "Error" in line], hot.err.seen
