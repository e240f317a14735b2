"""The gateway WSGI app: `create_app()` (gunicorn: `services.gateway.app:create_app()`)."""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session, sessionmaker

from services.common import config
from services.common.db import make_engine
from services.gateway import errors, hooks
from services.gateway.clients import ServiceClients

MAX_JSON_BYTES = 1 * 1024 * 1024  # every body but claim uploads (those are streamed to storage)


class Ytcs:
    """What the views need: the gateway's own database and the RPC clients to the services."""

    def __init__(self, db_url: str, clients: ServiceClients) -> None:
        self.engine = make_engine(db_url)
        self.session: sessionmaker[Session] = sessionmaker(self.engine, expire_on_commit=False)
        self.clients = clients


def create_app(overrides: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, static_folder="web/static", template_folder="web/templates")
    secret = os.environ.get("YTCS_SECRET_KEY")
    app.config.update(
        SECRET_KEY=secret or secrets.token_hex(32),
        MAX_CONTENT_LENGTH=MAX_JSON_BYTES,
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        PERMANENT_SESSION_LIFETIME=timedelta(hours=8),
        JSON_SORT_KEYS=False,
    )
    app.json.ensure_ascii = False  # Vietnamese as it is written
    app.json.sort_keys = False
    if overrides:
        app.config.update(overrides)
    app.extensions["ytcs"] = Ytcs(
        app.config.get("GATEWAY_DB_URL") or config.db_url("gateway"),
        app.config.get("CLIENTS") or ServiceClients(),
    )
    hooks.install(app)
    errors.install(app)

    from services.gateway.api import register_api

    register_api(app)
    return app
