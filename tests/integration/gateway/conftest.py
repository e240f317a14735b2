"""The gateway app in-process (Flask test client) on its own database (SQLite and PostgreSQL), calling
stand-in services over the real RabbitMQ on a vhost of its own."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine
from services.common.migrate import upgrade
from services.gateway import accounts
from services.gateway.app import create_app
from services.gateway.clients import ServiceClients
from tests.support.infra import rabbit_vhost


@pytest.fixture(scope="module")
def gw_amqp() -> Iterator[str]:
    with rabbit_vhost() as uri:
        yield uri


class Gateway:
    def __init__(self, app: Flask, db: sessionmaker[Session], amqp_uri: str) -> None:
        self.app = app
        self.db = db
        self.amqp_uri = amqp_uri
        self.client: FlaskClient = app.test_client()

    def token(self, role: str, unit: str | None = None, name: str | None = None) -> str:
        with self.db() as s:
            token = accounts.create_token(s, name or f"{role}-{unit or 'all'}", role, unit)
            s.commit()
        return token

    def headers(self, role: str, unit: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, unit)}", **extra}

    def user(self, username: str, password: str, role: str, unit: str | None = None) -> None:
        with self.db() as s:
            accounts.create_user(s, username, password, role, unit)
            s.commit()


def login_token(client: FlaskClient) -> str:
    """The CSRF token the login page gives this client (POST /login checks it), as a browser would read it."""
    page = client.get("/login", headers={"Accept": "text/html"}).get_data(as_text=True)
    return page.split('name="csrf_token" value="', 1)[1].split('"', 1)[0]


def make_gateway(db_url: str, amqp_uri: str, extra: Any = None) -> Gateway:
    upgrade("gateway", db_url)
    app = create_app(
        {"GATEWAY_DB_URL": db_url, "CLIENTS": ServiceClients(amqp_uri=amqp_uri, timeout=5), "TESTING": True}
    )
    if extra is not None:
        extra(app)
    return Gateway(app, sessionmaker(make_engine(db_url), expire_on_commit=False), amqp_uri)


@pytest.fixture
def gw(any_db_url: str, gw_amqp: str) -> Iterator[Gateway]:
    gateway = make_gateway(any_db_url, gw_amqp)
    yield gateway
    gateway.app.extensions["ytcs"].engine.dispose()
    gateway.db.kw["bind"].dispose()
