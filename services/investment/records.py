"""Investment's rows as both sides read them: every row as the contract answers it, a project's figures and
detail, the station versions of a code, a plan of the catalog, and whose indicator facts a code names.

The handlers (write side) answer with these and the views (read side) show them; the two sides may not import
each other, so these live here once.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import catalog, clock, units
from services.common.errors import DomainError, NotFound, error
from services.common.money import execution_rate
from services.investment import domain
from services.investment.domain.indicators import FACT_NAMES
from services.investment.models import (
    IndicatorFact,
    Project,
    ProjectCapital,
    ProjectCompletion,
    ProjectDisbursement,
    ProjectEstimate,
    ProjectStatusChange,
    Station,
    StationStatus,
)

CENTRE_PREFIX = "Trung tâm Y tế "


def columns(row: Any, *names: str) -> dict[str, Any]:
    """The named columns of a row as an answer shows them: dates (and times) as ISO text, the rest as stored."""
    out = {}
    for name in names:
        value = getattr(row, name)
        out[name] = value.isoformat() if isinstance(value, date) else value
    return out


def station_dict(s: Station) -> dict[str, Any]:
    return {
        **columns(s, "code", "name"),
        "commune": s.commune_name,
        "commune_kind": s.commune_kind,
        **columns(s, "district", "district_name", "valid_from", "valid_to", "successor", "legal_basis"),
    }


def status_dict(r: StationStatus) -> dict[str, Any]:
    return {
        **columns(r, "id", "station_code", "attribute"),
        "label": domain.ATTRIBUTE_LABELS.get(r.attribute, r.attribute),
        "value": domain.typed_value(r.attribute, r.value),
        "value_in_words": domain.value_in_words(r.attribute, r.value),
        **columns(r, "year", "decision_no", "decision_date", "note", "recorded_by", "recorded_at"),
    }


def capital_dict(r: ProjectCapital) -> dict[str, Any]:
    return {
        **columns(r, "id", "project_id", "source", "fiscal_year", "fund_year"),
        "use": r.surplus_use,
        **columns(r, "amount", "decision_no", "decision_date", "recorded_by", "funded_by_allocation"),
    }


def disbursement_dict(r: ProjectDisbursement) -> dict[str, Any]:
    return columns(r, "id", "project_id", "source", "amount", "date", "reference", "recorded_by")


def estimate_dict(r: ProjectEstimate) -> dict[str, Any]:
    return columns(r, "id", "project_id", "amount", "decision_no", "decision_date", "note", "recorded_by")


def project_totals(f: domain.ProjectFigures) -> dict[str, Any]:
    return {
        "estimated_cost": f.estimate,
        "settled_cost": f.settled_cost,
        "capital": f.capital,
        "disbursed": f.disbursed,
        "remaining_to_finance": f.remaining_to_finance,
        "undisbursed_capital": f.capital - f.disbursed,
        "execution_rate": execution_rate(f.capital, f.disbursed),
    }


def plan_or_refuse(plan_id: int, item_code: str | None = None, refusal: type[DomainError] = NotFound) -> catalog.Plan:
    """The catalog's plan (and item). A read naming an unknown one is NotFound; a command passes DomainError
    (the command is refused, nothing is missing from its address)."""
    try:
        plan = catalog.get_plan(plan_id)
    except KeyError:
        raise refusal([error("unknown_plan", f"Không có kế hoạch số hiệu {plan_id}.", "plan_id")]) from None
    if item_code is not None and not plan.has_item(item_code):
        message = f"Kế hoạch {plan.number} không có mục {item_code}."
        raise refusal([error("unknown_item", message, "item_code")])
    return plan


def project_dict(p: Project, station_name: str, today: date) -> dict[str, Any]:
    return {
        **columns(p, "id", "station_code"),
        "station_name": station_name,
        "current_station_code": units.successor_on(p.station_code, today),
        **columns(p, "kind", "title", "plan_id", "item_code", "status", "start_year", "end_year"),
        **columns(p, "decision_no", "decision_date", "created_by"),
    }


def station_versions(session: Session, code: str) -> list[Station]:
    """Every version of a (possibly reused) commune code, oldest first."""
    return list(session.scalars(select(Station).where(Station.code == code).order_by(Station.valid_from)))


def fact_dict(r: IndicatorFact) -> dict[str, Any]:
    return {
        **columns(r, *FACT_NAMES, "source", "version"),
        "changed": list(r.changed or []),
        **columns(r, "recorded_by", "recorded_at"),
    }


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
    linked = session.execute(
        select(ProjectCapital.funded_by_allocation, func.sum(ProjectCapital.amount))
        .where(ProjectCapital.project_id == project_id, ProjectCapital.funded_by_allocation.is_not(None))
        .group_by(ProjectCapital.funded_by_allocation)
    ).all()
    return domain.ProjectFigures(
        estimate=int(estimate or 0),
        settled_cost=int(settled) if settled is not None else None,
        by_source=by_source,
        linked={int(a): int(amount or 0) for a, amount in linked},
    )


def linked_to_allocation(session: Session, allocation_id: int) -> int:
    """Σ capital (reductions netted) of every project naming the finance allocation `allocation_id` as its
    funding: what a new link to it must leave within the allocation's room."""
    return linked_to_allocations(session, [allocation_id])[allocation_id]


