"""Import-time code that changes an object another module made: who owns what it adds to.

``@app.get("/")`` in ``api.py`` adds a route to the ``app`` that ``app.py`` made;
``registry.HANDLERS.append(f)``, ``@register`` (a function of ``registry`` that appends to
its ``HANDLERS``), ``A = ids.next_id()`` (a function that rebinds a global of ``ids``) and
``class A(Plugin)`` (whose ``__init_subclass__`` or metaclass records it) all contribute to
something made elsewhere. Run such a statement again and its contribution is there twice;
remove it and its old contribution stays. A fresh run has each once, in import order.

So before a contributor runs again (or is removed), the statement that made the object (its
*owner*) runs again first; every other contributor to it then runs again too, in the order
of a fresh run. This module answers the two questions that needs, from the statement facts
(``static``: what a statement changes in place, calls, and its bases) and the live objects:
which owners a statement contributes to (``targets``), and which modules hold contributors
to owners made again (``contributors``). Owners are name nodes, ``module:NAME``.

Reads stay reads: ``y = model.predict(x)`` uses its result and contributes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from types import FunctionType, ModuleType

from . import runtime, static
from .namespace import ENTRY
from .summaries import node

_MISSING = object()
#: Values nothing can change in place: a statement "modifying" one rebinds its own name.
_IMMUTABLE = (int, float, complex, str, bytes, bool, tuple, frozenset, type(None))
#: Methods that set a state rather than add to one: calling them again on the same object
#: leaves it as one call did, so ``model.eval()`` or ``net.to(device)`` in the entry never
#: makes the model (seconds to load) again. Anything else called for its effect is taken
#: to add (``append``, ``register``, ``connect``, ``include_router``, ...).
IDEMPOTENT = frozenset(
    {
        "eval",
        "train",
        "to",
        "cuda",
        "cpu",
        "half",
        "float",
        "double",
        "requires_grad_",
        "share_memory",
        "setLevel",
        "seed",
        "manual_seed",
    }
)

Reach = Callable[[str], Iterable[str]]


class Owners:
    """Per-batch memory of where objects were made (object identity -> owner node)."""

    def __init__(self) -> None:
        self.made_again: dict[str, object] = {}  # owner node -> the object it held before
        self._remade_ids: dict[int, str] = {}
        self._origins: dict[int, str | None] = {}
        self._makers: dict[str, frozenset[str]] = {}

    def remember(self, owner: str, value: object) -> None:
        """``owner`` is about to be made again; ``value`` is what it held."""
        self.made_again[owner] = value
        if not isinstance(value, _IMMUTABLE):
            self._remade_ids[id(value)] = owner

    def makers(self, module: str) -> frozenset[str]:
        """Names that a statement of ``module`` binds to an object it makes (not imports)."""
        known = self._makers.get(module)
        if known is None:
            record = runtime.records.get(module)
            units = ((record.meta.get("static") or {}).get("units", ())) if record else ()
            known = frozenset(
                name
                for unit in units
                if not unit[static.IMPORT]
                for name in unit[static.BINDS]
                if name not in unit[static.MODIFIES]
            )
            self._makers[module] = known
        return known

    def origin(self, value: object, near: Iterable[str]) -> str | None:
        """The owner node of an object: the module that made it and the name it has there
        (modules in ``near`` are looked at first: those the reader imports from)."""
        if id(value) in self._remade_ids:
            return self._remade_ids[id(value)]
        if id(value) in self._origins:
            return self._origins[id(value)]
        found = None
        near = list(dict.fromkeys(near))
        for module in [*near, *(m for m in list(runtime.records) if m not in near)]:
            record = runtime.records.get(module)
            namespace = record.namespace if record is not None else None
            if not namespace or module == ENTRY:
                continue
            for name, held in list(namespace.items()):
                if held is value and name in self.makers(module):
                    found = node(module, name)
                    break
            if found is not None:
                break
        self._origins[id(value)] = found
        return found


def modified_roots(unit: tuple, namespace: dict) -> list[str]:
    """Names whose objects the statement changes in place: what ``static`` saw (calls for
    their effect, decorators, stores into attributes and items), and, for a class whose
    creation project code observes, the name here of the class that observes it."""
    roots = [root for root in unit[static.MODIFIES] if not sets_state_only(unit, root)]
    for observer in observers(unit, namespace):
        roots += [name for name, value in list(namespace.items()) if value is observer]
    return roots


def observers(unit: tuple, namespace: dict) -> list[type]:
    """The project classes that record a class the statement makes: the metaclass of a
    base, or the class that defines the ``__init_subclass__`` a base inherits (its
    registry lives there: ``Registry.classes``, ``Plugin.registry``)."""
    found = []
    for chain in unit[static.BASES]:
        base = namespace.get(chain[0], _MISSING)
        for attribute in chain[1:]:
            base = getattr(base, attribute, _MISSING)
        if not isinstance(base, type):
            continue
        if type(base) is not type and _in_project(type(base)):
            found.append(type(base))
        found += [
            klass
            for klass in base.__mro__[:-1]
            if "__init_subclass__" in vars(klass) and _in_project(klass)
        ][:1]
    return found


def sets_state_only(unit: tuple, root: str) -> bool:
    """Whether the statement changes ``root`` only by calling methods that set a state
    (``IDEMPOTENT``): ``model.eval()``, ``net.to(device)``."""
    calls = [chain for chain in unit[static.CALLS] if chain[0] == root and len(chain) > 1]
    return bool(calls) and all(chain[-1] in IDEMPOTENT for chain in calls)


def _observer_targets(observer: type, reach: Reach, owners: Owners, near) -> set[str]:
    """What recording a class changes: the registries its hook (a metaclass's ``__new__``
    or ``__init__``, an ``__init_subclass__``) adds to through project functions or mutable
    globals (marshmallow's ``SchemaMeta`` calls ``class_registry.register``), else the
    observing class itself, whose attribute holds them (``Plugin.registry``)."""
    from .summaries import function_reads

    hooks = []
    for name in ("__new__", "__init__", "__init_subclass__"):
        hook = vars(observer).get(name)
        hook = getattr(hook, "__func__", hook)  # __init_subclass__ is a classmethod
        if type(hook) is FunctionType:
            hooks.append(hook)
    found: set[str] = set()
    for hook in hooks:
        reads: set[str] = set()
        function_reads(hook, reads)
        for target in reads:
            module, _, name = target.partition(":")
            record = runtime.records.get(module)
            value = (
                record.namespace.get(name, _MISSING) if record and record.namespace else _MISSING
            )
            if type(value) is FunctionType:
                found |= _function_targets(value, reach, owners)
            elif not isinstance(value, (type, ModuleType, *_IMMUTABLE)) and value is not _MISSING:
                if name in owners.makers(module):
                    found.add(target)
    if not found:
        origin = owners.origin(observer, near)
        if origin is not None:
            found.add(origin)
    return found


def _in_project(obj: object) -> bool:
    return getattr(obj, "__module__", None) in runtime.records


def targets(
    module: str,
    namespace: dict,
    unit: tuple,
    reach: Reach,
    owners: Owners,
    near: Iterable[str] = (),
) -> set[str]:
    """Owner nodes in *other* modules that statement ``unit`` of ``module`` adds to."""
    if not (unit[static.MODIFIES] or unit[static.BASES] or unit[static.CALLS]):
        return set()  # most statements: it changes nothing in place and calls nothing
    found: set[str] = set()
    own = owners.makers(module)
    for root in modified_roots(unit, namespace):
        if root in own:
            continue  # made here: the module's own statement rerun handles it
        value = namespace.get(root, _MISSING)
        if value is _MISSING or isinstance(value, _IMMUTABLE):
            continue
        if isinstance(value, ModuleType):
            if runtime.project_module_name(value) is None:
                continue
            for chain in (*unit[static.READS], *unit[static.CALLS]):
                if chain[0] == root and len(chain) > 1:
                    found |= _chain_targets(chain, value, reach, owners)
            continue
        if type(value) is FunctionType:
            found |= _function_targets(value, reach, owners)
            continue
        origin = owners.origin(value, near)
        if origin is not None:
            found.add(origin)
    for observer in observers(unit, namespace):  # ``class A(Plugin)``, made elsewhere
        found |= _observer_targets(observer, reach, owners, near)
    # ``A = ids.next_id()``: a call whose result is used, to a function that rebinds a global.
    for chain in unit[static.CALLS]:
        value = namespace.get(chain[0], _MISSING)
        if isinstance(value, ModuleType) and len(chain) > 1:
            for attribute in chain[1:]:
                if not isinstance(value, ModuleType):
                    break
                value = vars(value).get(attribute, _MISSING)
        if type(value) is FunctionType and value.__globals__ is not namespace:
            found |= _function_targets(value, reach, owners, rebinds_only=True)
    return {target for target in found if not target.startswith(module + ":")}


def _chain_targets(chain: tuple[str, ...], value: object, reach: Reach, owners: Owners) -> set:
    """``registry.HANDLERS.append(f)``, ``@registry.register``: follow the chain through
    project modules to the object it changes, or the function that changes things."""
    where = None
    for attribute in chain[1:]:
        target = runtime.project_module_name(value)
        if target is None:
            break
        where = node(target, attribute)
        value = vars(value).get(attribute, _MISSING)  # type: ignore[arg-type]
    if where is None or value is _MISSING or isinstance(value, (type, ModuleType)):
        return set()
    if type(value) is FunctionType:
        return _function_targets(value, reach, owners)
    if isinstance(value, _IMMUTABLE):
        return set()
    return {where}


def _function_targets(
    function: FunctionType, reach: Reach, owners: Owners, rebinds_only: bool = False
) -> set[str]:
    """What a project function of another module may change there when called: the mutable
    globals of its module it reaches (``HANDLERS.append``), and those it rebinds."""
    home = function.__globals__.get("__name__")
    record = runtime.records.get(home) if isinstance(home, str) else None
    if record is None or record.namespace is not function.__globals__ or home == ENTRY:
        return set()
    namespace = record.namespace
    name = function.__name__
    if namespace.get(name) is not function:
        name = next((k for k, v in list(namespace.items()) if v is function), None)
        if name is None:
            return set()
    rebound = record.meta.get("global_stores") or frozenset()
    if rebinds_only and not rebound:
        return set()
    prefix = home + ":"
    found = set()
    for target in reach(node(home, name)):
        if not target.startswith(prefix):
            continue
        global_name = target[len(prefix) :]
        if global_name in rebound:
            found.add(target)
            continue
        if rebinds_only:
            continue
        value = namespace.get(global_name, _MISSING)
        if value is _MISSING or isinstance(value, (FunctionType, type, ModuleType, *_IMMUTABLE)):
            continue
        if global_name in owners.makers(home):
            found.add(target)
    return found


def module_targets(
    record: runtime.ModuleRecord, reach: Reach, owners: Owners, reading: set[str] | None = None
) -> set[str]:
    """``targets`` of every statement of ``record``'s module: what it adds to when it runs
    again as a whole. With ``reading``, of the statements reading one of those names only:
    where a function patched in place was added (``registry.HANDLERS.append(hello)``)."""
    namespace = record.namespace
    if namespace is None:
        return set()
    near = {module for module, _name in list(record.attr_lines)}
    found: set[str] = set()
    for unit in (record.meta.get("static") or {}).get("units", ()):
        if reading is None or any(chain[0] in reading for chain in unit[static.READS]):
            found |= targets(record.name, namespace, unit, reach, owners, near)
    return found


def contributors(made_again: set[str], reach: Reach, owners: Owners) -> set[str]:
    """Modules with a statement that adds to an owner in ``made_again`` (its objects, as
    they were before, are known to ``owners``)."""
    found = set()
    owner_modules = {target.partition(":")[0] for target in made_again}
    for name, record in list(runtime.records.items()):
        namespace = record.namespace
        if namespace is None or name in found:
            continue
        units = (record.meta.get("static") or {}).get("units", ())
        for unit in units:
            if targets(name, namespace, unit, reach, owners, owner_modules) & made_again:
                found.add(name)
                break
    return found
