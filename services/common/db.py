"""One database per service: engines, sessions, and the nameko dependency that hands them to workers.

SQLite (a file under `YTCS_VAR`) by default, PostgreSQL by URL. The domain never sees this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, Engine, Integer, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

from services.common.config import whole_number

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT ids for big ledgers.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def normalise_url(url: str) -> str:
    """`postgresql://…` means psycopg2 here (eventlet is made cooperative with it by psycogreen);
    SQLAlchemy 2.1 would otherwise pick psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


def make_engine(url: str, **kwargs: Any) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30}, **kwargs)

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers go on while one writer commits; foreign keys are off by default in SQLite.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
            # 64 MiB of page cache (default 2 MiB), taken only as used: a claims file's random-key indexes
            # (card, facility + MA_LK) outgrow 2 MiB within 100,000 records (−5 % intake time, benchmarks.md §1).
            cur.execute("PRAGMA cache_size=-65536")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    # Connections an engine keeps open while idle, and how many more it opens at a peak (closed when returned):
    # every process has engines, so replicas × processes × engines × their sum is the load on max_connections.
    kwargs.setdefault("pool_size", whole_number("YTCS_DB_POOL_SIZE", 10, 1, 100))
    kwargs.setdefault("max_overflow", whole_number("YTCS_DB_MAX_OVERFLOW", 10, 0, 100))
    return create_engine(url, **kwargs)


def is_postgres(engine: Engine) -> bool:
    return engine.dialect.name == "postgresql"


def write_lock_now(session: Session) -> None:
    """SQLite: take the database's write lock at once (BEGIN IMMEDIATE) unless this session's transaction is open
    already, so that no other writer commits between a read and the write it decides, and so that a SAVEPOINT
    (which pysqlite opens no transaction before) is inside a transaction. Elsewhere nothing: PostgreSQL locks rows."""
    if session.get_bind().dialect.name != "sqlite":
        return
    dbapi = session.connection().connection.dbapi_connection
    if not dbapi.in_transaction:  # type: ignore[union-attr]
        session.execute(text("BEGIN IMMEDIATE"))


def as_utc(at: datetime) -> datetime:
    """A stored moment as an aware UTC datetime: SQLite hands back naive UTC datetimes."""
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at


@contextlib.contextmanager
def transaction(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A unit of work: everything written inside (business rows and outbox events) commits together."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
