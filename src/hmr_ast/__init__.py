"""hmr-ast: hot module reload for Python that reruns exactly what an edit affects."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ("__version__",)
