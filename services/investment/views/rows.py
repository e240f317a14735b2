"""What several views share: the register's stations in force and their current attributes, where a merged
station's figures went, and the unit a question is scoped to."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from functools import cache
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from services.common import units
from services.investment import domain
from services.investment.models import (
    Station,
    StationStatus,
)

FAR_FUTURE = date(9999, 12, 31)


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
        "building_condition_in_words": (
            domain.value_in_words("building_condition", current["building_condition"].value)
            if "building_condition" in current
            else None
        ),
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


def codes_reaching(unit: str | None, on: date = FAR_FUTURE) -> set[str] | None:
    """Station codes whose projects and money a unit sees on `on`: those inside it, and those merged into a
    commune inside it (a merged station's projects are now the successor's); by default those that can
    contribute in some year. None: no narrowing."""
    if unit is None or unit == units.PROVINCE_CODE:
        return None
    return units.reaching(unit, on)


def check_unit(unit: str | None) -> None:
    if unit is not None:
        units.require_unit(unit)


def stations_on(session: Session, on: date, scope: Iterable[str | None], today: date) -> list[Station]:
    """Stations in force on a date that every given unit scope answers for today (None scopes ignored): inside
    it, or merged into a unit inside it by then (units.answers_for). So a ward's year before the merger lists
    the stations of the communes it is now made of, as they were that year."""
    rows = session.scalars(select(Station).where(in_force_clause(on)).order_by(Station.code))
    return [s for s in rows if all(u is None or units.answers_for(u, s.code, today) for u in scope)]
