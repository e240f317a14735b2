"""Each service's migrations build exactly the schema its models declare, on SQLite and PostgreSQL,
and the reference-data loaders are idempotent."""

from __future__ import annotations

import importlib

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine, transaction
from services.common.migrate import DB_SERVICES, upgrade

BASES = {
    "finance": "FinanceBase",
    "claims": "ClaimsBase",
    "investment": "InvestmentBase",
    "gateway": "GatewayBase",
}


@pytest.mark.parametrize("service", DB_SERVICES)
def test_migrations_match_models(service, any_db_url):
    upgrade(service, any_db_url)
    upgrade(service, any_db_url)  # a second run changes nothing
    metadata = getattr(importlib.import_module(f"services.{service}.models"), BASES[service]).metadata
    engine = make_engine(any_db_url)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": True}), metadata)
    engine.dispose()
    assert diff == []


def test_reference_loaders_are_idempotent(db_url_factory):
    from services.finance.catalog_loader import sync_catalog
    from services.finance.models import Plan, PlanItem
    from services.investment.models import Station
    from services.investment.register_loader import sync_register

    fin_engine, inv_engine = make_engine(db_url_factory("finance")), make_engine(db_url_factory("investment"))
    upgrade("finance", str(fin_engine.url.render_as_string(hide_password=False)))
    upgrade("investment", str(inv_engine.url.render_as_string(hide_password=False)))
    fin, inv = sessionmaker(fin_engine), sessionmaker(inv_engine)
    for _ in range(2):
        with transaction(fin) as s:
            sync_catalog(s)
        with transaction(inv) as s:
            sync_register(s)
    with fin() as s:
        assert s.scalar(select(func.count()).select_from(Plan)) == 2
        assert s.scalar(select(func.count()).select_from(PlanItem)) == 55
        district = s.get(Plan, 2)
        assert (district.number, district.unit, district.parent_id) == ("34/KH-UBND", "910", 1)
    with inv() as s:
        # One row per commune version: the 145 of 2019, the one the interim list of 01/01/2025 made (30742 enlarged),
        # and the 48 units of 01/7/2025 (docs/domain.md §7).
        assert s.scalar(select(func.count()).select_from(Station)) == 145 + 1 + 48
    fin_engine.dispose()
    inv_engine.dispose()
