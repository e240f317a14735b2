"""The intake's driver-level batch insert stores what Core's insert stores and fails the way SQLAlchemy fails."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import String, create_engine, insert, select
from sqlalchemy import text as sql_text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import sessionmaker

from services.claims import intake as intake_module
from services.claims.models import Claim, ClaimFile, ClaimIssue, ClaimLine, ClaimsBase, ClaimTable
from services.claims.repository import ClaimsRepository, DriverForm, driver_form, insert_rows
from services.common.blobstore import FilesystemBlobStore
from services.common.db import make_engine
from services.common.migrate import upgrade
from services.common.outbox import utcnow
from tests.integration.claims.conftest import ClaimsEnv, generate


def _file(s, sha: str) -> int:
    s.execute(insert(ClaimFile.__table__), [{"sha256": sha, "size": 1, "blob_name": sha, "uploaded_by": "t",
                                             "uploaded_at": utcnow(), "status": "processing", "phase": "queued",
                                             "next_index": 0, "accepted": 0, "rejected": 0, "warnings": 0,
                                             "bytes_processed": 0, "attempts": 0}])
    return s.scalar(select(ClaimFile.id).where(ClaimFile.sha256 == sha))


def test_rows_and_a_constraint_violation(claims_env):
    row = {"record_index": 1, "ma_lk": "A\tB\\C", "table_name": "XML1", "field": None, "code": "x",
           "severity": "warning", "message": "tiếng Việt\n"}
    with claims_env.session() as s:
        file_id = _file(s, "a" * 64)
        columns = ("file_id", *row)
        insert_rows(s, ClaimIssue.__table__, columns, [(file_id, *row.values())] * 2)
    with claims_env.session() as s:
        stored = s.execute(select(ClaimIssue.ma_lk, ClaimIssue.message, ClaimIssue.field)).all()
    assert stored == [("A\tB\\C", "tiếng Việt\n", None)] * 2
    with pytest.raises(IntegrityError), claims_env.session() as s:  # the same sha256 twice
        stamp = driver_form(s.get_bind().dialect).stamp(utcnow())
        insert_rows(s, ClaimFile.__table__, ("sha256", "size", "blob_name", "uploaded_by", "uploaded_at", "status"),
                    [("a" * 64, 1, "b", "t", stamp, "processing")])


# --- the intake's rows: built once in the driver's form, stored as Core's insert of the same values stores them ---

_FAULTS = {"record_unreadable": 3, "amount_mismatch": 4, "duplicate_claim": 3, "card_format": 3,
           "table_unknown": 3, "ma_lk_mismatch": 3, "line_date_outside_visit": 3, "value_invalid": 3}
_TABLES = ("claims", "claim_lines", "claim_tables", "claim_issues", "facility_quarter_totals", "file_chunks")
_FROZEN = datetime(2024, 10, 1, 8, 30, 15, 123456, tzinfo=UTC)


def _as_is(value):
    """The reference's values: the Python objects themselves, for Core's insert to convert."""
    return value


def _core_insert_claims(self, file_id, columns, rows):
    """The reference: Core's insert of dicts (the column types' own bind processors), ids read back."""
    self.session.execute(insert(Claim.__table__), [dict(zip(columns, r, strict=True)) for r in rows])
    by_index = dict(self.session.execute(select(Claim.record_index, Claim.id).where(Claim.file_id == file_id)).all())
    return [by_index[r[columns.index("record_index")]] for r in rows]


def _core_insert_details(self, *batches):
    for table, columns, rows in batches:
        if rows:
            self.session.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])


def _stored(url: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """Every row of the intake's tables as the database holds it (with the column names): PostgreSQL's text of
    each value; SQLite's values with their storage class (1 and 1.0 differ there)."""
    engine = make_engine(url)
    out: dict[str, tuple[list[str], list[tuple]]] = {}
    with engine.connect() as conn:
        for table in _TABLES:
            by = ", ".join(ClaimsBase.metadata.tables[table].primary_key.columns.keys())
            result = conn.exec_driver_sql(f"SELECT * FROM {table} ORDER BY {by}")  # noqa: S608
            names = list(result.keys())
            if engine.dialect.name == "postgresql":
                text = ", ".join(f"CAST(\"{n}\" AS text)" for n in names)
                rows = conn.exec_driver_sql(f"SELECT {text} FROM {table} ORDER BY {by}").all()  # noqa: S608
            else:
                rows = [tuple((type(v).__name__, v) for v in r) for r in result.all()]
            out[table] = (names, [tuple(r) for r in rows])
    engine.dispose()
    return out


def _load(url: str, data: bytes, store_dir) -> None:
    upgrade("claims", url)
    engine = make_engine(url)
    env = ClaimsEnv(sessionmaker(engine, expire_on_commit=False), FilesystemBlobStore(store_dir))
    status = env.load(data, batch_size=40, chunk_records=70)  # several chunks, a batch cut inside each
    assert status["status"] == "done"
    engine.dispose()


