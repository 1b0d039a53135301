"""On-disk cache of instrumented code, validated by source hash (PEP 552 style).

A hit costs one file read and an unmarshal; ``transform`` (and ``ast``) are not even imported.
Any ``OSError`` means "don't cache": the cache only ever makes things faster.

Each entry also records the source file's state when it was read: inode, size, and the
modification and change times in nanoseconds. While the file's state is still that, the
source is not even read (``load_unchanged``: a warm start reads one file per module, as plain
python does). Any write changes the change time, which no tool can set back (an edit made
with the same size and ``os.utime`` to the old modification time is seen); the state is taken
before the source is read, so an edit during the read leaves a mismatch, never a stale entry.
Where the state does not match, the hash decides, as before, and the state is stamped anew.
"""

from __future__ import annotations

import marshal
import os
import sys
from importlib.util import MAGIC_NUMBER, cache_from_source
from types import CodeType

from . import __version__

#: Bump when the transform's output changes shape, so stale entries are never trusted.
FORMAT = 13
_TAG = b"hmr" + bytes([FORMAT])
_HEADER = MAGIC_NUMBER + _TAG
_HASH_SIZE = 8  # importlib.util.source_hash
_STATE_SIZE = 32  # source_state
UNKNOWN = bytes(_STATE_SIZE)  # no state recorded: the hash decides
_BODY = len(_HEADER) + _HASH_SIZE + _STATE_SIZE


def source_state(source_path: str) -> bytes:
    """The source file's inode, size, modification and change times (ns); UNKNOWN if unseen."""
    try:
        st = os.stat(source_path)
    except OSError:
        return UNKNOWN
    return b"".join(
        value.to_bytes(8, "little", signed=True)
        for value in (st.st_ino & 0x7FFF_FFFF_FFFF_FFFF, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    )


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


def load(
    source_path: str, source_hash: bytes, variant: str = "", state: bytes = UNKNOWN
) -> tuple[CodeType, dict] | None:
    """The entry for this source hash; a hit whose recorded state is not ``state`` is
    stamped with it, so the next start need not read the source."""
    data = _read(source_path, variant)
    if data is None or len(data) < _BODY:
        return None
    header_size = len(_HEADER) + len(source_hash)
    if data[: len(_HEADER)] != _HEADER or data[len(_HEADER) : header_size] != source_hash:
        return None
    hit = _unmarshal(data)
    if hit is not None and state != UNKNOWN and data[header_size:_BODY] != state:
        _write(source_path, variant, data[:header_size] + state + data[_BODY:])
    return hit


def load_unchanged(
    source_path: str, variant: str = ""
) -> tuple[CodeType, dict, bytes, bytes] | None:
    """``(code, meta, source hash, state)`` if the source file is as it was when this entry
    was made (its state, see the module docstring), without reading it; else None."""
    data = _read(source_path, variant)
    if data is None or len(data) < _BODY or data[: len(_HEADER)] != _HEADER:
        return None
    recorded = data[_BODY - _STATE_SIZE : _BODY]
    if recorded == UNKNOWN or recorded != source_state(source_path):
        return None
    hit = _unmarshal(data)
    if hit is None:
        return None
    return hit[0], hit[1], data[len(_HEADER) : len(_HEADER) + _HASH_SIZE], recorded


def mtime_and_size(state: bytes) -> tuple[int, int] | None:
    """``runtime.file_state``'s ``(mtime_ns, size)`` from a ``source_state``."""
    if state == UNKNOWN:
        return None
    return (
        int.from_bytes(state[16:24], "little", signed=True),
        int.from_bytes(state[8:16], "little", signed=True),
    )


def _unmarshal(data: bytes) -> tuple[CodeType, dict] | None:
    try:
        code, meta = marshal.loads(data[_BODY:])
    except (EOFError, ValueError, TypeError):
        return None
    if code is None:  # facts only, of a version a statement-level rerun ran
        return None
    return code, _meta(meta)


def load_any(source_path: str) -> tuple[bytes, CodeType, dict] | None:
    """Whatever version is cached (the one hmr-ast last ran), with its source hash."""
    data = _read(source_path)
    if data is None or len(data) < _BODY or data[: len(_HEADER)] != _HEADER:
        return None
    try:
        code, meta = marshal.loads(data[_BODY:])
    except (EOFError, ValueError, TypeError):
        return None
    return data[len(_HEADER) : len(_HEADER) + _HASH_SIZE], code, _meta(meta)


def store(
    source_path: str,
    source_hash: bytes,
    code: CodeType | None,
    meta: dict,
    variant: str = "",
    state: bytes = UNKNOWN,
) -> None:
    """Cache ``code`` and ``meta`` for this source. ``code`` None stores the facts alone:
    the version that ran, for ``hmr-ast impact`` to compare with; an import instruments it.
    ``state``: the source's ``source_state`` taken before it was read, if known."""
    static = meta.get("static")
    if static is not None and type(static) is not bytes:
        meta = {**meta, "static": marshal.dumps(static)}
    _write(source_path, variant, _HEADER + source_hash + state + marshal.dumps((code, meta)))


def _write(source_path: str, variant: str, data: bytes) -> None:
    if sys.dont_write_bytecode:
        return
    path = cache_path(source_path, variant)
    if path is None:
        return
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
