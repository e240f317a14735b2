"""What several views share: the answers' row shapes, plan and unit lookups, the register's stations in force
and their current attributes."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.common import catalog, units
from services.common.errors import DomainError, NotFound, error
from services.common.money import execution_rate
from services.investment import domain
from services.investment.domain.indicators import FACT_NAMES
from services.investment.models import (
    IndicatorFact,
    Project,
    ProjectCapital,
    ProjectDisbursement,
    ProjectEstimate,
    Station,
    StationStatus,
)

FAR_FUTURE = date(9999, 12, 31)


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
        "value": domain.typed_value(r.attribute, r.value),
        **columns(r, "year", "decision_no", "decision_date", "note", "recorded_by", "recorded_at"),
    }


def capital_dict(r: ProjectCapital) -> dict[str, Any]:
    return {
        **columns(r, "id", "project_id", "source", "fiscal_year", "fund_year"),
        "use": r.surplus_use,
        **columns(r, "amount", "decision_no", "decision_date", "recorded_by"),
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


def plan_or_refuse(
    plan_id: int, item_code: str | None = None, refusal: type[DomainError] = NotFound
) -> catalog.Plan:
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


def in_force_clause(at: date) -> Any:
    """In force on `at`. The base list's date (01/12/2019) is when the GSO list was taken, not when its
    communes began: they count as in force before it too."""
    return and_(
        or_(Station.valid_from <= at, Station.valid_from == units.BASE_DATE),
        or_(Station.valid_to.is_(None), Station.valid_to >= at),
    )


def latest_status(
    session: Session,
    station_ids: Iterable[int] | None = None,
    up_to_year: int | None = None,
    attributes: Iterable[str] | None = None,
) -> dict[int, dict[str, StationStatus]]:
    """The current value of each attribute of each station: the latest record by (year, id), optionally
    as of a year (records of later years ignored). One query with a window function."""
    rank = (
        func.row_number()
        .over(
            partition_by=(StationStatus.station_id, StationStatus.attribute),
            order_by=(StationStatus.year.desc(), StationStatus.id.desc()),
        )
        .label("rank")
    )
    inner = select(StationStatus.id, rank)
    if up_to_year is not None:
        inner = inner.where(StationStatus.year <= up_to_year)
    if attributes is not None:
        inner = inner.where(StationStatus.attribute.in_(list(attributes)))
    if station_ids is not None:
        inner = inner.where(StationStatus.station_id.in_(list(station_ids)))
    sub = inner.subquery()
    rows = session.scalars(select(StationStatus).join(sub, sub.c.id == StationStatus.id).where(sub.c.rank == 1))
    out: dict[int, dict[str, StationStatus]] = defaultdict(dict)
    for r in rows:
        out[r.station_id][r.attribute] = r
    return out


def current_value(current: dict[str, StationStatus], attribute: str) -> Any:
    """An attribute's current value, typed (None: never recorded)."""
    r = current.get(attribute)
    return domain.typed_value(attribute, r.value) if r else None


def attributes_dict(current: dict[str, StationStatus]) -> dict[str, Any]:
    """Flat answers people ask for (reached? in which year?) plus the detail of every attribute."""

    def value(attr: str) -> Any:
        return current_value(current, attr)

    def year_reached(attr: str) -> int | None:
        r = current.get(attr)
        return r.year if r is not None and r.value == "true" else None

    return {
        "national_health_criteria": value("national_health_criteria"),
        "national_health_criteria_year": year_reached("national_health_criteria"),
        "nrd_standard": value("nrd_standard"),
        "nrd_standard_year": year_reached("nrd_standard"),
        "bhyt_eligible": value("bhyt_eligible"),
        "building_condition": value("building_condition"),
        "status": {
            attr: {"value": domain.typed_value(attr, r.value), "year": r.year, "decision_no": r.decision_no}
            for attr, r in sorted(current.items())
        },
    }


@cache
def merged_into() -> dict[str, set[str]]:
    """Commune code -> the codes whose figures end up under it after their merger (itself included)."""
    out: dict[str, set[str]] = defaultdict(set)
    for c in units.communes():
        out[units.successor_on(c.code, FAR_FUTURE)].add(c.code)
        out[c.code].add(c.code)
    return dict(out)


def project_dict(p: Project, station_name: str, today: date) -> dict[str, Any]:
    return {
        **columns(p, "id", "station_code"),
        "station_name": station_name,
        "current_station_code": units.successor_on(p.station_code, today),
        **columns(p, "kind", "title", "plan_id", "item_code", "status", "start_year", "end_year"),
        **columns(p, "decision_no", "decision_date", "created_by"),
    }


def codes_reaching(unit: str | None, on: date = FAR_FUTURE) -> set[str] | None:
    """Station codes whose projects and money a unit sees on `on`: those inside it, and those merged into a
    commune inside it (a merged station's projects are now the successor's); by default those that can
    contribute in some year. None: no narrowing."""
    if unit is None or unit == units.PROVINCE_CODE:
        return None
    return {
        c.code
        for c in units.communes()
        if units.within(unit, c.code) or units.within(unit, units.successor_on(c.code, on))
    }


def check_unit(unit: str | None) -> None:
    if unit is not None:
        units.require_unit(unit)


def station_versions(session: Session, code: str) -> list[Station]:
    """Every version of a (possibly reused) commune code, oldest first."""
    return list(session.scalars(select(Station).where(Station.code == code).order_by(Station.valid_from)))


def stations_on(session: Session, on: date, scope: Iterable[str | None]) -> list[Station]:
    """Stations in force on a date inside every given unit scope (None scopes ignored)."""
    rows = session.scalars(select(Station).where(in_force_clause(on)).order_by(Station.code))
    return [s for s in rows if all(u is None or units.within(u, s.code) for u in scope)]


def fact_dict(r: IndicatorFact) -> dict[str, Any]:
    return {
        **columns(r, *FACT_NAMES, "source", "version"),
        "changed": list(r.changed or []),
        **columns(r, "recorded_by", "recorded_at"),
    }


