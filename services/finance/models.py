"""Finance's own tables. Money columns are BIGINT whole đồng; ledger rows are append-only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.outbox import InboxMixin, OutboxMixin


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


class Outbox(OutboxMixin, FinanceBase):
    pass


class Inbox(InboxMixin, FinanceBase):
    pass
