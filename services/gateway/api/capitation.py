"""Capitation (định suất, finance service): funds per facility and quarter, advances with the 80%
suggestion, quarterly settlements, and a facility-quarter at a glance."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from flask import Blueprint, g, jsonify, request
from marshmallow import Schema, fields, validate

from services.common.contracts.finance import (
    AdvanceCommandV1,
    CapitationFundCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    SettlementCommandV1,
)
from services.common.errors import DomainError
from services.gateway.access import READ_ROLES, allow, require_facility
from services.gateway.api.common import load_args, rpc
from services.gateway.openapi import doc

bp = Blueprint("capitation", __name__, url_prefix="/api/v1/capitation")


class FacilityPeriodQuery(Schema):
    facility = fields.String(required=True, validate=validate.Length(max=5), metadata={"description": "MA_CSKCB"})
    period = fields.String(required=True, metadata={"description": "YYYY-Qn"})


def _load_exact(schema: Schema) -> dict[str, Any]:
    """Like load_json, but numbers with a fraction become Decimal, never float (the coefficient is exact)."""
    if not request.is_json:
        raise DomainError.one(
            "unsupported_media_type", "Nội dung phải là JSON (Content-Type: application/json).", None, 415
        )
    try:
        data = json.loads(request.get_data(cache=True), parse_float=Decimal)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise DomainError.one("invalid_json", "Nội dung JSON không hợp lệ (cần một đối tượng).", None, 400)
    return schema.load(data)


@bp.post("/funds")
@allow("admin", "finance")
@doc(body=CapitationFundCommandV1, status=201)
def set_fund() -> Any:
    """Set a facility's capitation fund for a year (`YYYY`, the legal fund) or a quarter (a provisional share):
    round(cards × rate_per_card × coefficient), with the document that set the inputs."""
    schema = CapitationFundCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "set_capitation_fund", schema.dump(cmd))), 201


@bp.post("/advances")
@allow("admin", "bhxh")
@doc(body=AdvanceCommandV1, status=201)
def pay_advance() -> Any:
    """Record an advance (tạm ứng) of BHYT money to a facility for a quarter."""
    schema = AdvanceCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "pay_advance", schema.dump(cmd))), 201


@bp.get("/advances/suggestion")
@allow(*READ_ROLES)
@doc(query=FacilityPeriodQuery)
def advance_suggestion() -> Any:
    """The advance of a quarter: 80% of the facility's previous-quarter report (all payment methods), due 5
    working days after BHXH received it; a first contract: 80% of the notified fund."""
    q = load_args(FacilityPeriodQuery())
    require_facility(q["facility"], "facility")
    return jsonify(rpc("finance", "advance_suggestion", q["facility"], q["period"]))


@bp.post("/settlements")
@allow("admin", "bhxh")
@doc(body=SettlementCommandV1, status=201)
def settle() -> Any:
    """Settle a year (`YYYY`, final: surplus to the facility, the stations' share by its decision; a deficit
    borne by the facility) or view a quarter provisionally (`YYYY-Qn`)."""
    schema = SettlementCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "settle_capitation", schema.dump(cmd))), 201


@bp.get("")
@allow(*READ_ROLES)
@doc(query=FacilityPeriodQuery)
def status() -> Any:
    """A facility-quarter: fund (with its history), advances, reported spend, balance and settlement."""
    q = load_args(FacilityPeriodQuery())
    require_facility(q["facility"], "facility")
    return jsonify(rpc("finance", "capitation_status", q["facility"], q["period"]))


@bp.post("/reports")
@allow("admin", "bhxh")
@doc(body=QuarterlyReportCommandV1, status=201)
def record_report() -> Any:
    """BHXH received a facility's quarterly settlement report: its figures from the claims accepted for the
    quarter (Σ T_BHTT by payment method) are kept as of that day, with the advance it gives and its due date."""
    schema = QuarterlyReportCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "record_quarterly_report", schema.dump(cmd), g.principal.name)), 201


@bp.post("/results")
@allow("admin", "bhxh")
@doc(body=QuarterlyResultCommandV1, status=201)
def record_result() -> Any:
    """BHXH notified its assessed result of the quarter: approved (from the assessments) − advanced is due
    10 days later."""
    schema = QuarterlyResultCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "record_quarterly_result", schema.dump(cmd))), 201


@bp.post("/payments")
@allow("admin", "bhxh")
@doc(body=QuarterlyPaymentCommandV1, status=201)
def record_payment() -> Any:
    """The payment of a quarter's result, or an excess advance's refund or offset."""
    schema = QuarterlyPaymentCommandV1()
    cmd = _load_exact(schema)
    require_facility(cmd["facility_code"])
    return jsonify(rpc("finance", "record_quarterly_payment", schema.dump(cmd))), 201
