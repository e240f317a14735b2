"""Read side of investment."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import units
from services.investment.models import Station


def station_dict(s: Station) -> dict[str, Any]:
    return {
        "code": s.code,
        "name": s.name,
        "commune": s.commune_name,
        "commune_kind": s.commune_kind,
        "district": s.district,
        "district_name": s.district_name,
        "valid_from": s.valid_from.isoformat(),
        "valid_to": s.valid_to.isoformat() if s.valid_to else None,
        "successor": s.successor,
        "legal_basis": s.legal_basis,
    }


def list_stations(
    session: Session, unit: str | None = None, at: date | None = None, history: bool = False
) -> list[dict[str, Any]]:
    """Stations of the base register (145) by default; those in force on `at`; or the whole history."""
    stmt = select(Station).order_by(Station.district, Station.code, Station.valid_from)
    if at is not None:
        stmt = stmt.where(Station.valid_from <= at, (Station.valid_to.is_(None)) | (Station.valid_to >= at))
    elif not history:
        stmt = stmt.where(Station.valid_from == units.BASE_DATE)
    rows = session.scalars(stmt)
    return [station_dict(s) for s in rows if unit is None or units.within(unit, s.code)]
