"""The gateway WSGI app: `create_app()` (gunicorn: `services.gateway.app:create_app()`)."""

from __future__ import annotations

import os
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import NotFound
from werkzeug.middleware.proxy_fix import ProxyFix
from werkzeug.routing import IntegerConverter

from services.common import config
from services.common.db import make_engine
from services.gateway import errors, hooks, session_store
from services.gateway.clients import ServiceClients
from services.gateway.guards import AllocationGuards

MAX_JSON_BYTES = 1 * 1024 * 1024  # every body but claim uploads (those are streamed to storage)


class Ytcs:
    """What the views need: the gateway's own database, the RPC clients to the services, and the guards of
    commands that need both finance and investment."""

    def __init__(self, db_url: str, clients: ServiceClients) -> None:
        self.engine = make_engine(db_url)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.clients = clients
        self.guards = AllocationGuards(self.engine, config.var_dir() / "locks")


class IdConverter(IntegerConverter):
    """`<int:...>` path parts within a 64-bit id: a bigger number is simply not found (404), instead of
    overflowing a database column behind the gateway."""

    def __init__(self, map: Any, *args: Any, **kwargs: Any) -> None:  # noqa: A002 - werkzeug's signature
        kwargs.setdefault("max", 2**63 - 1)
        super().__init__(map, *args, **kwargs)

    def to_python(self, value: str) -> Any:
        """Past the bound is no record, for every method: werkzeug's own refusal (a ValidationError) skips the
        rule, and a PUT whose path a GET rule also matched by its pattern became 405 instead of 404."""
        number = int(value)  # the pattern took digits only
        if (self.min is not None and number < self.min) or (self.max is not None and number > self.max):
            raise NotFound()
        return number


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder="web/static", template_folder="web/templates")
    secret = os.environ.get("YTCS_SECRET_KEY")
    app.config.update(
        # Kept under YTCS_VAR when not given: a restart (a second `make run`) keeps people logged in.
        SECRET_KEY=secret or session_store.stored_secret_key(config.var_dir()),
        MAX_CONTENT_LENGTH=MAX_JSON_BYTES,
        MAX_FORM_MEMORY_SIZE=64 * 1024,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=os.environ.get("YTCS_SECURE_COOKIES", "0") in ("1", "true", "yes"),
        PERMANENT_SESSION_LIFETIME=timedelta(hours=int(os.environ.get("YTCS_SESSION_HOURS", "8"))),
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # Vietnamese as it is written
    app.json.sort_keys = False
    app.url_map.converters["int"] = IdConverter
    if overrides:
        app.config.update(overrides)
    app.extensions["ytcs"] = Ytcs(
        app.config.get("GATEWAY_DB_URL") or config.db_url("gateway"),
        app.config.get("CLIENTS") or ServiceClients(),
    )
    session_store.install(app)  # server-side sessions (revocable; absolute and idle lifetimes)
    hooks.install(app)
    from services.gateway.web.common import error_page

    errors.install(app, page=error_page)  # a person on a page address gets the error page, in Vietnamese

    from services.gateway.api import register_api

    register_api(app)
    from services.gateway.web import register_web

    register_web(app)  # the pages for people (docs/web.md)
    proxies = int(os.environ.get("YTCS_TRUSTED_PROXIES", "0"))
    if proxies:
        # Behind a reverse proxy, the client's address (audit, login limits) is in X-Forwarded-For; it is
        # believed only for the configured number of hops, never by default (it is trivially forged).
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]
    return app
