"""Investment's database for a test, SQLite or PostgreSQL (`any_db_url`), built by the service's migrations with
the station register loaded as `ytcs migrate` loads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.investment.register_loader import sync_register
from tests.support.services import migrated


@pytest.fixture
def db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    with migrated("investment", any_db_url, sync_register) as factory:
        yield factory
