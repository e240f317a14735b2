"""Projects: the list with each one's money, one project's detail with its records, its scope."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import NotFound, error
from services.investment import domain
from services.investment.models import (
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    ProjectStatusChange,
    Station,
)
from services.investment.views.rows import (
    capital_dict,
    codes_reaching,
    columns,
    disbursement_dict,
    estimate_dict,
    project_dict,
    project_totals,
    station_dict,
)


def project_figures(session: Session, project_id: int) -> domain.ProjectFigures:
    """What the guards and the answers need: latest estimate, settled cost, capital and disbursed per
    source (summed in the database)."""
    estimate = session.scalar(
        select(ProjectEstimate.amount)
        .where(ProjectEstimate.project_id == project_id)
        .order_by(ProjectEstimate.id.desc())
        .limit(1)
    )
    settled = session.scalar(select(ProjectCompletion.settled_cost).where(ProjectCompletion.project_id == project_id))
    capital = session.execute(
        select(ProjectCapital.source, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.project_id == project_id)
        .group_by(ProjectCapital.source)
    ).all()
    paid = dict(
        session.execute(
            select(ProjectDisbursement.source, func.sum(ProjectDisbursement.amount))
            .where(ProjectDisbursement.project_id == project_id)
            .group_by(ProjectDisbursement.source)
        ).all()
    )
    by_source = {src: domain.SourceFigures(int(amount or 0), int(paid.pop(src, 0) or 0)) for src, amount in capital}
    by_source.update({src: domain.SourceFigures(0, int(amount or 0)) for src, amount in paid.items()})
    return domain.ProjectFigures(
        estimate=int(estimate or 0),
        settled_cost=int(settled) if settled is not None else None,
        by_source=by_source,
    )


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
    today = today or date.today()
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


def get_project_row(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound([error("unknown_project", f"Không có dự án số {project_id}.", "project_id")])
    return project


def project_scope(session: Session, project_id: int, today: date) -> dict[str, Any]:
    """Just enough for the gateway's unit check before a write."""
    p = get_project_row(session, project_id)
    return {
        "id": p.id,
        "station_code": p.station_code,
        "current_station_code": units.successor_on(p.station_code, today),
    }


def project_detail(session: Session, project_id: int, today: date | None = None) -> dict[str, Any]:
    today = today or date.today()
    p = get_project_row(session, project_id)
    station = session.get(Station, p.station_id)
    figures = project_figures(session, p.id)
    by_source = {
        src: {
            "capital": f.capital,
            "disbursed": f.disbursed,
            "available": f.capital - f.disbursed,
        }
        for src, f in sorted(figures.by_source.items())
    }
    by_year = defaultdict(lambda: {"capital": 0, "disbursed": 0})
    for year, amount in session.execute(
        select(ProjectCapital.fiscal_year, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.project_id == p.id)
        .group_by(ProjectCapital.fiscal_year)
    ):
        by_year[str(year)]["capital"] = int(amount or 0)
    for year, amount in session.execute(
        select(ProjectDisbursement.year, func.sum(ProjectDisbursement.amount))
        .where(ProjectDisbursement.project_id == p.id)
        .group_by(ProjectDisbursement.year)
    ):
        by_year[str(year)]["disbursed"] = int(amount or 0)
    completion = session.scalar(select(ProjectCompletion).where(ProjectCompletion.project_id == p.id))
    return {
        **project_dict(p, station.name if station else "", today),
        **project_totals(figures),
        "station": station_dict(station) if station else None,
        "by_source": by_source,
        "by_year": dict(sorted(by_year.items())),
        "estimates": [
            estimate_dict(r)
            for r in session.scalars(
                select(ProjectEstimate).where(ProjectEstimate.project_id == p.id).order_by(ProjectEstimate.id)
            )
        ],
        "capital_records": [
            capital_dict(r)
            for r in session.scalars(
                select(ProjectCapital).where(ProjectCapital.project_id == p.id).order_by(ProjectCapital.id)
            )
        ],
        "disbursements": [
            disbursement_dict(r)
            for r in session.scalars(
                select(ProjectDisbursement)
                .where(ProjectDisbursement.project_id == p.id)
                .order_by(ProjectDisbursement.date, ProjectDisbursement.id)
            )
        ],
        "status_history": [
            columns(r, "from_status", "to_status", "effective_date", "decision_no", "note", "recorded_by")
            for r in session.scalars(
                select(ProjectStatusChange)
                .where(ProjectStatusChange.project_id == p.id)
                .order_by(ProjectStatusChange.id)
            )
        ],
        "completion": (
            columns(completion, "settled_cost", "completed_on", "decision_no", "decision_date") if completion else None
        ),
    }


