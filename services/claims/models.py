"""Claims' own tables: stored files, claims (XML1) with their lines (XML2/XML3) and other tables,
validation issues, assessments (giám định) and the projection of finance's capitation funds and advances.

Money columns are `Money`, NUMERIC(18, 2) (đồng with 2 places, as in QĐ 130; whole cents on SQLite) except the
projections of finance's figures, which are whole đồng like finance's own. Claims, lines, assessments and
projections are never updated or deleted: an assessment supersedes an earlier one by being newer. Only the file
row (status, counters, lease) changes while the file is processed.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Date,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    cast,
    func,
    text,
)
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.sql.functions import FunctionElement

from services.common.answers import AnswerMixin
from services.common.db import BigId, ExactNumeric, Instant
from services.common.outbox import InboxMixin, OutboxMixin, utcnow

# Exact on both engines: NUMERIC on PostgreSQL, whole units of the last place on SQLite (services/common/db.py).
Money = ExactNumeric(18, 2)
Quantity = ExactNumeric(18, 3)  # SO_LUONG and unit prices carry up to 3 decimals in QĐ 130
Percent = ExactNumeric(18, 2)


class cents(FunctionElement[int]):  # noqa: N801 - used as a function, like func.sum
    """Σ of a `Money` column (or an expression of them) in whole cents, 0 over no rows. Both the write side
    (events) and the read side sum this way. PostgreSQL: NUMERIC × 100; SQLite keeps cents already."""

    type = BigInteger()
    inherit_cache = True


@compiles(cents)
def _cents_numeric(element: cents, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(func.coalesce(func.sum(cast(func.round(column * 100), BigInteger)), 0), **kw)


@compiles(cents, "sqlite")
def _cents_sqlite(element: cents, compiler: Any, **kw: Any) -> str:
    (column,) = element.clauses
    return compiler.process(func.coalesce(func.sum(column), 0), **kw)


class ClaimsBase(DeclarativeBase):
    """Every table of the claims database (its own metadata: each service owns its data)."""


class ClaimFile(ClaimsBase):
    """One uploaded file (its bytes live in the blob store under `blob_name`), deduplicated by SHA-256.

    `next_index` counts the records committed (each batch adds its own, whichever chunk it belongs to; it ends at
    `total`). `lease_owner`/`lease_until` keep two replicas from checking and planning the same file at once; the
    records themselves are loaded chunk by chunk (`FileChunk`), each chunk with a lease of its own.
    """

    __tablename__ = "claim_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    sha256: Mapped[str] = mapped_column(String(64), unique=True)
    size: Mapped[int] = mapped_column(BigInteger)
    blob_name: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str | None] = mapped_column(String(255))  # as the uploader's computer named it, shown only
    uploaded_by: Mapped[str] = mapped_column(String(140))
    uploaded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    status: Mapped[str] = mapped_column(String(20), default="processing", index=True)  # processing|done|failed
    phase: Mapped[str] = mapped_column(String(20), default="queued")  # queued|checking|loading|finished
    facility_code: Mapped[str | None] = mapped_column(String(10), index=True)  # envelope MACSKCB
    ngay_lap: Mapped[str | None] = mapped_column(String(20))
    declared_records: Mapped[int | None] = mapped_column(Integer)  # SOLUONGHOSO
    total: Mapped[int | None] = mapped_column(Integer)  # HOSO counted by the check pass
    next_index: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    bytes_processed: Mapped[int] = mapped_column(BigInteger, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(Instant)
    started_at: Mapped[datetime | None] = mapped_column(Instant)
    finished_at: Mapped[datetime | None] = mapped_column(Instant)
    error_code: Mapped[str | None] = mapped_column(String(40))


class FileChunk(ClaimsBase):
    """A run of consecutive records of a file (`first` ≤ record_index < `end`): the unit of work that any claims
    replica may take (services/claims/intake.py). `next_index` is the first record of the chunk not yet committed;
    it moves, with the counters, in the transaction that inserts the records, and `status` becomes `done` in the
    one that inserts the last, so a chunk taken again (a replica killed, a message redelivered) resumes there or
    finds nothing left to do. `byte_start`/`byte_end` locate the chunk's records in the blob when the check pass
    could place them exactly (`head_end`, `tail_start`: the envelope around the records); otherwise NULL and the
    chunk is read from the file's start, skipping what comes before it.
    """

    __tablename__ = "file_chunks"

    file_id: Mapped[int] = mapped_column(BigId, ForeignKey("claim_files.id"), primary_key=True)
    chunk_no: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    first: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    next_index: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12), default="pending", index=True)  # pending|done
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    warnings: Mapped[int] = mapped_column(Integer, default=0)
    byte_start: Mapped[int | None] = mapped_column(BigInteger)
    byte_end: Mapped[int | None] = mapped_column(BigInteger)  # NULL with byte_start set: to the end of the blob
    head_end: Mapped[int | None] = mapped_column(BigInteger)
    tail_start: Mapped[int | None] = mapped_column(BigInteger)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_owner: Mapped[str | None] = mapped_column(String(80))
    lease_until: Mapped[datetime | None] = mapped_column(Instant)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(Instant)


JOINED_CARDS = "%;%"  # MA_THE_BHYT of a visit under several cards, joined by ";" in the order used (QĐ 130)


class Claim(ClaimsBase):
    """One HOSO of a file (XML1, TONG_HOP), accepted or rejected. Personal fields are NĐ 13/2023 data."""

    __tablename__ = "claims"
    __table_args__ = (
        UniqueConstraint("file_id", "record_index"),
        # A MA_LK is accepted once per facility, whatever file it came in (duplicate_claim).
        Index(
            "uq_claims_accepted_facility_ma_lk",
            "facility_code",
            "ma_lk",
            unique=True,
            sqlite_where=text("status = 'accepted'"),
            postgresql_where=text("status = 'accepted'"),
        ),
        Index("ix_claims_facility_period", "facility_code", "period_year", "period_month"),
        Index("ix_claims_facility_quarter", "facility_code", "period_year", "period_quarter", "status"),
        # The visits under several cards (MA_THE_BHYT "card;card"), a few of all: a search for one of their cards
        # reads this small index instead of every claim (views.card_clause).
        Index(
            "ix_claims_joined_cards",
            "ma_the_bhyt",
            sqlite_where=text(f"ma_the_bhyt LIKE '{JOINED_CARDS}'"),
            postgresql_where=text(f"ma_the_bhyt LIKE '{JOINED_CARDS}'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("claim_files.id"))  # indexed by (file_id, record_index)
    record_index: Mapped[int] = mapped_column(Integer)
    standard: Mapped[str | None] = mapped_column(String(8))  # 130 | 4210
    status: Mapped[str] = mapped_column(String(10), index=True)  # accepted | rejected
    facility_code: Mapped[str] = mapped_column(String(10))  # MA_CSKCB, else the envelope's MACSKCB
    ma_lk: Mapped[str | None] = mapped_column(String(100))
    period_year: Mapped[int | None] = mapped_column(SmallInteger)  # NAM_QT
    period_month: Mapped[int | None] = mapped_column(SmallInteger)  # THANG_QT
    period_quarter: Mapped[int | None] = mapped_column(SmallInteger)
    ma_bn: Mapped[str | None] = mapped_column(String(100))
    ho_ten: Mapped[str | None] = mapped_column(String(255))
    so_cccd: Mapped[str | None] = mapped_column(String(20))
    ngay_sinh: Mapped[date | None] = mapped_column(Date)
    # NGAY_SINH as written when only partly known (yyyy, yyyymm, or 00 for day/month); ngay_sinh then holds
    # the first day of that year or month, for age checks only.
    ngay_sinh_raw: Mapped[str | None] = mapped_column(String(12))
    gioi_tinh: Mapped[int | None] = mapped_column(SmallInteger)
    dia_chi: Mapped[str | None] = mapped_column(String(1024))
    dien_thoai: Mapped[str | None] = mapped_column(String(20))
    ma_the_bhyt: Mapped[str | None] = mapped_column(String(255), index=True)
    ma_dkbd: Mapped[str | None] = mapped_column(String(255))
    gt_the_tu: Mapped[str | None] = mapped_column(String(255))
    gt_the_den: Mapped[str | None] = mapped_column(String(255))
    ma_benh_chinh: Mapped[str | None] = mapped_column(String(10), index=True)
    ma_benh_kt: Mapped[str | None] = mapped_column(String(200))  # codes joined by ';'
    ma_loai_kcb: Mapped[str | None] = mapped_column(String(2))
    ngay_vao: Mapped[datetime | None] = mapped_column(DateTime)
    ngay_ra: Mapped[datetime | None] = mapped_column(DateTime)
    t_tongchi_bv: Mapped[Decimal | None] = mapped_column(Money)
    t_tongchi_bh: Mapped[Decimal | None] = mapped_column(Money)
    t_bntt: Mapped[Decimal | None] = mapped_column(Money)
    t_bncct: Mapped[Decimal | None] = mapped_column(Money)
    t_bhtt: Mapped[Decimal | None] = mapped_column(Money)
    t_nguonkhac: Mapped[Decimal | None] = mapped_column(Money)
    t_bhtt_gdv: Mapped[Decimal | None] = mapped_column(Money)  # as written; spend is never derived from it
    # Σ line T_BHTT by payment method (MA_PTTT 1 fee for service, 2 capitation, 3 DRG), kept with the claim so
    # that spend is one sum over claims, not a scan of their lines (migration 0004).
    bhtt_fee_for_service: Mapped[Decimal | None] = mapped_column(Money)
    bhtt_capitation: Mapped[Decimal | None] = mapped_column(Money)
    bhtt_drg: Mapped[Decimal | None] = mapped_column(Money)
    critical_issues: Mapped[int] = mapped_column(Integer, default=0)
    warning_issues: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ClaimLine(ClaimsBase):
    """One line of XML2 (drugs) or XML3 (services and supplies)."""

    __tablename__ = "claim_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    table_name: Mapped[str] = mapped_column(String(5))  # XML2 | XML3
    line_index: Mapped[int] = mapped_column(Integer)
    stt: Mapped[int | None] = mapped_column(Integer)
    item_code: Mapped[str | None] = mapped_column(String(255))
    name: Mapped[str | None] = mapped_column(String(1024))
    ma_nhom: Mapped[str | None] = mapped_column(String(4))
    quantity: Mapped[Decimal | None] = mapped_column(Quantity)
    unit_price: Mapped[Decimal | None] = mapped_column(Quantity)
    tyle_tt_bh: Mapped[Decimal | None] = mapped_column(Percent)
    thanh_tien_bv: Mapped[Decimal | None] = mapped_column(Money)
    thanh_tien_bh: Mapped[Decimal | None] = mapped_column(Money)
    muc_huong: Mapped[Decimal | None] = mapped_column(Percent)
    t_nguonkhac: Mapped[Decimal | None] = mapped_column(Money)
    t_bntt: Mapped[Decimal | None] = mapped_column(Money)
    t_bncct: Mapped[Decimal | None] = mapped_column(Money)
    t_bhtt: Mapped[Decimal | None] = mapped_column(Money)
    ma_pttt: Mapped[str | None] = mapped_column(String(2))  # 1 fee for service, 2 capitation, 3 DRG
    ngay_yl: Mapped[datetime | None] = mapped_column(DateTime)


class ClaimTable(ClaimsBase):
    """XML4…XML15 of a claim, kept verbatim (decoded from base64) and linked by MA_LK."""

    __tablename__ = "claim_tables"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"), index=True)
    ma_lk: Mapped[str | None] = mapped_column(String(100))
    table_name: Mapped[str] = mapped_column(String(5))
    content: Mapped[bytes] = mapped_column(LargeBinary)


class ClaimFormatNote(ClaimsBase):
    """A repair the reader made to read a file (a bad namespace URI, a lying encoding, a plain-XML table…).
    Append-only, one row per committed batch of records: a file's note is the sum of its rows' `records`.
    `table_name` is None for the envelope itself."""

    __tablename__ = "claim_format_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("claim_files.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))
    table_name: Mapped[str | None] = mapped_column(String(20))
    records: Mapped[int] = mapped_column(Integer)


class ClaimIssue(ClaimsBase):
    """What validation found: `record_index` is None for whole-file issues. Never holds a personal value."""

    __tablename__ = "claim_issues"
    __table_args__ = (
        Index("ix_claim_issues_file_code", "file_id", "code"),
        Index("ix_claim_issues_file_id_id", "file_id", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("claim_files.id"))
    record_index: Mapped[int | None] = mapped_column(Integer)
    ma_lk: Mapped[str | None] = mapped_column(String(100))
    table_name: Mapped[str | None] = mapped_column(String(20))
    field: Mapped[str | None] = mapped_column(String(40))
    code: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(10))
    message: Mapped[str] = mapped_column(Text)


class AssessmentBatch(ClaimsBase):
    """One POST of BHXH results (giám định) for one facility."""

    __tablename__ = "assessment_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(10), index=True)
    assessed_by: Mapped[str] = mapped_column(String(140))
    items: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Assessment(ClaimsBase):
    """BHXH's result for one claim. Append-only: the newest row of a claim is its current result."""

    __tablename__ = "assessments"
    __table_args__ = (Index("ix_assessments_claim_id_id", "claim_id", "id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("assessment_batches.id"), index=True)
    claim_id: Mapped[int] = mapped_column(ForeignKey("claims.id"))
    facility_code: Mapped[str] = mapped_column(String(10))
    ma_lk: Mapped[str] = mapped_column(String(100))
    requested: Mapped[Decimal] = mapped_column(Money)  # T_BHTT when assessed
    approved_amount: Mapped[Decimal] = mapped_column(Money)
    reason_code: Mapped[str | None] = mapped_column(String(40))
    note: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class FacilityQuarterTotal(ClaimsBase):
    """The accepted claims of one facility-quarter summed, kept by the transactions that change them (an intake
    batch adds its accepted claims, an assessment moves money between pending, approved and rejected), so that
    the reconciliation and the capitation summary read a few rows however many claims there are (migration 0006).

    Money in whole cents (exact on SQLite too). A claim without NAM_QT/quarter is kept under year/quarter 0.
    Invariant: requested = approved + rejected + pending. Every column but the last three is by the treating
    facility (the file's MA_CSKCB); those three are by the card's registered facility, so a row can exist for a
    facility that treated nobody (services/claims/domain/totals.py)."""

    __tablename__ = "facility_quarter_totals"

    facility_code: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_year: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    period_quarter: Mapped[int] = mapped_column(SmallInteger, primary_key=True, autoincrement=False)
    claims: Mapped[int] = mapped_column(BigInteger, default=0)
    assessed: Mapped[int] = mapped_column(BigInteger, default=0)
    requested: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ T_BHTT
    approved: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ newest approved_amount of assessed claims
    rejected: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ (T_BHTT − approved) of assessed claims
    pending: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ T_BHTT of claims not yet assessed
    fee_for_service: Mapped[int] = mapped_column(BigInteger, default=0)  # Σ line T_BHTT, MA_PTTT = 1
    capitation: Mapped[int] = mapped_column(BigInteger, default=0)  # MA_PTTT = 2
    drg: Mapped[int] = mapped_column(BigInteger, default=0)  # MA_PTTT = 3
    # By the card's registered facility (MA_DKBD) instead of the treating one (migration 0007): the capitation
    # fund of a facility bears its cards' visits wherever they were treated (NĐ 146/2018 Điều 25 k2).
    registered_claims: Mapped[int] = mapped_column(BigInteger, default=0)  # accepted claims of cards registered here
    capitation_registered: Mapped[int] = mapped_column(BigInteger, default=0)  # their MA_PTTT = 2 spend
    capitation_own: Mapped[int] = mapped_column(BigInteger, default=0)  # the part of it treated here


class CapitationFund(ClaimsBase):
    """Projection of finance's `capitation_fund_set`: the newest `fund_id` of a facility-period counts."""

    __tablename__ = "capitation_funds"
    __table_args__ = (Index("ix_capitation_funds_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fund_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    facility_code: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(10))  # YYYY-Qn
    year: Mapped[int | None] = mapped_column(SmallInteger)
    fund: Mapped[int] = mapped_column(BigInteger)  # whole đồng, as finance keeps it
    event_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationAdvance(ClaimsBase):
    """Projection of finance's `advance_paid` (tạm ứng): advances of a facility-period add up."""

    __tablename__ = "capitation_advances"
    __table_args__ = (Index("ix_capitation_advances_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    advance_id: Mapped[int] = mapped_column(BigInteger, unique=True)
    facility_code: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(10))
    year: Mapped[int | None] = mapped_column(SmallInteger)
    amount: Mapped[int] = mapped_column(BigInteger)
    event_id: Mapped[str] = mapped_column(String(36))
    received_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CommuneStation(ClaimsBase):
    """Projection of investment's `station_facility_set`: the MA_CSKCB a commune health station claims under.
    A facility here is a commune station (Luật BHYT Điều 22 k1 e: 100 %). The newest event of a station counts."""

    __tablename__ = "commune_stations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_code: Mapped[str] = mapped_column(String(10), index=True)  # GSO commune code
    facility_code: Mapped[str] = mapped_column(String(10), index=True)
    year: Mapped[int] = mapped_column(Integer)  # from which year the station claims under it
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    received_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Outbox(OutboxMixin, ClaimsBase):
    pass


class Inbox(InboxMixin, ClaimsBase):
    pass


class Answer(AnswerMixin, ClaimsBase):
    """The answer of each keyed command recorded (common/answers.py): sent again, it is answered, not redone."""
