"""A unit's funding for a year across the money streams, its predecessors' money included
(application/unit_funding.py asks the services and adds their answers).

`GET /api/v1/units/{code}/funding?year=&as_of=`: the unit `code` names on `as_of` (by default 31/12 of the
year, today for the running year or for all years) receives what was allocated and paid in `year` to it and
to every unit that had become part of it by `as_of` (services/common/units.py `predecessors`). So a 2025
commune's 2025 funding counts its predecessors' money from before 01/7/2025, and an older year is seen in
the units of its time (the default) or in the new ones (`as_of=2025-07-01` or later). Finance answers for
allocations and their disbursements, investment for project capital and its disbursements; both are asked
in parallel per predecessor and added here, each predecessor's share kept apart in `by_unit`.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.common import units
from services.gateway.api.common import load_args
from services.gateway.api.schemas.units import UnitFundingAnswerV1, UnitFundingQuery
from services.gateway.application import unit_funding as received
from services.gateway.application.access import READ_ROLES, allow, require_unit
from services.gateway.openapi import doc

bp = Blueprint("units", __name__, url_prefix="/api/v1/units")


@bp.get("/<code>/funding")
@allow(*READ_ROLES)
@doc(query=UnitFundingQuery, response=UnitFundingAnswerV1)
def unit_funding(code: str) -> Any:
    """What a unit received in a year from finance and investment, its predecessors' money of that year
    included; `as_of` chooses the map (old units or new)."""
    units.require_unit(code, None, "code", 404)
    require_unit(code, "code")
    q = load_args(UnitFundingQuery())
    return jsonify(UnitFundingAnswerV1().dump(received.unit_funding(code, q.get("year"), q.get("as_of"))))
