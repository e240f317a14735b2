"""Loads the station register from the unit reference data (services/common/units.py). Idempotent."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import units
from services.investment.models import Station


def station_name(commune: units.Commune) -> str:
    return f"Trạm Y tế {commune.name}"


def sync_register(session: Session) -> int:
    existing = {(s.code, s.valid_from): s for s in session.scalars(select(Station))}
    for c in units.communes():
        row = existing.get((c.code, c.valid_from)) or Station(code=c.code, valid_from=c.valid_from)
        row.name, row.commune_name, row.commune_kind = station_name(c), c.name, c.kind
        row.district, row.district_name = c.district, c.district_name
        row.valid_to, row.successor, row.legal_basis = c.valid_to, c.successor, c.legal_basis
        session.add(row)
    return len(units.communes())
