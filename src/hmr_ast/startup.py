"""``python -X importhook ...``: the hook is active from interpreter start-up.

A ``.pth`` file installed beside the package calls ``activate`` during ``site`` start-up, but
only when ``-X importhook`` (or ``-X importhook=ROOT``) is given: every other interpreter
start pays one dictionary lookup. Until ``hmr-ast run`` knows the entry, the project is the
given ROOT or the current directory.
"""

from __future__ import annotations

import os
import sys


def activate() -> None:
    from .config import scope_for
    from .finder import install, installed

    if installed() is not None:
        return
    option = sys._xoptions.get("importhook")
    root = option if isinstance(option, str) and option else os.getcwd()
    install(scope_for([root]))