def test_the_intakes_rows_are_stored_as_cores_insert_stores_them(db_url_factory, tmp_path, monkeypatch):
    """Byte for byte, every column of every row (claims, lines, other tables, issues, totals, chunk counters):
    the intake's driver-form tuples against Core's insert of the same values as Python objects."""
    data, _ = generate(records=160, faults=_FAULTS)
    monkeypatch.setattr(intake_module, "utcnow", lambda: _FROZEN)  # created_at the same in both databases
    fast, core = db_url_factory("fast"), db_url_factory("core")
    _load(fast, data, tmp_path / "fast")
    with monkeypatch.context() as m:
        m.setattr(ClaimsRepository, "driver_form", lambda self: DriverForm(*[_as_is] * 6))
        m.setattr(ClaimsRepository, "insert_claims", _core_insert_claims)
        m.setattr(ClaimsRepository, "insert_details", _core_insert_details)
        _load(core, data, tmp_path / "core")
    got, want = _stored(fast), _stored(core)
    assert got == want
    # Every kind of value went through both paths: each column of claims and lines that is not text (a value the
    # driver may need converted: amounts, dates, times, numbers) holds a value somewhere.
    assert [t for t, (_, rows) in got.items() if not rows] == []
    for table in ("claims", "claim_lines"):
        names, rows = got[table]
        typed = [i for i, n in enumerate(names) if not isinstance(ClaimsBase.metadata.tables[table].c[n].type, String)]
        assert [names[i] for i in typed if all(r[i] in (None, ("NoneType", None)) for r in rows)] == []


def test_claim_ids_follow_the_record_index_not_the_order_of_insertion(claims_env):
    """insert_claims returns each row's own id in row order, whatever order the database hands them back in."""
    with claims_env.session() as s:
        file_id = _file(s, "c" * 64)
        repo = ClaimsRepository(s)
        form = repo.driver_form()
        columns = ("file_id", "record_index", "status", "facility_code", "critical_issues", "warning_issues",
                   "created_at")
        rows = [(file_id, i, "rejected", "91060", 1, 0, form.stamp(_FROZEN)) for i in range(450)]  # several pages
        ids = repo.insert_claims(file_id, columns, rows)
        stored = dict(s.execute(select(Claim.id, Claim.record_index).where(Claim.file_id == file_id)).all())
    assert len(set(ids)) == 450 and [stored[i] for i in ids] == list(range(450))


def test_the_driver_form_on_sqlite_is_the_column_types_own_bind_processing():
    """On SQLite each conversion of DriverForm gives what the column type's own bind processor gives: the
    naive-datetime shortcut included, over the edge values and what it hands back to the processor."""
    dialect = create_engine("sqlite://").dialect  # with its driver loaded (bytes: sqlite3.Binary), never connected
    form = driver_form(dialect)
    columns = {"money": Claim.__table__.c.t_bhtt, "quantity": ClaimLine.__table__.c.quantity,
               "moment": ClaimLine.__table__.c.ngay_yl, "stamp": Claim.__table__.c.created_at,
               "day": Claim.__table__.c.ngay_sinh, "blob": ClaimTable.__table__.c.content}
    samples = {
        "money": [None, Decimal("0.00"), Decimal("-12.34"), Decimal("9999999999999999.99"), Decimal("0.1")],
        "quantity": [None, Decimal("1.000"), Decimal("0.125"), Decimal("123456789012345.678")],
        "moment": [None, *_MOMENTS, datetime(2024, 7, 1, 8, 30, tzinfo=UTC)],
        "stamp": [None, *_STAMPS],
        "day": [None, date(1, 1, 1), date(2024, 2, 29)],
        "blob": [None, *_BLOBS],
    }
    for kind, column in columns.items():
        own = column.type.dialect_impl(dialect).bind_processor(dialect) or _as_is
        convert = getattr(form, kind)
        for value in samples[kind]:
            got, want = convert(value), own(value)
            assert (type(got), got) == (type(want), want), (kind, value)


def test_an_aware_datetime_in_a_column_without_time_zone_is_refused_on_postgresql():
    """psycopg2 would send it as timestamptz, moved into the session's time zone by the server: the JSON rows
    cannot say that, so the value is refused rather than stored otherwise."""
    form = driver_form(create_engine("postgresql+psycopg2://").dialect)
    with pytest.raises(TypeError):
        form.moment(datetime(2024, 7, 1, 8, 30, tzinfo=UTC))


_TEXTS = ["", "a'b\"c\\d", "tab\there\nnew\r", "tiếng Việt 𝔘 ½", "\x01\x1f\x7f", "%s %(x)s {} $1 ?", "\\x00"]
_AMOUNTS = [None, Decimal("0.00"), Decimal("-0.00"), Decimal("-12.34"), Decimal("9999999999999999.99"),
            Decimal("1E+2"), Decimal("0.005"), Decimal("-0.015"), Decimal("12")]
