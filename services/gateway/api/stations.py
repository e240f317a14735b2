"""Commune health stations (the investment service's register), effective-dated."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields, validate

from services.common import units
from services.common.errors import DomainError
from services.gateway.access import READ_ROLES, allow, require_unit
from services.gateway.api.common import load_args, rpc

bp = Blueprint("stations", __name__, url_prefix="/api/v1/stations")


class StationQuery(Schema):
    unit = fields.String(validate=validate.Length(max=10))
    at = fields.Date(metadata={"description": "Only stations in force on this date"})
    history = fields.Boolean(load_default=False, metadata={"description": "Every version, merged ones included"})


@bp.get("")
@allow(*READ_ROLES)
def list_stations() -> Any:
    """All commune health stations (unpaged), optionally within a unit, with validity and successor."""
    q = load_args(StationQuery())
    unit = q.get("unit") or g.principal.unit
    if unit is not None:
        if not units.is_known_unit(unit):
            raise DomainError.one("unknown_unit", f"Không có đơn vị hành chính mã {unit}.", "unit", 422)
        require_unit(unit)
    at = q["at"].isoformat() if q.get("at") else None
    return jsonify({"items": rpc("investment", "list_stations", unit, at, q["history"])})
