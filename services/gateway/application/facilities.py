"""The facility register (MA_CSKCB -> unit): registering facilities and asking which lie within a unit.

Claims and capitation name facilities, not units; the register is what lets unit scoping hold for them.
Used by the API (api/facilities.py), the register page (web/facility_pages.py), unit scoping of facilities, the
claims views and `ytcs facility add`. The code's rule is services.common.facility_code, as everywhere.
"""

from __future__ import annotations

from typing import Any

from flask import current_app, g
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.common import clock, facility_code, units
from services.common.contracts.claims import FACILITY
from services.common.contracts.fields import Text
from services.common.errors import DomainError, NotFound
from services.gateway import accounts
from services.gateway.application.access import require_unit
from services.gateway.application.remote import rpc
from services.gateway.errors import Unavailable
from services.gateway.models import Facility

KINDS = ("station", "district_centre", "other")


class FacilityIn(Schema):
    """A facility to register (the API's body and the register page's form)."""

    code = fields.String(required=True, validate=FACILITY, metadata={"example": "91001"})
    name = Text(  # no bidi controls: a name shown on pages and in reports
        required=True, validate=validate.Length(min=1, max=200), metadata={"example": "Trạm Y tế xã Vĩnh Thuận"}
    )
    unit = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={"description": "GSO code of the commune or district served", "example": "31060"},
    )
    kind = fields.String(load_default="station", validate=validate.OneOf(KINDS), metadata={"example": "station"})


def facility_dict(f: Facility) -> dict[str, Any]:
    return {
        "code": f.code,
        "name": f.name,
        "unit": f.unit,
        "kind": f.kind,
        "created_at": f.created_at.isoformat(),
        "created_by": f.created_by,
    }


def register(session: Session, code: str, name: str, unit: str, kind: str, by: str) -> Facility:
    """Add a facility to the register."""
    if not facility_code.is_code(code):
        raise DomainError.one("invalid_format", facility_code.MESSAGE + ".", "code", 422)
    if not name.strip() or len(name) > 200:
        raise DomainError.one("invalid_length", "Tên cơ sở phải có từ 1 đến 200 ký tự.", "name", 422)
    units.require_unit(unit, clock.today(), "unit")  # the unit it serves now; an ended commune names its successor
    if kind not in KINDS:
        raise DomainError.one("invalid_choice", f"Loại cơ sở phải là một trong: {', '.join(KINDS)}.", "kind", 422)
    if session.get(Facility, code) is not None:
        raise DomainError.one("facility_exists", f"Cơ sở KCB {code} đã được đăng ký.", "code", 409)
    facility = Facility(code=code, name=name.strip(), unit=unit, kind=kind, created_by=by)
    session.add(facility)
    return facility


def codes_in(session: Session, unit: str) -> list[str]:
    """Facilities registered to `unit`, to a unit inside it or to one merged into it (all registered ones for the
    province)."""
    stmt = select(Facility.code).order_by(Facility.code)
    if unit != units.PROVINCE_CODE:
        stmt = stmt.where(Facility.unit.in_(units.reaching(unit, clock.today())))
    return list(session.scalars(stmt))


def codes_within(unit: str) -> list[str]:
    """`codes_in` from inside a request of the gateway app."""
    with current_app.extensions["ytcs"].session() as s:
        return codes_in(s, unit)


def unit_of(code: str) -> str | None:
    """The unit a facility is registered to (inside a request), or None when it is not registered."""
    with current_app.extensions["ytcs"].session() as s:
        return s.scalar(select(Facility.unit).where(Facility.code == code))


def require_facility(code: str, field: str = "facility_code") -> None:
    """A scoped principal may touch a facility only if it is registered to a unit within their scope;
    unscoped (province or no unit) principals may touch any facility."""
    principal: accounts.Principal = g.principal
    if not principal.scoped:
        return
    unit = unit_of(code)
    if unit is None or not principal.sees_unit(unit):
        raise DomainError.one(
            "facility_forbidden",
            f"Cơ sở KCB {code} không thuộc phạm vi được giao ({principal.unit}) hoặc chưa được đăng ký.",
            field,
            403,
        )


