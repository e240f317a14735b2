"""Shared fixtures. Integration and e2e tests run against the real RabbitMQ, SQLite and PostgreSQL."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.support.infra import Stack, pg_available, pg_database, rabbit_vhost

os.environ.setdefault("YTCS_QUORUM_QUEUES", "1")


@pytest.fixture(scope="session")
def postgres_ok() -> bool:
    return pg_available()


@pytest.fixture(params=["sqlite", "postgres"])
def any_db_url(request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool) -> Iterator[str]:
    """The same test on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'test.db'}"
        return
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with pg_database() as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def db_url_factory(request: pytest.FixtureRequest, tmp_path: Path, postgres_ok: bool) -> Iterator[Callable[[str], str]]:
    """Fresh databases on demand (one per service, as in production), on SQLite and on PostgreSQL."""
    if request.param == "postgres" and not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with contextlib.ExitStack() as stack:

        def make(name: str) -> str:
            if request.param == "sqlite":
                return f"sqlite:///{tmp_path / (name + '.db')}"
            return stack.enter_context(pg_database(f"ytcs_{name}"))

        yield make


@pytest.fixture(scope="session")
def amqp_uri() -> Iterator[str]:
    with rabbit_vhost() as uri:
        yield uri


@pytest.fixture(scope="session")
def stack(tmp_path_factory: pytest.TempPathFactory, amqp_uri: str) -> Iterator[Stack]:
    """The whole system (`ytcs run`) on SQLite, started once for the e2e tests."""
    s = Stack(tmp_path_factory.mktemp("stack"), amqp_uri)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="session")
def pg_stack(tmp_path_factory: pytest.TempPathFactory, postgres_ok: bool) -> Iterator[Stack]:
    """The whole system on PostgreSQL (one database per service), on a vhost of its own."""
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with (
        rabbit_vhost() as uri,
        pg_database("ytcs_fin") as fin,
        pg_database("ytcs_clm") as clm,
        pg_database("ytcs_inv") as inv,
        pg_database("ytcs_gw") as gw,
    ):
        s = Stack(
            tmp_path_factory.mktemp("pgstack"),
            uri,
            {"finance": fin, "claims": clm, "investment": inv, "gateway": gw},
        )
        s.start()
        yield s
        s.stop()
