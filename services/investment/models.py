"""Investment's own tables: the station register (effective-dated) and, later, projects and capital."""

from __future__ import annotations

from datetime import date

from sqlalchemy import Date, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.outbox import InboxMixin, OutboxMixin


class InvestmentBase(DeclarativeBase):
    """Every table of the investment database (its own metadata: each service owns its data)."""


class Station(InvestmentBase):
    """A commune health station (trạm y tế xã), one per commune, valid from/to with its successor.

    A 2025 commune may reuse the code of a commune it absorbed, so (code, valid_from) is the key.
    """

    __tablename__ = "stations"
    __table_args__ = (UniqueConstraint("code", "valid_from"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(10), index=True)  # GSO commune code
    name: Mapped[str] = mapped_column(String(200))
    commune_name: Mapped[str] = mapped_column(String(200))
    commune_kind: Mapped[str] = mapped_column(String(20))  # Xã | Phường | Thị trấn
    district: Mapped[str] = mapped_column(String(10), index=True)
    district_name: Mapped[str] = mapped_column(String(200))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_to: Mapped[date | None] = mapped_column(Date)
    successor: Mapped[str | None] = mapped_column(String(10))
    legal_basis: Mapped[str | None] = mapped_column(Text)


class Outbox(OutboxMixin, InvestmentBase):
    pass


class Inbox(InboxMixin, InvestmentBase):
    pass
