"""What a batch of edits means to a running Django project (``hmr-ast django runserver``).

Applied in place: views, ``urls.py`` (the URL resolver caches are cleared after each batch,
so the next request resolves with the new ``urlpatterns``), forms, serializers, template
tags and filters (template loaders are reset), middleware code (the handler's middleware
chain is built again), admin registrations.

Not applied: settings, models, migrations and ``apps.py``. Django builds its app registry
once, at start-up (``django.setup()``); an edit to one of those restarts the process, as
runserver's own reloader would, and says which file forced it and why.
"""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import Iterable
from typing import Any

from django.apps import apps
from django.conf import settings

from ..errors import display_path


def restart_reason(modules: Iterable[str]) -> str | None:
    """Why an edit to ``modules`` must restart the process, or None."""
    reasons = []
    for name in sorted(modules):
        why = _why_restart(name)
        if why is not None:
            module = sys.modules.get(name)
            where = getattr(module, "__file__", None) or name
            reasons.append(f"{display_path(where)} changed: {why}")
    return "; ".join(reasons) or None


def _why_restart(name: str) -> str | None:
    settings_module = getattr(settings, "SETTINGS_MODULE", None) or ""
    if name == settings_module or name.startswith(settings_module + "."):
        return "Django reads its settings once, at start-up"
    for config in apps.get_app_configs():
        base = config.name
        if name == f"{base}.models" or name.startswith(f"{base}.models."):
            return "Django's app registry (models) is built once, at start-up"
        if name == f"{base}.migrations" or name.startswith(f"{base}.migrations."):
            return "migrations are loaded and checked at start-up"
        config_module = type(config).__module__
        if name == f"{base}.apps" or (name == config_module and not name.startswith("django.")):
            return "Django's app registry (AppConfig) is built once, at start-up"
    return None


def refresh_django(handler: Any, admin: AdminRegistrations) -> list[str]:
    """After a batch that reran project code: what Django caches at start-up or first use,
    made again from the code as it is now. Returns what was done, for ``-v``."""
    from django.urls import clear_url_caches

    sites = admin.sites() if admin.changed() else {}
    count = fresh_url_resolvers(sites)
    clear_url_caches()
    done = [f"URL resolvers cleared ({count} nested made again)"]
    if sites:
        done.append("admin URLs built from its registry")
    if _reset_template_loaders():
        done.append("template loaders reset")
    rebuilt = 0
    for inner in _handlers(handler):
        inner.load_middleware()
        rebuilt += 1
    if rebuilt:
        done.append("middleware chain built again")
    return done


def _handlers(handler: Any) -> list[Any]:
    """The handler and the one it wraps (runserver's ``StaticFilesHandler``)."""
    from django.core.handlers.base import BaseHandler

    found = []
    while isinstance(handler, BaseHandler) and handler not in found:
        found.append(handler)
        handler = getattr(handler, "application", None)
    return found


def _reset_template_loaders() -> bool:
    try:
        from django.template.autoreload import reset_loaders
    except ImportError:  # Django before 3.2
        return False
    reset_loaders()
    return True


def technical_500(error: BaseException) -> Any:
    """A WSGI app answering every request with Django's technical 500 page for ``error``
    (a broken edit), as runserver would show an exception raised by a view."""
    from django.core.handlers.wsgi import WSGIRequest
    from django.views.debug import technical_500_response

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        request = WSGIRequest(environ)
        response = technical_500_response(request, type(error), error, error.__traceback__)
        status = f"{response.status_code} {response.reason_phrase}"
        start_response(status, list(response.items()))
        return [response.content]

    return app


class TemplateWatcher:
    """Template files are not Python: the engine does not reload them. Django's cached
    template loader (on by default, DEBUG too, since 4.1) would keep serving the old text,
    so a thread polls the template directories and resets the loaders on a change, as
    runserver's reloader does."""

    def __init__(self, on_change: Any, interval: float = 0.25) -> None:
        self.on_change = on_change
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hmr-ast-templates", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        seen = _snapshot()
        while not self._stop.wait(self.interval):
            now = _snapshot()
            if now != seen:
                seen = now
                _reset_template_loaders()
                self.on_change()


