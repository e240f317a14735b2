"""The write side's access to the claims database: `ClaimsRepository(session)`.

Every SELECT, INSERT and UPDATE the commands and the intake pipeline make lives here: files and their lease,
batches of claims, assessments, the facility-quarter totals (upserts of increments, in key order), and the
projections of finance's and investment's events. Nothing here commits: the unit of work does
(services/claims/unit_of_work.py). The read side has its own queries (services/claims/views.py).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Dialect,
    Table,
    case,
    exists,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session

from services.claims.domain.assessment import AcceptedClaim
from services.claims.domain.totals import FIELDS, Deltas, Key
from services.claims.models import (
    Assessment,
    AssessmentBatch,
    CapitationAdvance,
    CapitationFund,
    Claim,
    ClaimFile,
    ClaimFormatNote,
    ClaimIssue,
    ClaimLine,
    ClaimTable,
    CommuneStation,
    FacilityQuarterTotal,
    FileChunk,
    cents,
)
from services.common.db import ExactNumeric, write_lock_now
from services.common.money import CENT
from services.common.outbox import utcnow

CHUNK = 500  # keys per IN (...) list


def _chunks(keys: list[Any]) -> Iterable[list[Any]]:
    for start in range(0, len(keys), CHUNK):
        yield keys[start : start + CHUNK]


class ClaimsRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- files --------------------------------------------------------------------------------------

    def file(self, file_id: int) -> ClaimFile | None:
        return self.session.get(ClaimFile, file_id)

    def file_by_sha256(self, sha256: str) -> ClaimFile | None:
        return self.session.scalar(select(ClaimFile).where(ClaimFile.sha256 == sha256))

    def add_file(self, row: ClaimFile) -> bool:
        """Insert a new file row; False when the same bytes were registered by another request at that moment."""
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return False
        return True

    def stalled_files(self, now: datetime, grace: timedelta, limit: int) -> list[int]:
        """Files still processing that nobody is getting on with: not yet planned and their worker gone (lease
        expired) or never picked up within `grace`; planned, with a chunk whose worker is gone or that nobody took
        within `grace` (its message lost), or with every chunk done but the file not finished."""
        c = FileChunk
        unplanned = ClaimFile.total.is_(None) & or_(
            ClaimFile.lease_until < now,
            ClaimFile.lease_owner.is_(None) & (ClaimFile.uploaded_at < now - grace),
        )
        abandoned = exists().where(
            c.file_id == ClaimFile.id,
            c.status == "pending",
            or_(c.lease_until < now, c.lease_owner.is_(None) & (c.created_at < now - grace)),
        )
        unfinished = ~exists().where(c.file_id == ClaimFile.id, c.status == "pending") & or_(
            ClaimFile.lease_owner.is_(None), ClaimFile.lease_until < now
        )
        planned = ClaimFile.total.is_not(None) & or_(abandoned, unfinished)
        return list(
            self.session.scalars(
                select(ClaimFile.id)
                .where(ClaimFile.status == "processing", or_(unplanned, planned))
                .order_by(ClaimFile.id)
                .limit(limit)
            )
        )

    def file_for_update(self, file_id: int) -> ClaimFile | None:
        """The file row under its row lock (PostgreSQL) or the database's write lock taken before the read (SQLite:
        pysqlite opens no transaction before the first write, so each later read would see other writers' commits
        and a file's sums could be read half before, half after another chunk's last batch)."""
        write_lock_now(self.session)
        return self.session.scalar(
            select(ClaimFile).where(ClaimFile.id == file_id).with_for_update().execution_options(populate_existing=True)
        )

    def add_to_file(self, file_id: int, **increments: int) -> None:
        """Add to the file row's counters (`accepted=3, ...`): an UPDATE of `x = x + n`, never a lost increment."""
        self.session.execute(
            update(ClaimFile)
            .where(ClaimFile.id == file_id)
            .values({getattr(ClaimFile, k): getattr(ClaimFile, k) + v for k, v in increments.items()})
            .execution_options(synchronize_session=False)
        )

    # --- chunks of a file ---------------------------------------------------------------------------

    def add_chunks(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(FileChunk.__table__), rows)

    def chunk(self, file_id: int, chunk_no: int) -> FileChunk | None:
        return self.session.get(FileChunk, (file_id, chunk_no), populate_existing=True)

    def chunk_for_update(self, file_id: int, chunk_no: int) -> FileChunk | None:
        """The chunk row, locked as `file_for_update` locks the file's."""
        write_lock_now(self.session)
        return self.session.scalar(
            select(FileChunk)
            .where(FileChunk.file_id == file_id, FileChunk.chunk_no == chunk_no)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    def free_chunks(self, file_id: int, now: datetime) -> list[int]:
        """Chunk numbers of a file that are pending and nobody holds (or whose holder's lease expired)."""
        c = FileChunk
        return list(
            self.session.scalars(
                select(c.chunk_no)
                .where(
                    c.file_id == file_id,
                    c.status == "pending",
                    or_(c.lease_owner.is_(None), c.lease_until < now),
                )
                .order_by(c.chunk_no)
            )
        )

    def take_chunk(self, file_id: int, chunk_no: int, owner: str, now: datetime, until: datetime) -> bool:
        """Lease a pending chunk nobody holds (or whose lease expired), counting the attempt: a conditional
        UPDATE, so of two replicas given the same chunk one wins."""
        c = FileChunk
        res = self.session.execute(
            update(c)
            .where(
                c.file_id == file_id,
                c.chunk_no == chunk_no,
                c.status == "pending",
                or_(c.lease_owner.is_(None), c.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=until, attempts=c.attempts + 1)
            .execution_options(synchronize_session=False)  # the row is read again before it is used
        )
        return res.rowcount > 0

    def release_chunk(self, file_id: int, chunk_no: int, owner: str) -> None:
        c = FileChunk
        self.session.execute(
            update(c)
            .where(c.file_id == file_id, c.chunk_no == chunk_no, c.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
            .execution_options(synchronize_session=False)
        )

    def chunks_pending(self, file_id: int) -> int:
        return int(
            self.session.scalar(
                select(func.count()).select_from(FileChunk).where(
                    FileChunk.file_id == file_id, FileChunk.status == "pending"
                )
            )
            or 0
        )

    def chunk_sums(self, file_id: int) -> tuple[int, int, int, int]:
        """(chunks, Σ accepted, Σ rejected, Σ records) of a file's chunks."""
        c = FileChunk
        row = self.session.execute(
            select(func.count(), func.sum(c.accepted), func.sum(c.rejected), func.sum(c.end - c.first)).where(
                c.file_id == file_id
            )
        ).one()
        return tuple(int(v or 0) for v in row)  # type: ignore[return-value]

    def take_lease(self, file_id: int, owner: str, now: datetime, until: datetime) -> bool:
        """Lease a processing file nobody holds (or whose lease expired): a conditional UPDATE, atomic on SQLite
        and PostgreSQL, so two workers never both win. Counts the attempt."""
        res = self.session.execute(
            update(ClaimFile)
            .where(
                ClaimFile.id == file_id,
                ClaimFile.status == "processing",
                or_(ClaimFile.lease_owner.is_(None), ClaimFile.lease_until < now),
            )
            .values(lease_owner=owner, lease_until=until, attempts=ClaimFile.attempts + 1)
        )
        return res.rowcount > 0

    def renew_lease(self, file_id: int, owner: str, until: datetime, **values: Any) -> bool:
        """Extend our lease with other changes of the file row; False when the lease is no longer ours."""
        res = self.session.execute(
            update(ClaimFile)
            .where(ClaimFile.id == file_id, ClaimFile.lease_owner == owner, ClaimFile.status == "processing")
            .values(**{"lease_until": until, **values})  # finishing a file clears the lease: values win
        )
        return res.rowcount > 0

    def release_lease(self, file_id: int, owner: str) -> None:
        self.session.execute(
            update(ClaimFile)
            .where(ClaimFile.id == file_id, ClaimFile.lease_owner == owner)
            .values(lease_owner=None, lease_until=None)
        )

    def mark_failed(self, f: ClaimFile, code: str, issue: dict[str, Any]) -> None:
        """The whole file refused (or impossible to process): status `failed`, its issue stored."""
        f.status, f.phase, f.error_code = "failed", "finished", code[:40]
        f.finished_at = utcnow()
        f.lease_owner = f.lease_until = None
        self.session.add(ClaimIssue(**issue))

    def failed_blobs(self, before: datetime) -> list[str]:
        """Blob names of files refused whole before `before`."""
        return list(
            self.session.scalars(
                select(ClaimFile.blob_name).where(ClaimFile.status == "failed", ClaimFile.finished_at < before)
            )
        )

    def blobs_in_use(self, names: list[str]) -> set[str]:
        """Those of `names` that a file row points to."""
        found: set[str] = set()
        for chunk in _chunks(names):
            found.update(self.session.scalars(select(ClaimFile.blob_name).where(ClaimFile.blob_name.in_(chunk))))
        return found

    # --- a batch of claims --------------------------------------------------------------------------

    def accepted_among(self, facility: str, ma_lks: Iterable[str]) -> set[str]:
        """Those MA_LK already accepted for the facility (a second one is a duplicate)."""
        found: set[str] = set()
        for chunk in _chunks(sorted(ma_lks)):
            found.update(
                self.session.scalars(
                    select(Claim.ma_lk).where(
                        Claim.status == "accepted", Claim.facility_code == facility, Claim.ma_lk.in_(chunk)
                    )
                )
            )
        return found

    def driver_form(self) -> DriverForm:
        """How this session's driver takes the values of the intake's rows (the row builders convert once)."""
        return driver_form(self.session.get_bind().dialect)

    def insert_claims(self, file_id: int, columns: Columns, rows: list[Row]) -> list[int]:
        """Insert claim rows of one file (tuples in `columns` order, in the driver's form; consecutive record
        indexes) and return their ids in row order.

        The ids are matched by record_index ((file_id, record_index) is unique), never by position: PostgreSQL
        returns them from the INSERT itself (RETURNING, whose order is not promised); SQLite reads them back
        (its executemany gives no ids, and RETURNING in parameter order makes it insert one row per statement)."""
        at = columns.index("record_index")
        table = Claim.__table__
        if self.session.get_bind().dialect.name == "postgresql":
            by_index = dict(insert_rows(self.session, table, columns, rows, returning=("record_index", "id")))
        else:
            insert_rows(self.session, table, columns, rows)
            by_index = dict(
                _driver_call(
                    self.session,
                    "SELECT record_index, id FROM claims WHERE file_id = ? AND record_index BETWEEN ? AND ?",
                    lambda cur, sql: cur.execute(sql, (file_id, rows[0][at], rows[-1][at])).fetchall(),
                )
            )
        return [by_index[r[at]] for r in rows]

    def insert_details(self, *batches: tuple[Table, Columns, list[Row]]) -> None:
        """A batch's claim lines (XML2/3), other tables (XML4..15) and issues: (table, columns, rows) each."""
        for table, columns, rows in batches:
            if rows:
                insert_rows(self.session, table, columns, rows)

    def insert_format_notes(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(ClaimFormatNote.__table__), rows)

    def insert_issues(self, rows: list[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(ClaimIssue.__table__), rows)

    def file_months(self, file_id: int) -> list[tuple[str, int, int, int, int, int]]:
        """Per facility-month of a file's claims: (facility, year, month, accepted, records, accepted T_BHTT in
        cents), in that order."""
        accepted = Claim.status == "accepted"
        rows = self.session.execute(
            select(
                Claim.facility_code,
                Claim.period_year,
                Claim.period_month,
                func.sum(case((accepted, 1), else_=0)),
                func.count(Claim.id),
                cents(case((accepted, func.coalesce(Claim.t_bhtt, 0)), else_=0)),
            )
            .where(Claim.file_id == file_id, Claim.period_year.is_not(None), Claim.period_month.is_not(None))
            .group_by(Claim.facility_code, Claim.period_year, Claim.period_month)
            .order_by(Claim.facility_code, Claim.period_year, Claim.period_month)
        ).all()
        return [(f, int(y), int(m), int(a or 0), int(n), int(t or 0)) for f, y, m, a, n, t in rows]

    def file_registrations(self, file_id: int) -> list[tuple[str | None, str, int, int]]:
        """The distinct (MA_DKBD as written, treating facility, year, quarter) of a file's accepted claims that have
        a quarter: a handful per file, from which the registered facilities whose spend moved are told."""
        rows = self.session.execute(
            select(Claim.ma_dkbd, Claim.facility_code, Claim.period_year, Claim.period_quarter)
            .where(
                Claim.file_id == file_id,
                Claim.status == "accepted",
                Claim.period_year.is_not(None),
                Claim.period_quarter.is_not(None),
            )
            .distinct()
        ).all()
        return [(d, f, int(y), int(q)) for d, f, y, q in rows]

    def commune_station_facilities(self) -> set[str]:
        """MA_CSKCB each commune station claims under now: per station, its newest record by (year, arrival)."""
        newest = (
            select(
                CommuneStation.facility_code,
                func.row_number()
                .over(
                    partition_by=CommuneStation.station_code,
                    order_by=(CommuneStation.year.desc(), CommuneStation.id.desc()),
                )
                .label("n"),
            )
            .subquery()
        )
        return set(self.session.scalars(select(newest.c.facility_code).where(newest.c.n == 1)))

    # --- assessments --------------------------------------------------------------------------------

    def accepted_claims(self, facility: str, ma_lks: list[str]) -> dict[str, AcceptedClaim]:
        """MA_LK -> the accepted claim of the facility, for those of `ma_lks` that have one."""
        out: dict[str, AcceptedClaim] = {}
        for chunk in _chunks(ma_lks):
            rows = self.session.execute(
                select(Claim.ma_lk, Claim.id, Claim.t_bhtt, Claim.period_year, Claim.period_quarter).where(
                    Claim.status == "accepted", Claim.facility_code == facility, Claim.ma_lk.in_(chunk)
                )
            )
            for ma_lk, cid, t_bhtt, year, quarter in rows:
                out[ma_lk] = AcceptedClaim(cid, (t_bhtt or Decimal(0)).quantize(CENT), year, quarter)
        return out

    def add_assessment_batch(self, facility: str, assessed_by: str, items: int) -> AssessmentBatch:
        batch = AssessmentBatch(facility_code=facility, assessed_by=assessed_by, items=items)
        self.session.add(batch)
        self.session.flush()
        return batch

    def insert_assessments(self, rows: list[dict[str, Any]]) -> None:
        for start in range(0, len(rows), 1000):
            self.session.execute(insert(Assessment.__table__), rows[start : start + 1000])

    def newest_approved(self, claim_ids: list[int]) -> dict[int, Decimal]:
        """claim id -> approved_amount of its newest assessment, for those assessed."""
        out: dict[int, Decimal] = {}
        for chunk in _chunks(claim_ids):
            newest = (
                select(func.max(Assessment.id)).where(Assessment.claim_id.in_(chunk)).group_by(Assessment.claim_id)
            )
            rows = self.session.execute(
                select(Assessment.claim_id, Assessment.approved_amount).where(Assessment.id.in_(newest))
            )
            out.update({int(cid): Decimal(amount) for cid, amount in rows})
        return out

    # --- facility-quarter totals --------------------------------------------------------------------

    def add_to_totals(self, deltas: Mapping[Key, Mapping[str, int]]) -> None:
        """Add increments to their rows (created at zero when new), in key order.

        An upsert of `x = x + delta`: concurrent transactions on the same row serialise on its row lock
        (PostgreSQL) or the write lock (SQLite) and none loses the other's increment; key order means two
        transactions never wait on each other in a cycle. A rolled-back transaction takes its increments along."""
        dialect = self.session.get_bind().dialect.name
        make = {"postgresql": postgresql.insert, "sqlite": sqlite.insert}.get(dialect)
        if make is None:
            raise RuntimeError(f"facility_quarter_totals: no upsert for {dialect}")
        table = FacilityQuarterTotal.__table__
        for key in sorted(deltas):
            values = {name: int(deltas[key].get(name, 0)) for name in FIELDS}
            stmt = make(table).values(facility_code=key[0], period_year=key[1], period_quarter=key[2], **values)
            stmt = stmt.on_conflict_do_update(
                index_elements=["facility_code", "period_year", "period_quarter"],
                set_={name: table.c[name] + stmt.excluded[name] for name in FIELDS},
            )
            self.session.execute(stmt)

    def lock_totals(self, keys: Iterable[Key]) -> None:
        """Take the write lock of these rows (a zero upsert) before reading what an increment depends on."""
        empty: Deltas = {k: {} for k in keys}
        self.add_to_totals(empty)

    def quarter_spend(self, facility: str, year: int, quarter: int) -> tuple[Decimal, int]:
        """The capitation spend against a facility-quarter's fund as it stands: (Σ line T_BHTT with MA_PTTT = 2 of
        the claims of cards registered there, wherever treated; those claims)."""
        t = FacilityQuarterTotal
        row = self.session.execute(
            select(t.capitation_registered, t.registered_claims).where(
                t.facility_code == facility, t.period_year == year, t.period_quarter == quarter
            )
        ).one_or_none()
        spend, count = row if row is not None else (0, 0)
        return Decimal(int(spend or 0)) * CENT, int(count or 0)

    # --- projections of other services' events ------------------------------------------------------

    def has_finance_figure(
        self, model: type[CapitationFund] | type[CapitationAdvance], id_field: str, value: int
    ) -> bool:
        """A fund (`fund_id`) or an advance (`advance_id`) of finance's is already projected."""
        column = getattr(model, id_field)
        return self.session.scalar(select(model.id).where(column == value)) is not None

    def add(self, row: CapitationFund | CapitationAdvance | CommuneStation) -> None:
        self.session.add(row)


# --- the driver-level batch insert ----------------------------------------------------------------

Columns = tuple[str, ...]
Row = tuple[Any, ...]
Convert = Callable[[Any], Any]
# Rows per INSERT on PostgreSQL (one JSON document each; the server reads it in linear time).
PG_PAGE = 1000


def _same(value: Any) -> Any:
    return value


@dataclass(frozen=True, slots=True)
class DriverForm:
    """The driver's form of the intake's values, each row built in it once.

    SQLite: the column types' own bind processors (what Core's insert applies): a Decimal as its whole cents (or
    thousandths, `ExactNumeric`), datetime and date as text, bytes as sqlite3.Binary. PostgreSQL: the rows travel
    as one JSON document a statement (`insert_rows`), so a value is the text PostgreSQL reads it from, the text
    psycopg2's own adapters put in the SQL of Core's insert: Decimal's str, isoformat, bytea's hex (`_pg_*`; tests
    compare every stored column)."""

    money: Convert  # Money and Percent, NUMERIC(18, 2)
    quantity: Convert  # Quantity, NUMERIC(18, 3)
    moment: Convert  # DateTime: NGAY_VAO, NGAY_RA, NGAY_YL
    stamp: Convert  # Instant: created_at
    day: Convert  # Date
    blob: Convert  # LargeBinary


_FORMS: dict[tuple[str, str], DriverForm] = {}


def _bind(column: Any, dialect: Dialect) -> Convert:
    if isinstance(column.type, ExactNumeric) and dialect.name == "sqlite":
        return column.type.to_units  # the type's own conversion, without the decorator's wrapping
    return column.type.dialect_impl(dialect).bind_processor(dialect) or _same


_PROBE = datetime(1, 2, 3, 4, 5, 6, 7)


def _moment(column: Any, dialect: Dialect) -> Convert:
    """A naive DateTime column's conversion. SQLite's processor writes a naive datetime as `isoformat(" ",
    "microseconds")` does (checked here on a probe, and in tests over the edge values): that C method for a
    naive datetime costs a third of the processor, which still takes anything else (None, a date, an aware
    datetime, whose offset it drops)."""
    process = _bind(column, dialect)
    if process is _same or process(_PROBE) != _PROBE.isoformat(" ", "microseconds"):
        return process

    def moment(value: Any) -> Any:
        if value.__class__ is datetime and value.tzinfo is None:
            return value.isoformat(" ", "microseconds")
        return process(value)

    return moment


def _pg_number(value: Decimal | None) -> str | None:
    # psycopg2 writes a finite Decimal as its str and any other as NaN.
    if value is None:
        return None
    return str(value) if value.is_finite() else "NaN"


def _pg_iso(value: date | None) -> str | None:
    """A date, or a datetime with or without its offset, as psycopg2 writes it: its isoformat."""
    return None if value is None else value.isoformat()


def _pg_naive(value: date | None) -> str | None:
    """A value of a column without time zone. An aware datetime psycopg2 would send as timestamptz, moved into
    the session's time zone by the server, which a JSON text cannot say: refused, never stored otherwise."""
    if value is not None and getattr(value, "tzinfo", None) is not None:
        raise TypeError(f"a naive datetime expected, not {value!r}")
    return _pg_iso(value)


def _pg_bytea(value: bytes | None) -> str | None:
    return None if value is None else "\\x" + bytes(value).hex()


_PG_FORM = DriverForm(
    money=_pg_number, quantity=_pg_number, moment=_pg_naive, stamp=_pg_iso, day=_pg_iso, blob=_pg_bytea
)


def driver_form(dialect: Dialect) -> DriverForm:
    if dialect.name == "postgresql":
        return _PG_FORM
    key = (dialect.name, dialect.driver)
    form = _FORMS.get(key)
    if form is None:
        c, ln = Claim.__table__.c, ClaimLine.__table__.c
        form = _FORMS[key] = DriverForm(
            money=_bind(c.t_bhtt, dialect),
            quantity=_bind(ln.quantity, dialect),
            moment=_moment(c.ngay_vao, dialect),
            stamp=_bind(c.created_at, dialect),
            day=_bind(c.ngay_sinh, dialect),
            blob=_bind(ClaimTable.__table__.c.content, dialect),
        )
    return form


_SQL: dict[tuple[str, str, Columns, Columns], str] = {}


def _insert_sql(dialect: str, table: Table, columns: Columns, returning: Columns) -> str:
    key = (dialect, table.name, columns, returning)
    sql = _SQL.get(key)
    if sql is None:
        names = ", ".join(columns)
        if dialect == "postgresql":
            # Every column read from the JSON objects as the table's row type reads it: PostgreSQL's input of
            # the value's text, then the column's type (numeric's scale included), as a literal in VALUES is.
            sql = f"INSERT INTO {table.name} ({names}) SELECT {names} FROM json_populate_recordset(NULL::{table.name}, %s)"  # noqa: S608,E501  # nosec B608 - our own table and columns
        else:
            sql = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join(['?'] * len(columns))})"  # noqa: S608  # nosec B608 - as above
        if returning:
            sql += f" RETURNING {', '.join(returning)}"
        sql = _SQL[key] = sql
    return sql


def _driver_call(s: Session, sql: str, work: Callable[[Any, str], Any]) -> Any:
    """`work(cursor, sql)` on the session's own DBAPI connection, its errors raised as SQLAlchemy's own
    (IntegrityError: the intake retries a batch on it; OperationalError: the event handler's transient-failure
    path; a dropped connection marked invalidated), as Core would raise them."""
    conn = s.connection()
    dialect = conn.dialect
    dbapi_conn = conn.connection.dbapi_connection
    cursor = dbapi_conn.cursor()  # type: ignore[union-attr]
    try:
        return work(cursor, sql)
    except dialect.loaded_dbapi.Error as exc:
        lost = dialect.is_disconnect(exc, dbapi_conn, cursor)
        if lost:
            conn.invalidate(exc)
        raise DBAPIError.instance(sql, None, exc, dialect.loaded_dbapi.Error, connection_invalidated=lost) from exc
    finally:
        with contextlib.suppress(Exception):
            cursor.close()


def _pg_pages(columns: Columns, rows: list[Row], returning: bool) -> Callable[[Any, str], list[Row]]:
    def work(cursor: Any, sql: str) -> list[Row]:
        found: list[Row] = []
        for start in range(0, len(rows), PG_PAGE):
            # One text parameter: no SQL built per value (psycopg2's mogrify cost the client twice as much CPU
            # and the server's VALUES parsing half as much again; COPY is refused under psycogreen's wait
            # callback, which the service runs with).
            page = [dict(zip(columns, r, strict=True)) for r in rows[start : start + PG_PAGE]]
            cursor.execute(sql, (json.dumps(page, ensure_ascii=False, separators=(",", ":"), check_circular=False),))
            if returning:
                found.extend(cursor.fetchall())
        return found

    return work


def insert_rows(s: Session, table: Table, columns: Columns, rows: list[Row], returning: Columns = ()) -> list[Row]:
    """Rows already in the driver's form (`DriverForm`; tuples in `columns` order) in one go at the driver:
    SQLite `executemany`, PostgreSQL a JSON document of PG_PAGE rows a statement. `returning` (PostgreSQL only):
    those columns of every row inserted, in no promised order."""
    dialect = s.get_bind().dialect.name
    sql = _insert_sql(dialect, table, columns, returning)
    if dialect == "postgresql":
        found: list[Row] = _driver_call(s, sql, _pg_pages(columns, rows, bool(returning)))
        return found
    if returning:
        raise ValueError("insert_rows: RETURNING only on PostgreSQL")
    _driver_call(s, sql, lambda cur, q: cur.executemany(q, rows))
    return []
