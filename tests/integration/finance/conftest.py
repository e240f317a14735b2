from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.finance.catalog_loader import sync_catalog


@pytest.fixture
def finance_db(any_db_url: str) -> Iterator[sessionmaker[Session]]:
    """A finance database built by its migrations, with the plan catalog loaded (SQLite and PostgreSQL)."""
    upgrade("finance", any_db_url)
    engine = make_engine(any_db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        sync_catalog(s)
    yield factory
    engine.dispose()
