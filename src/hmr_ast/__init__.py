"""hmr-ast: hot module reload for Python that reruns exactly what an edit affects.

PYTEST_DONT_REWRITE: pytest marks the packages of every installed pytest plugin (hmr-ast has
one) for assertion rewriting, and warns when one is already imported, as hmr_ast is under
``hmr-ast pytest`` and ``hmr-ast run -m pytest``; these words tell pytest to leave it alone.
"""

from __future__ import annotations

__version__ = "0.1.0"

#: The lifecycle API (``hmr_ast/lifecycle.py``), imported on first use by the module
#: ``__getattr__`` below, so that ``import hmr_ast`` stays cheap.
_LIFECYCLE = (
    "after_reload",
    "before_reload",
    "cache_across_reloads",
    "data",
    "is_active",
    "keep",
    "on_dispose",
    "post_reload",
    "pre_reload",
    "restart_on_change",
)

__all__ = ("__version__", "load_ipython_extension", "unload_ipython_extension", *_LIFECYCLE)

TYPE_CHECKING = False  # not typing's: a plain start-up does not import typing
if TYPE_CHECKING:
    from .lifecycle import *  # noqa: F403 - for type checkers: lifecycle's __all__


def __getattr__(name: str) -> object:
    if name in _LIFECYCLE:
        from . import lifecycle

        return getattr(lifecycle, name)
    raise AttributeError(f"module 'hmr_ast' has no attribute {name!r}")


def load_ipython_extension(shell) -> None:
    """``%load_ext hmr_ast`` (or ``c.InteractiveShellApp.extensions = ["hmr_ast"]``): hot
    reload for this IPython shell or Jupyter kernel. Imported here only when IPython asks,
    so ``import hmr_ast`` stays cheap."""
    from .integrations.ipython import load_ipython_extension as load

    load(shell)


def unload_ipython_extension(shell) -> None:
    """``%unload_ext hmr_ast``: stop watching; modules keep their current code."""
    from .integrations.ipython import unload_ipython_extension as unload

    unload(shell)
