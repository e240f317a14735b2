"""The facility register: each health facility's MA_CSKCB mapped to the administrative unit it serves.

Claims and capitation name facilities, not units; this register is what lets unit scoping hold for them
(access.require_facility). Admins register facilities (`POST /api/v1/facilities`, `ytcs facility add`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from services.common import units
from services.common.contracts.fields import Text
from services.common.errors import DomainError, NotFound
from services.gateway.access import READ_ROLES, allow, require_facility, require_unit, scoped_unit
from services.gateway.api.common import load_args, load_json, ytcs
from services.gateway.facilities import KINDS, facility_dict, register
from services.gateway.models import Facility
from services.gateway.openapi import doc

bp = Blueprint("facilities", __name__, url_prefix="/api/v1/facilities")

CODE = validate.Regexp(r"^[0-9A-Z]{5}$", error="Mã cơ sở KCB (MA_CSKCB) gồm đúng 5 ký tự số hoặc chữ in hoa.")


class FacilityIn(Schema):
    code = fields.String(required=True, validate=CODE, metadata={"example": "91001"})
    name = Text(  # no bidi controls: a name shown on pages and in reports
        required=True, validate=validate.Length(min=1, max=200), metadata={"example": "Trạm Y tế xã Vĩnh Thuận"}
    )
    unit = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={"description": "GSO code of the commune or district served", "example": "31060"},
    )
    kind = fields.String(load_default="station", validate=validate.OneOf(KINDS), metadata={"example": "station"})


class FacilityOut(Schema):
    code = fields.String(required=True, metadata={"example": "91001"})
    name = fields.String(required=True, metadata={"example": "Trạm Y tế xã Vĩnh Thuận"})
    unit = fields.String(required=True, metadata={"example": "31060"})
    kind = fields.String(required=True, validate=validate.OneOf(KINDS), metadata={"example": "station"})
    created_at = fields.String(required=True, metadata={"example": "2024-07-15T08:30:12+00:00"})
    created_by = fields.String(required=True, metadata={"example": "token:admin"})


class FacilityList(Schema):
    items = fields.List(fields.Nested(FacilityOut), required=True)


class FacilityQuery(Schema):
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})


@bp.get("")
@allow(*READ_ROLES)
@doc(query=FacilityQuery, response=FacilityList)
def list_facilities() -> Any:
    """Registered facilities (MA_CSKCB → unit), within the caller's unit scope, optionally within `unit`."""
    unit = scoped_unit(load_args(FacilityQuery()).get("unit"))
    stmt = select(Facility).order_by(Facility.code)
    if unit is not None:
        stmt = stmt.where(Facility.unit.in_(units.units_within(unit)))
    with ytcs().session() as s:
        return jsonify({"items": [facility_dict(f) for f in s.scalars(stmt)]})


@bp.get("/<code>")
@allow(*READ_ROLES)
@doc(response=FacilityOut, responses={404: "Cơ sở chưa được đăng ký"})
def get_facility(code: str) -> Any:
    """One registered facility."""
    require_facility(code, "code")
    with ytcs().session() as s:
        facility = s.get(Facility, code)
        if facility is None:
            raise NotFound(
                [{"field": "code", "code": "unknown_facility", "message": f"Cơ sở KCB {code} chưa được đăng ký."}]
            )
        return jsonify(facility_dict(facility))


@bp.post("")
@allow("admin")
@doc(body=FacilityIn, response=FacilityOut, status=201)
def create_facility() -> Any:
    """Register a facility: its MA_CSKCB, name, the unit it serves, and its kind."""
    data = load_json(FacilityIn())
    if units.is_known_unit(data["unit"]):
        require_unit(data["unit"])
    with ytcs().session() as s:
        facility = register(s, data["code"], data["name"], data["unit"], data["kind"], g.principal.name)
        try:
            s.commit()
        except IntegrityError:  # registered by another request at the same moment
            raise DomainError.one(
                "facility_exists", f"Cơ sở KCB {data['code']} đã được đăng ký.", "code", 409
            ) from None
        return jsonify(facility_dict(facility)), 201