_QUANTITIES = [None, Decimal("1.000"), Decimal("0.125"), Decimal("123456789012345.678"), Decimal("-0.0005")]
_MOMENTS = [datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime(2024, 2, 29, 7, 5),
            datetime(2024, 7, 1, 0, 0, 0, 1), date(2024, 7, 1), None]
_STAMPS = [_FROZEN, datetime(2024, 7, 1, 8, 30, tzinfo=timezone(timedelta(hours=7))), datetime(2024, 7, 1, 8, 30)]
_DAYS = [None, date(1, 1, 1), date(2024, 2, 29), date(9999, 12, 31)]
_BLOBS = [b"", bytes(range(256)), b"\x00", b"\\x41"]


def _edge_rows(n: int):
    """n rows' raw values, every edge value of every kind among them."""
    def pick(values, i):
        return values[i % len(values)]
    return [(pick(_TEXTS, i), pick(_AMOUNTS, i), pick(_QUANTITIES, i), pick(_MOMENTS, i), pick(_STAMPS, i),
             pick(_DAYS, i), pick(_BLOBS, i)) for i in range(n)]


def test_edge_values_are_stored_as_cores_insert_stores_them(claims_env):
    """Amounts, quantities, times, dates, text and bytes at their edges, through the intake's driver form and
    `insert_rows`, and through Core's insert of the same Python values: the stored columns are the same."""
    claim_cols = ("file_id", "record_index", "status", "facility_code", "critical_issues", "warning_issues",
                  "created_at", "ma_bn", "ngay_sinh", "ngay_vao", "t_bhtt")
    line_cols = ("claim_id", "table_name", "line_index", "name", "quantity", "tyle_tt_bh", "t_bhtt", "ngay_yl")
    table_cols = ("claim_id", "ma_lk", "table_name", "content")
    raw = _edge_rows(40)
    with claims_env.session() as s:
        file_id = _file(s, "d" * 64)
        repo = ClaimsRepository(s)
        f = repo.driver_form()
        stored = {}
        for path, base in (("fast", 0), ("core", 1000)):
            claims = [(file_id, base + i, "rejected", "91060", 0, 0, st, t, d, m, a)
                      for i, (t, a, _q, m, st, d, _b) in enumerate(raw)]
            if path == "fast":
                ids = repo.insert_claims(file_id, claim_cols, [
                    (*r[:6], f.stamp(r[6]), r[7], f.day(r[8]), f.moment(r[9]), f.money(r[10])) for r in claims])
            else:
                ids = _core_insert_claims(repo, file_id, claim_cols, claims)
            lines = [(cid, "XML2", 1, t, q, a, a, m) for cid, (t, a, q, m, _st, _d, _b) in zip(ids, raw, strict=True)]
            tables = [(cid, t[:100], "XML4", b) for cid, (t, _a, _q, _m, _st, _d, b) in zip(ids, raw, strict=True)]
            if path == "fast":
                repo.insert_details(
                    (ClaimLine.__table__, line_cols, [
                        (*r[:4], f.quantity(r[4]), f.money(r[5]), f.money(r[6]), f.moment(r[7])) for r in lines]),
                    (ClaimTable.__table__, table_cols, [(*r[:3], f.blob(r[3])) for r in tables]),
                )
            else:
                _core_insert_details(repo, (ClaimLine.__table__, line_cols, lines),
                                     (ClaimTable.__table__, table_cols, tables))
            stored[path] = {
                "claims": _values(s, "claims", claim_cols[2:], f"file_id = {file_id} AND record_index >= {base} "
                                  f"AND record_index < {base + 1000}"),
                "claim_lines": _values(s, "claim_lines", line_cols[1:], f"claim_id IN ({', '.join(map(str, ids))})"),
                "claim_tables": _values(s, "claim_tables", table_cols[1:], f"claim_id IN ({', '.join(map(str, ids))})"),
            }
    assert stored["fast"] == stored["core"]
    assert len(stored["fast"]["claims"]) == 40


def _values(s, table: str, columns: tuple[str, ...], where: str) -> list[tuple]:
    """The stored columns as the database holds them: PostgreSQL's text, SQLite's values with their class."""
    if s.get_bind().dialect.name == "postgresql":
        text = ", ".join(f"CAST({c} AS text)" for c in columns)
        return [tuple(r) for r in s.execute(sql_text(f"SELECT {text} FROM {table} WHERE {where} ORDER BY id"))]  # noqa: S608
    rows = s.execute(sql_text(f"SELECT {', '.join(columns)} FROM {table} WHERE {where} ORDER BY id"))  # noqa: S608
    return [tuple((type(v).__name__, v) for v in r) for r in rows]
