"""The facility register: each health facility's MA_CSKCB mapped to the administrative unit it serves.

Claims and capitation name facilities, not units; this register is what lets unit scoping hold for them
(facilities.require_facility). Admins register facilities (`POST /api/v1/facilities`, `ytcs facility add`).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.api.common import load_args, load_json
from services.gateway.api.schemas.facilities import FacilityList, FacilityOut, FacilityQuery
from services.gateway.application import facilities
from services.gateway.application.access import READ_ROLES, allow, scoped_unit
from services.gateway.application.facilities import FacilityIn, require_facility
from services.gateway.openapi import doc

bp = Blueprint("facilities", __name__, url_prefix="/api/v1/facilities")


@bp.get("")
@allow(*READ_ROLES)
@doc(query=FacilityQuery, response=FacilityList)
def list_facilities() -> Any:
    """Registered facilities (MA_CSKCB → unit), within the caller's unit scope, optionally within `unit`."""
    unit = scoped_unit(load_args(FacilityQuery()).get("unit"))
    return jsonify({"items": facilities.listing(unit)})


@bp.get("/<code>")
@allow(*READ_ROLES)
@doc(response=FacilityOut, responses={404: "Cơ sở chưa được đăng ký"})
def get_facility(code: str) -> Any:
    """One registered facility."""
    require_facility(code, "code")
    return jsonify(facilities.get(code))


@bp.post("")
@allow("admin")
@doc(body=FacilityIn, response=FacilityOut, status=201)
def create_facility() -> Any:
    """Register a facility: its MA_CSKCB, name, the unit it serves, and its kind."""
    return jsonify(facilities.create(load_json(FacilityIn()))), 201
