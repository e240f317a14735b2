"""The station register: stations (in force on a date, or all their versions) with their current attributes."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import units
from services.investment import domain
from services.investment.models import Station, StationStatus
from services.investment.records import station_dict, station_versions, status_dict
from services.investment.views.funding import station_funding
from services.investment.views.projects import list_projects
from services.investment.views.rows import attributes_dict, in_force_clause, latest_status, merged_into


def count_stations(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Station)) or 0)


def list_stations(
    session: Session, unit: str | None = None, at: date | None = None, history: bool = False
) -> list[dict[str, Any]]:
    """Stations of the base register (145) by default; those in force on `at`; or the whole history.
    Each with its current attributes (criteria reached and when, BHYT eligibility, building)."""
    stmt = select(Station).order_by(Station.district, Station.code, Station.valid_from)
    if at is not None:
        stmt = stmt.where(in_force_clause(at))
    elif not history:
        stmt = stmt.where(Station.valid_from == units.BASE_DATE)
    rows = [s for s in session.scalars(stmt) if unit is None or units.within(unit, s.code)]
    status = latest_status(session, up_to_year=at.year if at else None)
    return [{**station_dict(s), **attributes_dict(status.get(s.id, {}))} for s in rows]


def get_station(session: Session, code: str, at: date | None, today: date) -> dict[str, Any]:
    versions = station_versions(session, code)
    if not versions:
        raise domain.not_found_station(code)
    chosen = domain.version_shown(versions, at or today)
    history = session.scalars(
        select(StationStatus)
        .where(StationStatus.station_id == chosen.id)
        .order_by(StationStatus.attribute, StationStatus.year, StationStatus.id)
    )
    current = latest_status(session, [chosen.id]).get(chosen.id, {})
    merged_in = sorted(merged_into().get(code, {code}) - {code})
    project_codes = {code, *merged_in}
    return {
        **station_dict(chosen),
        **attributes_dict(current),
        "versions": [station_dict(s) for s in versions],
        "merged_in": merged_in,
        "current_successor": units.successor_on(code, today),
        "history": [status_dict(r) for r in history],
        "projects": list_projects(session, station_codes=project_codes, today=today),
        "funding": station_funding(session, code, None),
    }