def scoped_facilities() -> list[str] | None:
    """The facility codes a scoped principal may see (for list filters); None means all of them."""
    principal: accounts.Principal = g.principal
    if not principal.scoped:
        return None
    return codes_within(principal.unit)  # type: ignore[arg-type]


def listing(unit: str | None) -> list[dict[str, Any]]:
    """Registered facilities, within `unit` (already scoped) or all of them."""
    stmt = select(Facility).order_by(Facility.code)
    if unit is not None:
        stmt = stmt.where(Facility.unit.in_(units.reaching(unit, clock.today())))
    with current_app.extensions["ytcs"].session() as s:
        return [facility_dict(f) for f in s.scalars(stmt)]


def get(code: str) -> dict[str, Any]:
    """One registered facility, or NotFound (the caller has checked require_facility)."""
    with current_app.extensions["ytcs"].session() as s:
        facility = s.get(Facility, code)
        if facility is None:
            raise NotFound(
                [{"field": "code", "code": "unknown_facility", "message": f"Cơ sở KCB {code} chưa được đăng ký."}]
            )
        return facility_dict(facility)


def create(data: dict[str, Any]) -> dict[str, Any]:
    """Register a facility (`data` loaded by FacilityIn) in a unit the caller may write in: the API's POST and
    the register page's form."""
    if units.is_known_unit(data["unit"]):
        require_unit(data["unit"])
    with current_app.extensions["ytcs"].session() as s:
        facility = register(s, data["code"], data["name"], data["unit"], data["kind"], g.principal.name)
        try:
            s.commit()
        except IntegrityError:  # registered by another request at the same moment
            raise DomainError.one(
                "facility_exists", f"Cơ sở KCB {data['code']} đã được đăng ký.", "code", 409
            ) from None
        return facility_dict(facility)


def facility_name(code: str | None) -> str | None:
    """The registered name of a facility, None when unknown."""
    return names_of({code}).get(code) if code is not None else None


def names_of(codes: set[str]) -> dict[str, str]:
    """The registered names of those facilities that are registered, in one read."""
    if not codes:
        return {}
    with current_app.extensions["ytcs"].session() as s:
        rows = s.execute(select(Facility.code, Facility.name).where(Facility.code.in_(codes)))
        return {code: name for code, name in rows}


def picker() -> list[dict[str, str]]:
    """Facilities the person may see, for the pages' pickers: the registered ones, and for people bound to no
    unit also those claim files named that nobody has mapped yet (a fresh system's claims are not hidden until
    an admin fills the register on /facilities)."""
    scope = scoped_facilities()
    with current_app.extensions["ytcs"].session() as s:
        rows = s.scalars(select(Facility).order_by(Facility.code)).all()
        out = [{"code": f.code, "name": f.name, "unit": f.unit} for f in rows if scope is None or f.code in scope]
    if scope is None:
        try:
            seen = rpc("claims", "facilities_seen", [f["code"] for f in out])
        except Unavailable:  # the picker still offers the register
            seen = []
        out += [{"code": f["facility_code"], "name": "chưa gắn đơn vị", "unit": ""} for f in seen]
        out.sort(key=lambda f: f["code"])
    return out


def quarters_on_record(facility: str | None) -> list[str]:
    """The quarters with claims, a capitation fund or an advance on record, newest first: of `facility`, or of
    every facility the person may see when none is chosen; the pages' quarter pickers offer them. Empty while
    claims does not answer (a quarter can still be typed)."""
    try:
        pairs = rpc("claims", "quarters_on_record", scoped_facilities())
    except Unavailable:
        return []
    return list(dict.fromkeys(p["period"] for p in pairs if facility is None or p["facility"] == facility))


def quarter_choice(facility: str | None, period: str | None) -> tuple[str | None, list[str]]:
    """(the quarter a facility-and-quarter page shows, the quarters its picker offers): a facility chosen without
    a quarter opens on its newest quarter on record."""
    on_record = quarters_on_record(facility)
    if facility and not period and on_record:
        period = on_record[0]
    return period, on_record
