"""The investment service layer: one function per command, each one unit of work in the caller's
transaction, writing the business rows and their outbox events together.

Money rows are only ever inserted. Every money command first locks its project row (`FOR UPDATE` on
PostgreSQL; SQLite serialises writers), then reads the figures the guards need, so two concurrent
commands cannot both pass a guard that only one of them may pass.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from marshmallow import ValidationError
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from services.common import catalog, units
from services.common.contracts import investment as contract
from services.common.errors import DomainError, NotFound, error
from services.common.outbox import record_event
from services.investment import domain, queries
from services.investment.models import (
    Outbox,
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    ProjectStatusChange,
    Station,
    StationStatus,
)
from services.investment.queries import plan_or_refuse, project_figures


def _event(session: Session, event_type: str, data: dict[str, Any], correlation_id: str | None) -> None:
    record_event(session, Outbox, event_type, data, correlation_id)


def _load(schema: type, payload: dict[str, Any]) -> dict[str, Any]:
    """The RPC payload is validated again with the contract's schema (the gateway is not the only caller);
    a bad payload is a named refusal, never a crash of the worker."""
    try:
        return schema().load(payload)
    except ValidationError as exc:
        raise DomainError(
            [
                error("invalid", "; ".join(map(str, messages)) if isinstance(messages, list) else str(messages), field)
                for field, messages in sorted(exc.normalized_messages().items())
            ]
        ) from None


# --------------------------------------------------------------------------- plan and station lookups


def _versions(session: Session, code: str) -> list[Station]:
    return list(session.scalars(select(Station).where(Station.code == code).order_by(Station.valid_from)))


def _in_force(s: Station, on: date) -> bool:
    return domain.in_force(s.valid_from, s.valid_to, on)


def _overlaps(s: Station, start: date, end: date) -> bool:
    return domain.overlaps(s.valid_from, s.valid_to, start, end)


def _not_in_force(
    s: Station | None, code: str, when: str, field_name: str, on: date | None = None
) -> DomainError:
    """unit_not_in_force naming the successor: on a date, the one rule of services/common/units.py."""
    errs = units.check_unit(code, on, field_name) if on is not None else []
    if errs:
        return DomainError(errs)
    successor = s.successor if s is not None and s.valid_to is not None else None
    hint = f" (hiệu lực đến {s.valid_to:%d/%m/%Y}, đơn vị kế thừa mã {successor})" if s and successor else ""
    return DomainError(
        [
            error(
                "unit_not_in_force",
                f"Trạm y tế mã {code} không còn hoặc chưa hoạt động {when}{hint}.",
                field_name,
                successor=successor,
            )
        ]
    )


def station_for_project(session: Session, code: str, plan: catalog.Plan, on: date | None, today: date) -> Station:
    """The station version a project belongs to: the one in force on the project's date (its decision,
    else 1 January of its start year); with no date, one in force during the plan's period (today's if
    several: a reused commune code)."""
    versions = _versions(session, code)
    if not versions:
        raise DomainError.one("unknown_station", f"Không có trạm y tế (mã xã) {code}.", "station_code")
    if on is not None:
        found = next((s for s in versions if _in_force(s, on)), None)
        if found is None:
            raise _not_in_force(versions[-1], code, f"vào ngày {on:%d/%m/%Y}", "station_code", on)
        return found
    start, end = date(plan.period_from, 1, 1), date(plan.period_to, 12, 31)
    during = [s for s in versions if _overlaps(s, start, end)]
    if not during:
        raise _not_in_force(
            versions[-1], code, f"trong kỳ kế hoạch {plan.period_from}–{plan.period_to}", "station_code"
        )
    return next((s for s in during if _in_force(s, today)), during[-1])


def station_for_status(session: Session, code: str, year: int, on: date | None, valid_from: date | None) -> Station:
    """The station version a recorded fact is about: the one named, else the one in force on the
    decision date, else the latest one in force during `year`."""
    versions = _versions(session, code)
    if not versions:
        raise NotFound([error("unknown_station", f"Không có trạm y tế (mã xã) {code}.", "code")])
    if valid_from is not None:
        found = next((s for s in versions if s.valid_from == valid_from), None)
        if found is None:
            raise DomainError.one(
                "unknown_station_version",
                f"Trạm y tế mã {code} không có phiên bản hiệu lực từ {valid_from:%d/%m/%Y}.",
                "station_valid_from",
            )
        return found
    if on is not None:
        found = next((s for s in versions if _in_force(s, on)), None)
        if found is None:
            raise _not_in_force(versions[-1], code, f"vào ngày {on:%d/%m/%Y}", "decision_date", on)
        return found
    during = [s for s in versions if _overlaps(s, date(year, 1, 1), date(year, 12, 31))]
    if not during:
        raise _not_in_force(versions[-1], code, f"trong năm {year}", "year")
    return during[-1]


# --------------------------------------------------------------------------- projects


def _lock_row(session: Session, model: type, row_id: int, column: Any) -> Any:
    """Lock one row for the rest of the unit of work. PostgreSQL: SELECT … FOR UPDATE. SQLite: pysqlite
    only opens its transaction at the first write, so a no-op UPDATE takes the database's write lock
    before the guard reads anything (two writers are serialised, the second one reads the first's rows)."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(update(model).where(model.id == row_id).values({column: column}))
    return session.get(model, row_id, with_for_update=True)


def lock_project(session: Session, project_id: int) -> Project:
    project = _lock_row(session, Project, project_id, Project.status)
    if project is None:
        raise NotFound([error("unknown_project", f"Không có dự án số {project_id}.", "project_id")])
    return project


def register_project(
    session: Session,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    data = _load(contract.ProjectIn, payload)
    today = today or date.today()
    domain.check_kind(data["kind"])
    domain.check_estimate(data["estimated_cost"])
    domain.check_years(data["start_year"], data["end_year"])
    domain.check_initial_status(data["status"])
    plan = plan_or_refuse(data["plan_id"], data["item_code"])
    on = data["decision_date"] or (date(data["start_year"], 1, 1) if data["start_year"] else None)
    station = station_for_project(session, data["station_code"], plan, on, today)
    if not units.within(plan.unit, station.code):
        raise DomainError.one(
            "station_outside_plan",
            f"Trạm y tế {station.name} ({station.code}) không thuộc địa bàn của kế hoạch {plan.number}.",
            "station_code",
        )
    project = Project(
        station_id=station.id,
        station_code=station.code,
        kind=data["kind"],
        title=data["title"],
        plan_id=plan.id,
        item_code=data["item_code"],
        status=data["status"],
        start_year=data["start_year"],
        end_year=data["end_year"],
        decision_no=data["decision_no"],
        decision_date=data["decision_date"],
        created_by=actor,
    )
    session.add(project)
    session.flush()
    session.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=None,
            to_status=project.status,
            effective_date=data["decision_date"] or today,
            decision_no=data["decision_no"],
            recorded_by=actor,
        )
    )
    session.add(
        ProjectEstimate(
            project_id=project.id,
            amount=data["estimated_cost"],
            decision_no=data["decision_no"],
            decision_date=data["decision_date"],
            note="Tổng mức đầu tư khi đăng ký dự án",
            recorded_by=actor,
        )
    )
    _event(
        session,
        "project_registered",
        {
            "project_id": project.id,
            "station_code": project.station_code,
            "kind": project.kind,
            "plan_id": project.plan_id,
            "item_code": project.item_code,
            "estimated_cost": data["estimated_cost"],
        },
        correlation_id,
    )
    session.flush()
    return queries.project_detail(session, project.id, today)


