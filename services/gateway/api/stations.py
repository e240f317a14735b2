"""Commune health stations (the investment service's register), effective-dated, with their recorded
criteria (tiêu chí quốc gia về y tế, nông thôn mới, KCB BHYT, cơ sở vật chất) and their money."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields, validate

from services.common.contracts import investment as contract
from services.gateway.access import READ_ROLES, allow
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.api.investment import Items, require_station, scope_unit
from services.gateway.openapi import doc

bp = Blueprint("stations", __name__, url_prefix="/api/v1/stations")


class StationQuery(Schema):
    unit = fields.String(validate=validate.Length(max=10))
    at = fields.Date(metadata={"description": "Only stations in force on this date"})
    history = fields.Boolean(load_default=False, metadata={"description": "Every version, merged ones included"})


class StationAtQuery(Schema):
    at = fields.Date(metadata={"description": "Which version of a reused commune code (default: today's)"})


class YearQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100, error="Năm phải từ 2000 đến 2100."),
        error_messages={"invalid": "Năm phải là số nguyên."},
    )


class StationStatusOut(Schema):
    id = fields.Integer(required=True)
    attribute = fields.String(required=True)
    value = fields.Raw(required=True)
    year = fields.Integer(required=True)
    current = fields.Raw()
    criteria_reached = fields.Boolean()


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
