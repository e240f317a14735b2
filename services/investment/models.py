"""Investment's own tables: the station register (effective-dated), the stations' criteria history, and
the investment projects with their money (estimates, capital, disbursements, settlement).

Money columns are BIGINT whole đồng. Money rows (estimates, capital, disbursements, completions) and the
history rows (station status, project status changes) are append-only: a correction is a new row.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from services.common.answers import AnswerMixin
from services.common.db import BigId, Instant
from services.common.kept import WriteCounter
from services.common.outbox import InboxMixin, OutboxMixin, utcnow


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


class StationStatus(InvestmentBase):
    """One recorded fact about a station version: criteria reached (tiêu chí quốc gia về y tế, NTM),
    BHYT eligibility, building condition… The current value is the latest by (year, id); never updated."""

    __tablename__ = "station_status"
    __table_args__ = (Index("ix_station_status_station_attr", "station_id", "attribute", "year"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    station_code: Mapped[str] = mapped_column(String(10), index=True)
    attribute: Mapped[str] = mapped_column(String(40))
    value: Mapped[str] = mapped_column(String(20))  # "true"/"false", a condition code, or a year
    year: Mapped[int] = mapped_column(Integer)
    decision_no: Mapped[str | None] = mapped_column(String(80))
    decision_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Project(InvestmentBase):
    """An investment project at a station (dự án đầu tư trạm y tế), booked under one plan item.

    `station_code`/`station_id` never change: a merged station's project stays where it was, and roll-ups
    after the merger date resolve it to the successor. `status` is the latest of `project_status_changes`.
    """

    __tablename__ = "projects"
    __table_args__ = (Index("ix_projects_plan_item", "plan_id", "item_code"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[int] = mapped_column(ForeignKey("stations.id"))
    station_code: Mapped[str] = mapped_column(String(10), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # new_build | renovation | upgrade | equipment
    title: Mapped[str] = mapped_column(Text)
    plan_id: Mapped[int] = mapped_column(Integer)
    item_code: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(20))
    start_year: Mapped[int | None] = mapped_column(Integer)
    end_year: Mapped[int | None] = mapped_column(Integer)
    decision_no: Mapped[str | None] = mapped_column(String(80))
    decision_date: Mapped[date | None] = mapped_column(Date)
    created_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ProjectStatusChange(InvestmentBase):
    """proposed → approved → under_construction → completed → settled, each step with its date."""

    __tablename__ = "project_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)
    decision_no: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ProjectEstimate(InvestmentBase):
    """Tổng mức đầu tư / dự toán: the first at registration, each revision a new row with its decision.
    The latest row is the cap on the project's capital."""

    __tablename__ = "project_estimates"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    decision_no: Mapped[str | None] = mapped_column(String(80))
    decision_date: Mapped[date | None] = mapped_column(Date)
    note: Mapped[str | None] = mapped_column(Text)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ProjectCapital(InvestmentBase):
    """Giao vốn: capital assigned to a project from one source for one fiscal year, by a decision.
    A reduction is a negative row with its own decision."""

    __tablename__ = "project_capital"
    __table_args__ = (Index("ix_project_capital_project_source", "project_id", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(40))
    fiscal_year: Mapped[int] = mapped_column(Integer, index=True)
    # The 20% BHYT surplus: the fund year of the surplus and its legal use (services/common/surplus.py).
    fund_year: Mapped[int | None] = mapped_column(Integer)
    surplus_use: Mapped[str | None] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    decision_no: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)
    # The finance allocation (phân bổ) whose money this capital is, when it is (null: money finance does not
    # hold). Another service's id, so no foreign key: the gateway checks it against finance before sending it,
    # and adds the linked money to finance's only once (docs/investment.md "Capital funded by an allocation").
    funded_by_allocation: Mapped[int | None] = mapped_column(BigInteger, index=True)


