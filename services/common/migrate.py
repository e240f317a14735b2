"""Alembic, one migration history per service (each service owns its schema).

`ytcs migrate` calls `upgrade(service)` for every service; each service's `migrations/env.py` calls
`run_env(metadata)`. SQLite runs in batch mode so ALTERs work there too.
"""

from __future__ import annotations

from importlib import resources

from alembic import command, context
from alembic.config import Config
from sqlalchemy import MetaData

from services.common.config import db_url
from services.common.db import make_engine

DB_SERVICES = ("finance", "claims", "investment", "gateway")


def alembic_config(service: str, url: str | None = None) -> Config:
    cfg = Config()
    location = resources.files(f"services.{service}").joinpath("migrations")
    cfg.set_main_option("script_location", str(location))
    cfg.set_main_option("sqlalchemy.url", (url or db_url(service)).replace("%", "%%"))
    cfg.attributes["service"] = service
    return cfg


def upgrade(service: str, url: str | None = None) -> None:
    command.upgrade(alembic_config(service, url), "head")


def run_env(metadata: MetaData) -> None:
    """The body of every service's migrations/env.py."""
    url = context.config.get_main_option("sqlalchemy.url")
    engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()
