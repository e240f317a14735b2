"""Commune health stations (the investment service's register), effective-dated, with their recorded
criteria (tiêu chí quốc gia về y tế, nông thôn mới, KCB BHYT, cơ sở vật chất) and their money."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify

from services.common.contracts import investment as contract
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.api.schemas.investment import Items
from services.gateway.api.schemas.stations import StationAtQuery, StationQuery, StationStatusOut, YearQuery
from services.gateway.application.access import READ_ROLES, allow, require_station, scope_unit
from services.gateway.openapi import doc

bp = Blueprint("stations", __name__, url_prefix="/api/v1/stations")


@bp.get("")
@allow(*READ_ROLES)
@doc(query=StationQuery, response=Items)
def list_stations() -> Any:
    """All commune health stations (unpaged), optionally within a unit, with validity, successor and criteria."""
    q = load_args(StationQuery())
    unit = scope_unit(q.get("unit"))
    at = q["at"].isoformat() if q.get("at") else None
    return jsonify({"items": rpc("investment", "list_stations", unit, at, q["history"])})


@bp.get("/<code>")
@allow(*READ_ROLES)
@doc(query=StationAtQuery)
def get_station(code: str) -> Any:
    """One station: its versions, criteria history, projects (with those merged into it) and funding."""
    q = load_args(StationAtQuery())
    require_station(code, "code")
    return jsonify(rpc("investment", "get_station", code, q["at"].isoformat() if q.get("at") else None))


@bp.get("/<code>/funding")
@allow(*READ_ROLES)
@doc(query=YearQuery)
def station_funding(code: str) -> Any:
    """A station's capital and disbursements by source and year (a merged station's after the merger included)."""
    q = load_args(YearQuery())
    require_station(code, "code")
    return jsonify(rpc("investment", "station_funding", code, q.get("year")))


@bp.post("/<code>/status")
@allow("finance", "admin")
@doc(body=contract.StationStatusIn, response=StationStatusOut, status=201)
def record_status(code: str) -> Any:
    """Record a fact about a station with its year and decision (history kept; the latest is current)."""
    schema = contract.StationStatusIn()
    body = load_json(schema)
    require_station(code, "code")
    return jsonify(rpc("investment", "record_station_status", code, schema.dump(body), g.principal.name)), 201
