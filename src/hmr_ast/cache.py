"""On-disk cache of instrumented code, validated by source hash (PEP 552 style).

A hit costs one file read and an unmarshal; ``transform`` (and ``ast``) are not even imported.
Any ``OSError`` means "don't cache": the cache only ever makes things faster.
"""

from __future__ import annotations

import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source
from types import CodeType

from . import __version__

#: Bump when the transform's output changes shape, so stale entries are never trusted.
FORMAT = 11
_TAG = b"hmr" + bytes([FORMAT])
_HEADER = MAGIC_NUMBER + _TAG
_HASH_SIZE = 8  # importlib.util.source_hash


def cache_path(source_path: str, variant: str = "") -> str | None:
    """Where the instrumented code of ``source_path`` is cached (``__pycache__``, tagged;
    ``variant`` names an extra AST pass, such as pytest's assertion rewriting)."""
    try:
        standard = cache_from_source(source_path)
    except (NotImplementedError, ValueError):
        return None
    variant = f"-{variant}" if variant else ""
    return f"{standard[: -len('.pyc')]}.hmr-ast-{__version__}{variant}.pyc"


def _read(source_path: str, variant: str = "") -> bytes | None:
    path = cache_path(source_path, variant)
    if path is None:
        return None
    try:
        with open(path, "rb") as file:
            return file.read()
    except OSError:
        return None


class _Meta(dict):
    """A cached module's facts. Its statement facts (``static``), needed only when it is
    edited or by ``hmr-ast impact``, stay marshalled until first used: a warm start
    unmarshals about half as much (``store`` writes them as bytes)."""

    __slots__ = ()

    def __getitem__(self, key):
        value = dict.__getitem__(self, key)
        if type(value) is bytes and key == "static":
            value = marshal.loads(value)
            dict.__setitem__(self, key, value)
        return value

    def get(self, key, default=None):
        return self[key] if key in self else default


def _meta(raw: dict) -> dict:
    return _Meta(raw) if type(raw.get("static")) is bytes else raw


def load(source_path: str, source_hash: bytes, variant: str = "") -> tuple[CodeType, dict] | None:
    data = _read(source_path, variant)
    if data is None:
        return None
    header_size = len(_HEADER) + len(source_hash)
    if data[: len(_HEADER)] != _HEADER or data[len(_HEADER) : header_size] != source_hash:
        return None
    try:
        code, meta = marshal.loads(data[header_size:])
    except (EOFError, ValueError, TypeError):
        return None
    if code is None:  # facts only, of a version a statement-level rerun ran
        return None
    return code, _meta(meta)


def load_any(source_path: str) -> tuple[bytes, CodeType, dict] | None:
    """Whatever version is cached (the one hmr-ast last ran), with its source hash."""
    data = _read(source_path)
    if data is None or data[: len(_HEADER)] != _HEADER:
        return None
    header_size = len(_HEADER) + _HASH_SIZE
    try:
        code, meta = marshal.loads(data[header_size:])
    except (EOFError, ValueError, TypeError):
        return None
    return data[len(_HEADER) : header_size], code, _meta(meta)


def store(
    source_path: str, source_hash: bytes, code: CodeType | None, meta: dict, variant: str = ""
) -> None:
    """Cache ``code`` and ``meta`` for this source. ``code`` None stores the facts alone:
    the version that ran, for ``hmr-ast impact`` to compare with; an import instruments it."""
    if sys.dont_write_bytecode:
        return
    path = cache_path(source_path, variant)
    if path is None:
        return
    static = meta.get("static")
    if static is not None and type(static) is not bytes:
        meta = {**meta, "static": marshal.dumps(static)}
    data = _HEADER + source_hash + marshal.dumps((code, meta))
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_atomically(path, data)
    except OSError:
        pass


def write_atomically(path: str, data: bytes) -> None:
    """Write ``data`` whole or not at all: a reader (another process) never sees half of
    it; the temporary file is removed when the write fails."""
    temporary = f"{path}.{os.getpid()}.tmp"
    try:
        with open(temporary, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except OSError:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
