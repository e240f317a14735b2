"""Investment's database for a test, SQLite or PostgreSQL (`any_db_url`), built by the service's migrations with
the station register loaded as `ytcs migrate` loads it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.investment.register_loader import sync_register


@pytest.fixture
def db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    upgrade("investment", any_db_url)
    engine = make_engine(any_db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        sync_register(s)
    yield factory
    engine.dispose()
