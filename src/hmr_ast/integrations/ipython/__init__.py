"""``%load_ext hmr_ast``: dependency-correct hot reload in IPython and Jupyter kernels.

``load_ipython_extension`` (called through ``hmr_ast.load_ipython_extension``) starts a
``NotebookSession`` for the shell and registers the ``%hmr_ast`` magic; loading it again
replaces the session. The project is the working directory, changed by ``[tool.hmr-ast]`` in
pyproject.toml and by ``%hmr_ast scope --include/--exclude``. IPython itself is imported only
here, when IPython loads the extension: the package's other modules do without it.
"""

from __future__ import annotations

import os

_sessions: dict[int, object] = {}  # id(shell) -> its NotebookSession


def load_ipython_extension(shell) -> None:
    from ...config import scope_for
    from .magics import HmrAstMagics
    from .notebook_session import NotebookSession

    unload_ipython_extension(shell)
    session = NotebookSession(shell, scope_for([os.getcwd()]))
    session.start()
    _sessions[id(shell)] = session
    shell.register_magics(HmrAstMagics(shell, session))


def unload_ipython_extension(shell) -> None:
    session = _sessions.pop(id(shell), None)
    if session is not None:
        session.stop()  # type: ignore[attr-defined]


def session_of(shell):
    """The running ``NotebookSession`` of ``shell``, or None if the extension is not loaded."""
    return _sessions.get(id(shell))
