"""One database per service: engines, sessions, and the nameko dependency that hands them to workers.

SQLite (a file under `YTCS_VAR`) by default, PostgreSQL by URL. The domain never sees this module.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import BigInteger, DateTime, Dialect, Engine, Integer, Numeric, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.types import TypeDecorator, TypeEngine

from services.common.config import whole_number

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL wants BIGINT ids for big ledgers.
BigId = BigInteger().with_variant(Integer(), "sqlite")


_ONE = Decimal(1)
NOT_FLOAT = "số tiền không dùng số thực"  # never a float into an exact column: a float here is a bug upstream


class _Units(Numeric):  # type: ignore[type-arg]
    """SQLite's side of `ExactNumeric`: declared NUMERIC(p, s) as before, the value passed as the integer it is
    (Numeric's own processors would turn it into a float on the way in and parse a float on the way out)."""

    def bind_processor(self, dialect: Dialect) -> None:
        return None

    def result_processor(self, dialect: Dialect, coltype: object) -> None:
        return None


class ExactNumeric(TypeDecorator[Decimal]):
    """NUMERIC(precision, scale) that stays exact on SQLite too.

    SQLite has no decimal type: it keeps a NUMERIC column's fractions as binary floating point, and SQLAlchemy's
    Numeric passes them through float on the way in. There the value is kept as a whole number of the scale's
    units instead (cents for scale 2: 123.45 is 12345; a NUMERIC column keeps an integer as an integer), rounded
    half up as PostgreSQL rounds into NUMERIC(·, scale), and read back as that Decimal. PostgreSQL keeps NUMERIC as
    it is. A sum of such a column in SQL is therefore in units on SQLite (`services.claims.models.cents`)."""

    impl = Numeric
    cache_ok = True

    def __init__(self, precision: int, scale: int) -> None:
        super().__init__(precision, scale)
        self.precision, self.scale = precision, scale
        self._factor = 10**scale

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return _Units(self.precision, self.scale)
        return dialect.type_descriptor(self.impl_instance)

    def to_units(self, value: Decimal | int | None) -> int | None:
        """SQLite's stored form of a value: its whole units of the last place, rounded half up past it."""
        if value is None:
            return None
        if value.__class__ is float:
            raise TypeError(NOT_FLOAT)
        num, den = value.as_integer_ratio()  # exact, and the cheapest exact route (a row has ~45 of them)
        num *= self._factor
        if num % den:  # more places than the column keeps
            return int(Decimal(value).scaleb(self.scale).quantize(_ONE, rounding=ROUND_HALF_UP))
        return num // den

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return self.to_units(value)
        if value.__class__ is float:
            raise TypeError(NOT_FLOAT)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None or dialect.name != "sqlite":
            return value
        return Decimal(int(value)).scaleb(-self.scale)


def normalise_url(url: str) -> str:
    """`postgresql://…` means psycopg2 here (eventlet is made cooperative with it by psycogreen);
    SQLAlchemy 2.1 would otherwise pick psycopg 3."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg2://" + url[len(prefix) :]
    return url


class Instant(TypeDecorator[datetime]):
    """A moment (TIMESTAMP WITH TIME ZONE), handed back as an aware UTC datetime on every engine.

    PostgreSQL's timestamptz keeps the instant itself. SQLite keeps only the wall-clock text, so there the moment is
    written as its UTC wall clock (an aware moment of another zone would otherwise be stored as its own local time)
    and read back as UTC; a naive moment is taken to be UTC, as every stored one is (`outbox.utcnow`). PostgreSQL's
    answer is moved to UTC too, whatever the server's time zone. Without this an answer said "2024-07-15T02:30:00"
    on SQLite and "2024-07-15T02:30:00+00:00" (or +07:00) on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or dialect.name != "sqlite" or value.tzinfo is None:
            return value
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        # PostgreSQL answers in the session's TimeZone setting (a server set to Asia/Ho_Chi_Minh: +07:00).
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


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
