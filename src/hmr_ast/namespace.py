"""A module's namespace across a rerun: begun, rolled back, or settled.

The new code executes in the module's existing namespace, so other threads never see a name
go missing. Settling then keeps every function or class that came out the same as before
(references held elsewhere stay valid), deletes the names this run did not bind (a fresh
import would lack them) and says which names really changed. Rolling back restores the
namespace exactly as it was.
"""

from __future__ import annotations

import sys

from . import runtime
from .changes import adopt_new_code, same_annotations, same_value

ENTRY = "__main__"
#: Set by the import system; a rerun never deletes them.
PROTECTED = frozenset(
    {
        "__name__",
        "__doc__",
        "__package__",
        "__loader__",
        "__spec__",
        "__file__",
        "__cached__",
        "__builtins__",
        "__path__",
    }
)
_MISSING = object()
_BINDS = 2  # static.BINDS, without importing static


def begin(record: runtime.ModuleRecord, code: object, meta: dict, digest: bytes) -> tuple:
    """Prepare ``record``'s namespace for a run of ``code``; return what undoes it."""
    namespace = record.namespace
    assert namespace is not None
    old = dict(namespace)
    saved = record.snapshot()
    record.begin_run()
    record.meta, record.source_hash, record.code = meta, digest, code
    if record.name == ENTRY:  # a fresh ``python app.py`` starts from an empty __main__
        for key in [k for k in namespace if k not in PROTECTED]:
            del namespace[key]
    else:
        _forget_unbound(record, meta)
    namespace["__doc__"] = None
    namespace.pop("__annotations__", None)
    if record.name == ENTRY:
        namespace["__annotations__"] = {}  # as python gives __main__
    return old, saved


def _forget_unbound(record: runtime.ModuleRecord, meta: dict) -> None:
    """Remove the names no statement of the new code binds, before it runs: reading one
    must fail as in a fresh import (``NameError``), not find the old value. Names the new
    code may bind stay meanwhile (other threads keep seeing them), and so does everything
    when the code binds names no statement shows (``globals()``, ``from x import *``)."""
    facts = meta.get("static")
    namespace = record.namespace
    if not facts or meta.get("dynamic") or namespace is None:
        return
    bound = {name for unit in facts["units"] for name in unit[_BINDS]}
    if "*" in bound:
        return
    bound |= meta.get("global_stores", frozenset())
    submodule = f"{record.name}."
    for key in [k for k in namespace if k not in PROTECTED and k not in bound]:
        if namespace[key] is not sys.modules.get(submodule + key):  # set by the import system
            del namespace[key]


def rollback(record: runtime.ModuleRecord, undo: tuple) -> None:
    """Put the namespace and the record back exactly as ``begin`` found them."""
    old, saved = undo
    namespace = record.namespace
    assert namespace is not None
    namespace.update(old)
    for key in [k for k in namespace if k not in old]:
        del namespace[key]
    record.restore(saved)


def settle(record: runtime.ModuleRecord, old: dict) -> set[str]:
    """Keep unchanged functions/classes, drop names this run did not bind, diff."""
    namespace = record.namespace
    assert namespace is not None
    meta = record.meta
    changed: set[str] = set()
    for key, new in list(namespace.items()):
        previous = old.get(key, _MISSING)
        if previous is new or key in PROTECTED:
            continue
        if previous is not _MISSING and (
            same_value(previous, new)
            or (key == "__all__" and _same_exports(previous, new))
            or (key == "__annotations__" and same_annotations(previous, new))
        ):
            adopt_new_code(previous, new)
            namespace[key] = previous
        else:
            changed.add(key)
    keep_unbound = meta.get("dynamic") or record.name == ENTRY
    submodule = f"{record.name}."
    spared = meta.get("refs", frozenset()) | meta.get("global_stores", frozenset())
    for key, previous in old.items():
        if key in PROTECTED:
            continue
        current = namespace.get(key, _MISSING)
        if current is _MISSING:
            changed.add(key)
        elif (
            current is previous
            and key not in record.written
            and key not in spared
            and not keep_unbound
            and current is not sys.modules.get(submodule + key)  # set by the import system
        ):
            del namespace[key]  # bound by the old code only: a fresh import lacks it
            changed.add(key)
    return changed


def _same_exports(old: object, new: object) -> bool:
    """``__all__`` lists with the same names export the same names."""
    return (
        isinstance(old, (list, tuple))
        and isinstance(new, (list, tuple))
        and list(old) == list(new)
        and all(isinstance(name, str) for name in new)
    )