def linked_to_allocations(session: Session, allocation_ids: Iterable[int]) -> dict[int, int]:
    """`linked_to_allocation` of each of these allocations in one query (0 for one no capital names); finance
    is told it, through the gateway, before an allocation keeps less (the `linked_capital` RPC)."""
    ids = sorted(set(allocation_ids))
    totals = dict.fromkeys(ids, 0)
    if ids:
        rows = session.execute(
            select(ProjectCapital.funded_by_allocation, func.sum(ProjectCapital.amount))
            .where(ProjectCapital.funded_by_allocation.in_(ids))
            .group_by(ProjectCapital.funded_by_allocation)
        )
        totals.update({int(a): int(amount or 0) for a, amount in rows})
    return totals


def get_project_row(session: Session, project_id: int) -> Project:
    project = session.get(Project, project_id)
    if project is None:
        raise NotFound([error("unknown_project", f"Không có dự án số {project_id}.", "project_id")])
    return project


def project_detail(session: Session, project_id: int, today: date | None = None) -> dict[str, Any]:
    today = today or clock.today()
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


class Subject:
    """What a fact is about: a station version, or a district health centre (a district unit)."""

    def __init__(self, code: str, valid_from: date, level: str, name: str, station: Station | None) -> None:
        self.code, self.valid_from, self.level, self.name, self.station = code, valid_from, level, name, station

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "valid_from": self.valid_from.isoformat(),
            "level": self.level,
            "name": self.name,
        }


def _unknown(code: str) -> NotFound:
    return NotFound(
        [error("unknown_station", f"Không có trạm y tế (mã xã) hay trung tâm y tế huyện mã {code}.", "code")]
    )


def subject(session: Session, code: str, year: int, valid_from: date | None = None) -> Subject:
    """The station in force during `year` (the latest one when a code was reused, unless `valid_from`
    names one), or the district health centre of a district that existed during the year."""
    domain.check_year(year, "year")
    if not isinstance(code, str) or not units.is_known_unit(code):
        raise _unknown(code)
    level = units.level_of(code)
    if level == "district":
        versions = district_during(code, year)
        if not versions:
            raise DomainError(units.check_unit(code, date(year, 12, 31), "code"))
        return Subject(code, versions[-1].valid_from, "district", CENTRE_PREFIX + versions[-1].name, None)
    if level != "commune":
        raise _unknown(code)
    station = domain.version_for_fact(station_versions(session, code), code, year, None, valid_from)
    return Subject(station.code, station.valid_from, "commune", station.name, station)


def district_during(code: str, year: int) -> list[units.Unit]:
    """The versions of a district that existed during `year` (none after the 2025 reform)."""
    return domain.during_year((u for u in units.unit_versions().get(code, ()) if u.level == "district"), year)


def fact_versions(session: Session, s: Subject, year: int) -> list[IndicatorFact]:
    return list(
        session.scalars(
            select(IndicatorFact)
            .where(
                IndicatorFact.unit_code == s.code,
                IndicatorFact.unit_valid_from == s.valid_from,
                IndicatorFact.year == year,
            )
            .order_by(IndicatorFact.version)
        )
    )


def facts_of(session: Session, code: str, year: int, valid_from: date | None = None) -> dict[str, Any]:
    """The current facts of a unit for a year and every earlier version (oldest first)."""
    s = subject(session, code, year, valid_from)
    history = [fact_dict(r) for r in fact_versions(session, s, year)]
    return {
        **s.as_dict(),
        "year": year,
        "current": history[-1] if history else None,
        "history": history,
    }


def current_values(rows: list[IndicatorFact]) -> dict[str, Any] | None:
    """The values of the latest version with its source: what the next version is merged over."""
    if not rows:
        return None
    return {**(fact_values(rows[-1]) or {}), "source": rows[-1].source}


def fact_values(r: IndicatorFact | None) -> dict[str, Any] | None:
    return None if r is None else {n: getattr(r, n) for n in FACT_NAMES}