def _snapshot() -> dict[str, float]:
    try:
        from django.template.autoreload import get_template_directories
    except ImportError:  # Django before 3.2
        return {}
    stamps: dict[str, float] = {}
    for directory in get_template_directories():
        for root, _dirs, files in os.walk(directory):
            for name in files:
                path = os.path.join(root, name)
                try:
                    stamps[path] = os.stat(path).st_mtime_ns
                except OSError:
                    pass
    return stamps


class AdminRegistrations:
    """``admin.site.register`` refuses a model registered already, and the admin's URLs
    are built once, when ``urls.py`` reads ``admin.site.urls``. So each registration made
    by a project statement is tied to that statement (undone before it runs again or goes,
    as a fresh run would never have made it), and after a batch that changed a site's
    registry the admin's URL patterns are built again from it."""

    def __init__(self) -> None:
        self._seen: dict[int, dict[Any, int]] = {}

    def install(self) -> None:
        """Wrap ``AdminSite.register`` (once settings are configured, before the admin's
        ``autodiscover`` imports the project's admin modules)."""
        from django.contrib.admin.sites import AdminSite
        from django.db.models.base import ModelBase

        from .. import disposal

        register = AdminSite.register
        if getattr(register, "_hmr_ast", False):
            return

        def register_for_a_statement(
            site: Any, model_or_iterable: Any, admin_class: Any = None, **options: Any
        ) -> None:
            register(site, model_or_iterable, admin_class, **options)
            models = (
                [model_or_iterable]
                if isinstance(model_or_iterable, ModelBase)
                else list(model_or_iterable)
            )
            admins = {model: site._registry.get(model) for model in models}

            def unregister() -> None:
                for model, admin in admins.items():
                    if site._registry.get(model) is admin:
                        site.unregister(model)

            names = ", ".join(model.__name__ for model in models)
            disposal.register_here(unregister, f"{site.name}.register({names})", sys._getframe(1))

        register_for_a_statement._hmr_ast = True  # type: ignore[attr-defined]
        AdminSite.register = register_for_a_statement  # type: ignore[method-assign]
        self.changed()

    def changed(self) -> bool:
        """Did any admin site's registry change since the last call?"""
        from django.contrib.admin.sites import all_sites

        now = {id(site): {m: id(a) for m, a in site._registry.items()} for site in all_sites}
        changed, self._seen = now != self._seen, now
        return changed

    def sites(self) -> dict[str, Any]:
        from django.contrib.admin.sites import all_sites

        return {site.name: site for site in all_sites}


def fresh_url_resolvers(admin_sites: dict[str, Any]) -> int:
    """Replace every URL resolver nested in the URLconf (``include()``, ``admin.site.urls``)
    with a fresh one, without caches: ``clear_url_caches`` makes only the root resolver
    again, and each nested one keeps the patterns it read first. An admin site in
    ``admin_sites`` gets URL patterns built from its registry as it is now. Returns how many
    were replaced."""
    from django.conf import settings
    from django.urls import URLResolver

    replaced = 0
    pending: list[Any] = [sys.modules.get(settings.ROOT_URLCONF)]
    visited: set[int] = set()
    while pending:
        conf = pending.pop()
        if isinstance(conf, str):
            conf = sys.modules.get(conf)
        patterns = getattr(conf, "urlpatterns", conf)
        if not isinstance(patterns, list) or id(patterns) in visited:
            continue
        visited.add(id(patterns))
        for index, pattern in enumerate(patterns):
            if not isinstance(pattern, URLResolver):
                continue
            urlconf = pattern.urlconf_name
            site = admin_sites.get(pattern.namespace) if pattern.app_name == "admin" else None
            if site is not None:
                urlconf = site.get_urls()
            patterns[index] = URLResolver(
                pattern.pattern,
                urlconf,
                pattern.default_kwargs,
                app_name=pattern.app_name,
                namespace=pattern.namespace,
            )
            replaced += 1
            pending.append(urlconf)
    return replaced
