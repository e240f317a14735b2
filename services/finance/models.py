"""Finance's own tables. Money columns are BIGINT whole đồng; ledger rows are append-only."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.common.answers import AnswerMixin
from services.common.db import BigId, Instant
from services.common.outbox import InboxMixin, OutboxMixin, utcnow


class FinanceBase(DeclarativeBase):
    """Every table of the finance database (its own metadata: each service owns its data)."""


class Plan(FinanceBase):
    """A plan document (kế hoạch): the province plan 158/KH-UBND and the district plans applying it."""

    __tablename__ = "plans"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    number: Mapped[str] = mapped_column(String(40), unique=True)
    date: Mapped[date] = mapped_column(Date)
    title: Mapped[str] = mapped_column(Text)
    issuer: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(20))  # province | district
    unit: Mapped[str] = mapped_column(String(10))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("plans.id"))
    period_from: Mapped[int] = mapped_column(Integer)
    period_to: Mapped[int] = mapped_column(Integer)


class PlanItem(FinanceBase):
    """An item of a plan by the document's own numbering (`II.4`, `II.2.1`, `I.2.b`…)."""

    __tablename__ = "plan_items"
    __table_args__ = (UniqueConstraint("plan_id", "code"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"), index=True)
    code: Mapped[str] = mapped_column(String(20))
    parent_code: Mapped[str | None] = mapped_column(String(20))
    title: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text, default="")
    lead_agency: Mapped[str | None] = mapped_column(String(200))
    co_agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    targets: Mapped[list[dict]] = mapped_column(JSON, default=list)
    position: Mapped[int] = mapped_column(Integer)


class AppendOnly:
    """A money row: written once, never updated or deleted (corrections are new rows).

    Enforced twice: by the ORM guard below, and by database triggers (migration 0002)."""


class Allocation(AppendOnly, FinanceBase):
    """Phân bổ / dự toán giao: money of one source and fiscal year given to a recipient unit for a plan item.

    A sub-allocation (`parent_id`) passes part of its parent's money one level down (province → district
    → commune): the same money, counted once in every roll-up (docs/finance.md)."""

    __tablename__ = "allocations"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_allocations_amount_positive"),
        Index("ix_allocations_plan_item", "plan_id", "item_code", "fiscal_year"),
        Index("ix_allocations_recipient", "recipient_unit", "fiscal_year"),
        Index("ix_allocations_decision_no", "decision_no"),  # an imported sheet's rows are matched by it
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plans.id"))
    item_code: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(40))
    fiscal_year: Mapped[int] = mapped_column(Integer)
    fund_year: Mapped[int | None] = mapped_column(Integer)  # the BHYT fund year of a 20% surplus allocation
    surplus_use: Mapped[str | None] = mapped_column(String(40))  # its legal use (services/common/surplus.py)
    recipient_unit: Mapped[str] = mapped_column(String(10))
    kind: Mapped[str] = mapped_column(String(20))  # budget | package_payment
    amount: Mapped[int] = mapped_column(BigInteger)
    decision_no: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("allocations.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Adjustment(AppendOnly, FinanceBase):
    """Điều chỉnh: a signed change of an allocation by a later decision."""

    __tablename__ = "adjustments"
    __table_args__ = (CheckConstraint("amount <> 0", name="ck_adjustments_amount_nonzero"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    decision_no: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Disbursement(AppendOnly, FinanceBase):
    """Giải ngân against an allocation; a reversal is a negative row naming the original (`reverses_id`)."""

    __tablename__ = "disbursements"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="ck_disbursements_sign",
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("disbursements.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class YearEndRecord(AppendOnly, FinanceBase):
    """The budget year end of an allocation (Luật NSNN 83/2015): `carry_over` (chuyển nguồn: the money stays
    the allocation's, paid out in the next fiscal year) or `close` (quyết toán: the money lapses). A correction
    is a negative record of the same kind naming the one it reverses (`reverses_id`)."""

    __tablename__ = "year_end_records"
    __table_args__ = (
        CheckConstraint(
            "(reverses_id IS NULL AND amount > 0) OR (reverses_id IS NOT NULL AND amount < 0)",
            name="ck_year_end_records_sign",
        ),
        CheckConstraint("kind IN ('carry_over', 'close')", name="ck_year_end_records_kind"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    allocation_id: Mapped[int] = mapped_column(ForeignKey("allocations.id"), index=True)
    kind: Mapped[str] = mapped_column(String(12))
    amount: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[date] = mapped_column(Date)
    decision_no: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    note: Mapped[str | None] = mapped_column(Text)
    reverses_id: Mapped[int | None] = mapped_column(ForeignKey("year_end_records.id"))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationFundRecord(AppendOnly, FinanceBase):
    """Quỹ định suất of a facility-quarter with the inputs it came from; a later record supersedes it."""

    __tablename__ = "capitation_funds"
    __table_args__ = (Index("ix_capitation_funds_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))  # YYYY (the legal, annual fund) or YYYY-Qn (a provisional share)
    cards: Mapped[int] = mapped_column(BigInteger)
    coefficient: Mapped[str] = mapped_column(String(30))  # the exact decimal as given
    fund: Mapped[int] = mapped_column(BigInteger)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("capitation_funds.id"))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationAdvance(AppendOnly, FinanceBase):
    """Tạm ứng of BHYT money to a facility for a quarter."""

    __tablename__ = "capitation_advances"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_capitation_advances_amount_positive"),
        Index("ix_capitation_advances_facility_period", "facility_code", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    amount: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    suggested: Mapped[int | None] = mapped_column(BigInteger)  # the 80% suggestion at the time, for audit
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationSpendReport(AppendOnly, FinanceBase):
    """The capitation spend of a facility-quarter as the claims service reported it (a level, kept in
    full history; the latest by `occurred_at` is the one in force)."""

    __tablename__ = "capitation_spend_reports"
    __table_args__ = (Index("ix_capitation_spend_facility_period", "facility_code", "period", "occurred_at"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    spend: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    claims: Mapped[int] = mapped_column(Integer)
    occurred_at: Mapped[datetime] = mapped_column(Instant)
    received_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationSettlement(AppendOnly, FinanceBase):
    """Quyết toán quý định suất: fund vs reported spend, surplus or deficit, the stations' share."""

    __tablename__ = "capitation_settlements"
    __table_args__ = (Index("ix_capitation_settlements_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    fund_id: Mapped[int] = mapped_column(ForeignKey("capitation_funds.id"))
    spend_report_id: Mapped[int | None] = mapped_column(ForeignKey("capitation_spend_reports.id"))
    fund: Mapped[int] = mapped_column(BigInteger)
    spend: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    spend_vnd: Mapped[int] = mapped_column(BigInteger)
    advanced: Mapped[int] = mapped_column(BigInteger)
    balance: Mapped[int] = mapped_column(BigInteger)
    station_share_rate: Mapped[str] = mapped_column(String(30))
    station_share: Mapped[int] = mapped_column(BigInteger)
    # A quarter's settlement is a provisional view; the year's is final and carries the stations' share
    # with the decision that set it (the law sets no percentage: NĐ 146/2018 Điều 25).
    provisional: Mapped[bool | None] = mapped_column(Boolean)
    station_share_decision_no: Mapped[str | None] = mapped_column(String(80))
    station_share_decision_date: Mapped[date | None] = mapped_column(Date)
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("capitation_settlements.id"))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationReport(AppendOnly, FinanceBase):
    """Báo cáo quyết toán quý: a facility's quarterly report as BHXH received it, its figures taken from the
    claims accepted for the quarter on that day and kept as they were (a later report supersedes). It gives
    the next quarter's advance: 80% of `total`, all payment methods (Luật BHYT Điều 32 k1a)."""

    __tablename__ = "capitation_reports"
    __table_args__ = (Index("ix_capitation_reports_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-Qn, the quarter reported
    received_date: Mapped[date] = mapped_column(Date)
    claims: Mapped[int] = mapped_column(Integer)
    total: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # Σ T_BHTT of the accepted claims
    fee_for_service: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # Σ line T_BHTT, MA_PTTT = 1
    capitation: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # MA_PTTT = 2
    drg: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # MA_PTTT = 3
    advance: Mapped[int] = mapped_column(BigInteger)  # round_half_up(80% × total)
    advance_period: Mapped[str] = mapped_column(String(7))  # the quarter the advance is for
    advance_due: Mapped[date] = mapped_column(Date)  # 5 working days after received_date
    result_due: Mapped[date] = mapped_column(Date)  # 30 days (60 for quarter 4 from 01/7/2025)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("capitation_reports.id"))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationResult(AppendOnly, FinanceBase):
    """Thông báo kết quả giám định quý: BHXH's approved figure for the quarter (from the assessments, as
    claims held them on `result_date`), and what is then owed: `approved − advanced`, due 10 days later."""

    __tablename__ = "capitation_results"
    __table_args__ = (Index("ix_capitation_results_facility_period", "facility_code", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    report_id: Mapped[int] = mapped_column(ForeignKey("capitation_reports.id"))
    result_date: Mapped[date] = mapped_column(Date)
    assessed: Mapped[int] = mapped_column(Integer)  # claims assessed
    pending: Mapped[Decimal] = mapped_column(Numeric(18, 2))  # Σ T_BHTT not yet assessed that day
    approved: Mapped[Decimal] = mapped_column(Numeric(18, 2))
    approved_vnd: Mapped[int] = mapped_column(BigInteger)
    advanced: Mapped[int] = mapped_column(BigInteger)  # Σ advances of the quarter that day
    to_pay: Mapped[int] = mapped_column(BigInteger)  # approved_vnd − advanced; negative: an excess advance
    payment_due: Mapped[date] = mapped_column(Date)
    reference: Mapped[str | None] = mapped_column(String(120))
    supersedes_id: Mapped[int | None] = mapped_column(ForeignKey("capitation_results.id"))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class CapitationPayment(AppendOnly, FinanceBase):
    """Money that settles a quarter's result: BHXH's payment of `approved − advanced`, or, for an excess
    advance, the facility's refund or its offset against a later quarter (`offset_period`)."""

    __tablename__ = "capitation_payments"
    __table_args__ = (
        CheckConstraint("amount > 0", name="ck_capitation_payments_amount_positive"),
        Index("ix_capitation_payments_facility_period", "facility_code", "period"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    facility_code: Mapped[str] = mapped_column(String(5))
    period: Mapped[str] = mapped_column(String(7))
    result_id: Mapped[int] = mapped_column(ForeignKey("capitation_results.id"))
    kind: Mapped[str] = mapped_column(String(10))  # payment | refund | offset
    amount: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[date] = mapped_column(Date)
    offset_period: Mapped[str | None] = mapped_column(String(7))
    reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


APPEND_ONLY_TABLES = tuple(
    sorted(m.__tablename__ for m in FinanceBase.__subclasses__() if issubclass(m, AppendOnly))  # type: ignore[attr-defined]
)


@event.listens_for(Session, "before_flush")
def _refuse_money_edits(session: Session, _ctx: Any, _instances: Any) -> None:
    """No UPDATE or DELETE of a money row from the ORM (the triggers catch anything else)."""
    for obj in (*session.dirty, *session.deleted):
        if isinstance(obj, AppendOnly) and (obj in session.deleted or session.is_modified(obj)):
            raise RuntimeError(f"{type(obj).__name__} rows are append-only: write a correcting record instead")


class Outbox(OutboxMixin, FinanceBase):
    pass


class Inbox(InboxMixin, FinanceBase):
    pass


class Answer(AnswerMixin, FinanceBase):
    """The answer of each keyed command recorded (common/answers.py): sent again, it is answered, not redone."""