class ProjectDisbursement(InvestmentBase):
    """Giải ngân: money paid out by the treasury against the project's capital from one source.
    A negative row reverses an earlier one. `year` is the calendar (= fiscal) year of `date`."""

    __tablename__ = "project_disbursements"
    __table_args__ = (Index("ix_project_disbursements_project_source", "project_id", "source"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"))
    source: Mapped[str] = mapped_column(String(40))
    amount: Mapped[int] = mapped_column(BigInteger)
    date: Mapped[date] = mapped_column(Date)
    year: Mapped[int] = mapped_column(Integer, index=True)
    reference: Mapped[str | None] = mapped_column(String(120))
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class ProjectCompletion(InvestmentBase):
    """Quyết toán dự án hoàn thành: the final settled cost, once per project."""

    __tablename__ = "project_completions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id"), unique=True)
    settled_cost: Mapped[int] = mapped_column(BigInteger)
    completed_on: Mapped[date] = mapped_column(Date)
    decision_no: Mapped[str] = mapped_column(String(80))
    decision_date: Mapped[date] = mapped_column(Date)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class IndicatorFact(InvestmentBase):
    """One version of a unit's indicator facts for a year (docs/investment.md "Indicator facts"): a commune
    station's population, managed health records, doctors, services, criteria, BHYT eligibility, or a district
    health centre's services, with the document or survey they come from.

    Append-only: a correction is the next `version` (the old one stays visible); the latest version of
    (unit_code, unit_valid_from, year) is the one in force. A version holds every field (the earlier values
    carried over), so no version needs another to be read.
    """

    __tablename__ = "station_indicators"
    __table_args__ = (
        UniqueConstraint("unit_code", "unit_valid_from", "year", "version"),
        Index("ix_station_indicators_year", "year", "unit_code"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    station_id: Mapped[int | None] = mapped_column(ForeignKey("stations.id"))  # None: a district health centre
    unit_code: Mapped[str] = mapped_column(String(10))
    unit_valid_from: Mapped[date] = mapped_column(Date)  # which unit bearing the code ((code, valid_from) key)
    level: Mapped[str] = mapped_column(String(10))  # commune | district
    year: Mapped[int] = mapped_column(Integer)
    version: Mapped[int] = mapped_column(Integer)
    population: Mapped[int | None] = mapped_column(BigInteger)
    population_managed: Mapped[int | None] = mapped_column(BigInteger)
    doctors: Mapped[int | None] = mapped_column(Integer)
    doctor_days_per_week: Mapped[int | None] = mapped_column(Integer)
    doctors_family_medicine: Mapped[int | None] = mapped_column(Integer)
    services_performed: Mapped[int | None] = mapped_column(Integer)
    services_in_list: Mapped[int | None] = mapped_column(Integer)
    national_criteria_met: Mapped[bool | None] = mapped_column(Boolean)
    criteria_scores: Mapped[dict | None] = mapped_column(JSON)
    bhyt_eligible: Mapped[bool | None] = mapped_column(Boolean)
    source: Mapped[str] = mapped_column(Text)
    changed: Mapped[list | None] = mapped_column(JSON)  # the fields this version set (the others carried over)
    recorded_by: Mapped[str | None] = mapped_column(String(120))
    recorded_at: Mapped[datetime] = mapped_column(Instant, default=utcnow)


class Outbox(OutboxMixin, InvestmentBase):
    pass


class Inbox(InboxMixin, InvestmentBase):
    pass


class Answer(AnswerMixin, InvestmentBase):
    """The answer of each keyed command recorded (common/answers.py): sent again, it is answered, not redone."""


class DataVersion(InvestmentBase):
    """One row (id 1) whose version every transaction writing investment's tables bumps before it commits
    (`WRITES`): the stamp of investment's kept answers, sound for the project status updated in place."""

    __tablename__ = "data_version"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    version: Mapped[int] = mapped_column(BigInteger, default=0)


WRITES = WriteCounter(InvestmentBase, DataVersion.__table__)  # type: ignore[arg-type]
