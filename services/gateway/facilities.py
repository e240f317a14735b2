"""The facility register (MA_CSKCB -> unit): registering facilities and asking which lie within a unit.

Claims and capitation name facilities, not units; the register is what lets unit scoping hold for them.
Used by the API (api/facilities.py, access.require_facility, the claims views) and by `ytcs facility add`.
"""

from __future__ import annotations

import re
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import units
from services.common.errors import DomainError
from services.gateway.models import Facility

KINDS = ("station", "district_centre", "other")
CODE = re.compile(r"^[0-9A-Z]{5}$")  # MA_CSKCB: 5 characters, province first (Kiên Giang 91)


def facility_dict(f: Facility) -> dict[str, Any]:
    at = f.created_at
    return {
        "code": f.code,
        "name": f.name,
        "unit": f.unit,
        "kind": f.kind,
        "created_at": at.isoformat() if at.tzinfo else at.isoformat() + "+00:00",
        "created_by": f.created_by,
    }


def register(session: Session, code: str, name: str, unit: str, kind: str, by: str) -> Facility:
    """Add a facility to the register."""
    if not isinstance(code, str) or not CODE.match(code):
        raise DomainError.one(
            "invalid_format", "Mã cơ sở KCB (MA_CSKCB) gồm đúng 5 ký tự số hoặc chữ in hoa.", "code", 422
        )
    if not name.strip() or len(name) > 200:
        raise DomainError.one("invalid_length", "Tên cơ sở phải có từ 1 đến 200 ký tự.", "name", 422)
    units.require_unit(unit, units.today(), "unit")  # the unit it serves now; an ended commune names its successor
    if kind not in KINDS:
        raise DomainError.one("invalid_choice", f"Loại cơ sở phải là một trong: {', '.join(KINDS)}.", "kind", 422)
    if session.get(Facility, code) is not None:
        raise DomainError.one("facility_exists", f"Cơ sở KCB {code} đã được đăng ký.", "code", 409)
    facility = Facility(code=code, name=name.strip(), unit=unit, kind=kind, created_by=by)
    session.add(facility)
    return facility


def codes_in(session: Session, unit: str) -> list[str]:
    """Facilities registered to `unit` or to a unit inside it (all registered ones for the province)."""
    stmt = select(Facility.code).order_by(Facility.code)
    if unit != units.PROVINCE_CODE:
        stmt = stmt.where(Facility.unit.in_(units.units_within(unit)))
    return list(session.scalars(stmt))


def codes_within(unit: str) -> list[str]:
    """`codes_in` from inside a request of the gateway app."""
    with current_app.extensions["ytcs"].session() as s:
        return codes_in(s, unit)


def unit_of(code: str) -> str | None:
    """The unit a facility is registered to (inside a request), or None when it is not registered."""
    with current_app.extensions["ytcs"].session() as s:
        return s.scalar(select(Facility.unit).where(Facility.code == code))
