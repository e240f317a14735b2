"""Projects: the list with each one's money, and a project's scope (its detail is records.project_detail)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock, units
from services.investment import domain
from services.investment.models import (
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    Station,
)
from services.investment.records import get_project_row, project_dict, project_totals
from services.investment.views.rows import codes_reaching


def _latest_estimate_subquery() -> Any:
    last = select(ProjectEstimate.project_id, func.max(ProjectEstimate.id).label("id")).group_by(
        ProjectEstimate.project_id
    )
    last = last.subquery()
    return (
        select(ProjectEstimate.project_id, ProjectEstimate.amount)
        .join(last, last.c.id == ProjectEstimate.id)
        .subquery()
    )


def _sum_by_project(model: Any) -> Any:
    return select(model.project_id, func.sum(model.amount).label("amount")).group_by(model.project_id).subquery()


def list_projects(
    session: Session,
    unit: str | None = None,
    station_codes: Iterable[str] | None = None,
    status: str | None = None,
    plan_id: int | None = None,
    item_code: str | None = None,
    today: date | None = None,
) -> list[dict[str, Any]]:
    today = today or clock.today()
    est = _latest_estimate_subquery()
    cap = _sum_by_project(ProjectCapital)
    paid = _sum_by_project(ProjectDisbursement)
    stmt = (
        select(
            Project,
            Station.name,
            est.c.amount,
            cap.c.amount,
            paid.c.amount,
            ProjectCompletion.settled_cost,
        )
        .join(Station, Station.id == Project.station_id)
        .outerjoin(est, est.c.project_id == Project.id)
        .outerjoin(cap, cap.c.project_id == Project.id)
        .outerjoin(paid, paid.c.project_id == Project.id)
        .outerjoin(ProjectCompletion, ProjectCompletion.project_id == Project.id)
        .order_by(Project.id)
    )
    codes = codes_reaching(unit, today)
    if station_codes is not None:
        codes = set(station_codes) if codes is None else codes & set(station_codes)
    if codes is not None:
        stmt = stmt.where(Project.station_code.in_(sorted(codes)))
    if status:
        stmt = stmt.where(Project.status == status)
    if plan_id is not None:
        stmt = stmt.where(Project.plan_id == plan_id)
    if item_code:
        stmt = stmt.where(Project.item_code == item_code)
    out = []
    for p, station_name, estimate, capital, disbursed, settled in session.execute(stmt):
        figures = domain.ProjectFigures(
            estimate=int(estimate or 0),
            settled_cost=int(settled) if settled is not None else None,
            by_source={"*": domain.SourceFigures(int(capital or 0), int(disbursed or 0))},
        )
        out.append({**project_dict(p, station_name, today), **project_totals(figures)})
    return out


def capital_by_source(
    session: Session, unit: str | None = None, plan_id: int | None = None, today: date | None = None
) -> list[dict[str, Any]]:
    """Each source of each project's capital (within `unit`, of `plan_id`) with what it was given and has paid: the
    accounts a treasury statement's payments are drawn from, as the gateway's template of payments lists them."""
    codes = codes_reaching(unit, today or clock.today())

    def by_source(model: Any) -> Any:
        return (
            select(model.project_id, model.source, func.sum(model.amount).label("amount"))
            .group_by(model.project_id, model.source)
            .subquery()
        )

    cap, paid = by_source(ProjectCapital), by_source(ProjectDisbursement)
    stmt = (
        select(Project.id, Project.title, Project.station_code, Station.name, Project.status, cap.c.source)
        .add_columns(cap.c.amount, func.coalesce(paid.c.amount, 0))
        .join(Station, Station.id == Project.station_id)
        .join(cap, cap.c.project_id == Project.id)
        .outerjoin(paid, (paid.c.project_id == Project.id) & (paid.c.source == cap.c.source))
        .order_by(Project.id, cap.c.source)
    )
    if codes is not None:
        stmt = stmt.where(Project.station_code.in_(sorted(codes)))
    if plan_id is not None:
        stmt = stmt.where(Project.plan_id == plan_id)
    names = ("project_id", "title", "station_code", "station_name", "status", "source", "capital", "disbursed")
    return [
        {**dict(zip(names[:6], r[:6], strict=True)), "capital": int(r[6] or 0), "disbursed": int(r[7] or 0)}
        for r in session.execute(stmt)
    ]


def project_scope(session: Session, project_id: int, today: date) -> dict[str, Any]:
    """Just enough for the gateway's unit check before a write."""
    p = get_project_row(session, project_id)
    return {
        "id": p.id,
        "station_code": p.station_code,
        "current_station_code": units.successor_on(p.station_code, today),
    }