def assign_capital(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    data = _load(contract.CapitalIn, payload)
    project = lock_project(session, project_id)
    domain.check_year(data["fiscal_year"], "fiscal_year")
    domain.check_source(data["source"], data["fiscal_year"], data["fund_year"], data["use"])
    figures = project_figures(session, project.id)
    domain.check_capital(figures, data["source"], data["amount"])
    row = ProjectCapital(
        project_id=project.id,
        source=data["source"],
        fiscal_year=data["fiscal_year"],
        fund_year=data["fund_year"],
        surplus_use=data["use"],
        amount=data["amount"],
        decision_no=data["decision_no"],
        decision_date=data["decision_date"],
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    _event(
        session,
        "capital_assigned",
        {
            "capital_id": row.id,
            "project_id": project.id,
            "source": row.source,
            "fiscal_year": row.fiscal_year,
            "fund_year": row.fund_year,
            "use": row.surplus_use,
            "amount": row.amount,
        },
        correlation_id,
    )
    return {
        **queries.capital_dict(row),
        "project": queries.project_totals(figures.plus(row.source, capital=row.amount)),
    }


def disburse(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    data = _load(contract.DisbursementIn, payload)
    project = lock_project(session, project_id)
    domain.check_source(data["source"])
    domain.check_year(data["date"].year, "date")
    figures = project_figures(session, project.id)
    domain.check_disbursement(figures, data["source"], data["amount"])
    row = ProjectDisbursement(
        project_id=project.id,
        source=data["source"],
        amount=data["amount"],
        date=data["date"],
        year=data["date"].year,
        reference=data["reference"],
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    _event(
        session,
        "project_disbursed",
        {
            "disbursement_id": row.id,
            "project_id": project.id,
            "source": row.source,
            "amount": row.amount,
            "date": row.date.isoformat(),
        },
        correlation_id,
    )
    after = figures.plus(row.source, disbursed=row.amount)
    return {**queries.disbursement_dict(row), "project": queries.project_totals(after)}


def revise_estimate(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    data = _load(contract.EstimateIn, payload)
    project = lock_project(session, project_id)
    domain.check_revised_estimate(project_figures(session, project.id), data["amount"])
    row = ProjectEstimate(
        project_id=project.id,
        amount=data["amount"],
        decision_no=data["decision_no"],
        decision_date=data["decision_date"],
        note=data["note"],
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    _event(
        session,
        "project_estimate_revised",
        {"estimate_id": row.id, "project_id": project.id, "amount": row.amount, "decision_no": row.decision_no},
        correlation_id,
    )
    return {**queries.estimate_dict(row), "project": queries.project_totals(project_figures(session, project.id))}


def _move(
    session: Session,
    project: Project,
    to: str,
    on: date,
    decision_no: str | None,
    note: str | None,
    actor: str | None,
    correlation_id: str | None,
) -> None:
    session.add(
        ProjectStatusChange(
            project_id=project.id,
            from_status=project.status,
            to_status=to,
            effective_date=on,
            decision_no=decision_no,
            note=note,
            recorded_by=actor,
        )
    )
    _event(
        session,
        "project_status_changed",
        {"project_id": project.id, "from_status": project.status, "to_status": to, "effective_date": on.isoformat()},
        correlation_id,
    )
    project.status = to  # the current status, kept next to its append-only history


def change_status(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    data = _load(contract.StatusIn, payload)
    project = lock_project(session, project_id)
    domain.check_transition(project.status, data["status"])
    on = data["effective_date"] or today or date.today()
    _move(session, project, data["status"], on, data["decision_no"], data["note"], actor, correlation_id)
    session.flush()
    return queries.project_detail(session, project.id, today)


def complete_project(
    session: Session,
    project_id: int,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
    today: date | None = None,
) -> dict[str, Any]:
    data = _load(contract.CompletionIn, payload)
    project = lock_project(session, project_id)
    steps = domain.completion_steps(project.status)
    domain.check_settlement(project_figures(session, project.id), data["settled_cost"])
    if data["decision_date"] < data["completed_on"]:
        raise DomainError.one(
            "invalid_date", "Ngày quyết định phê duyệt quyết toán trước ngày hoàn thành công trình.", "decision_date"
        )
    row = ProjectCompletion(
        project_id=project.id,
        settled_cost=data["settled_cost"],
        completed_on=data["completed_on"],
        decision_no=data["decision_no"],
        decision_date=data["decision_date"],
        recorded_by=actor,
    )
    session.add(row)
    for step in steps:
        on = data["completed_on"] if step == "completed" else data["decision_date"]
        _move(session, project, step, on, data["decision_no"], None, actor, correlation_id)
    session.flush()
    _event(
        session,
        "project_completed",
        {"project_id": project.id, "settled_cost": row.settled_cost, "completed_on": row.completed_on.isoformat()},
        correlation_id,
    )
    return queries.project_detail(session, project.id, today)


# --------------------------------------------------------------------------- station attributes


def record_station_status(
    session: Session,
    code: str,
    payload: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    data = _load(contract.StationStatusIn, payload)
    domain.check_year(data["year"], "year")
    value = domain.parse_attribute_value(data["attribute"], data["value"])
    station = station_for_status(session, code, data["year"], data["decision_date"], data["station_valid_from"])
    # Serialise recordings for this station, so "becomes true" is decided once.
    _lock_row(session, Station, station.id, Station.code)
    previous = session.execute(
        select(StationStatus.id, StationStatus.year, StationStatus.value)
        .where(StationStatus.station_id == station.id, StationStatus.attribute == data["attribute"])
        .order_by(StationStatus.year.desc(), StationStatus.id.desc())
        .limit(1)
    ).first()
    row = StationStatus(
        station_id=station.id,
        station_code=station.code,
        attribute=data["attribute"],
        value=value,
        year=data["year"],
        decision_no=data["decision_no"],
        decision_date=data["decision_date"],
        note=data["note"],
        recorded_by=actor,
    )
    session.add(row)
    session.flush()
    before = domain.StatusRecord(previous.id, previous.year, previous.value) if previous else None
    new = domain.StatusRecord(row.id, row.year, row.value)
    reached = data["attribute"] in domain.CRITERIA and domain.becomes_true(before, new)
    if reached:
        _event(
            session,
            "station_criteria_reached",
            {"station_code": station.code, "criterion": row.attribute, "year": row.year},
            correlation_id,
        )
    if data["attribute"] == domain.FACILITY_ATTRIBUTE:
        _event(
            session,
            "station_facility_set",
            {"station_code": station.code, "facility_code": row.value, "year": row.year},
            correlation_id,
        )
    current = domain.current_of([r for r in (before, new) if r is not None])
    return {
        **queries.status_dict(row),
        "station_valid_from": station.valid_from.isoformat(),
        "current": domain.typed_value(row.attribute, current.value) if current else None,
        "current_year": current.year if current else None,
        "criteria_reached": reached,
    }
