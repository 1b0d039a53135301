"""hmr-ast: hot module reload for Python that reruns exactly what an edit affects.

PYTEST_DONT_REWRITE: pytest marks the packages of every installed pytest plugin (hmr-ast has
one) for assertion rewriting, and warns when one is already imported, as hmr_ast is under
``hmr-ast pytest`` and ``hmr-ast run -m pytest``; these words tell pytest to leave it alone.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ("__version__",)
