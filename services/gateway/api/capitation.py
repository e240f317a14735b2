"""Capitation (định suất, finance service): funds per facility and quarter, advances with the 80%
suggestion, quarterly settlements, and a facility-quarter at a glance."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.common.contracts.finance import (
    AdvanceCommandV1,
    CapitationFundCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    SettlementCommandV1,
)
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.api.schemas.capitation import FacilityPeriodQuery, FacilityQuery
from services.gateway.application import capitation
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import require_facility
from services.gateway.openapi import doc

bp = Blueprint("capitation", __name__, url_prefix="/api/v1/capitation")


@bp.post("/funds")
@allow("admin", "finance")
@doc(body=CapitationFundCommandV1, status=201)
def set_fund() -> Any:
    """Set a facility's capitation fund for a year (`YYYY`, the legal fund) or a quarter (a provisional share):
    round(cards × rate_per_card × coefficient), with the document that set the inputs."""
    return jsonify(capitation.set_fund(load_json(CapitationFundCommandV1()))), 201


@bp.post("/advances")
@allow("admin", "bhxh")
@doc(body=AdvanceCommandV1, status=201)
def pay_advance() -> Any:
    """Record an advance (tạm ứng) of BHYT money to a facility for a quarter."""
    return jsonify(capitation.pay_advance(load_json(AdvanceCommandV1()))), 201


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
    return jsonify(capitation.settle(load_json(SettlementCommandV1()))), 201


@bp.get("")
@allow(*READ_ROLES)
@doc(query=FacilityPeriodQuery)
def status() -> Any:
    """A facility-quarter: fund (with its history), advances, reported spend, balance and settlement."""
    q = load_args(FacilityPeriodQuery())
    require_facility(q["facility"], "facility")
    return jsonify(rpc("finance", "capitation_status", q["facility"], q["period"]))


@bp.get("/years/<int:year>")
@allow(*READ_ROLES)
@doc(query=FacilityQuery)
def year(year: int) -> Any:
    """A facility's year: the annual fund in force (with its inputs, document and history), the final settlement
    in force (fund, spend, surplus or deficit, the stations' share and its decision, to pay or refund) with the
    ones it superseded, and the quarters' provisional figures."""
    q = load_args(FacilityQuery())
    require_facility(q["facility"], "facility")
    return jsonify(rpc("finance", "capitation_year", q["facility"], year))


@bp.post("/reports")
@allow("admin", "bhxh")
@doc(body=QuarterlyReportCommandV1, status=201)
def record_report() -> Any:
    """BHXH received a facility's quarterly settlement report: its figures from the claims accepted for the
    quarter (Σ T_BHTT by payment method) are kept as of that day, with the advance it gives and its due date."""
    return jsonify(capitation.record_report(load_json(QuarterlyReportCommandV1()))), 201


@bp.post("/results")
@allow("admin", "bhxh")
@doc(body=QuarterlyResultCommandV1, status=201)
def record_result() -> Any:
    """BHXH notified its assessed result of the quarter: approved (from the assessments) − advanced is due
    10 days later."""
    return jsonify(capitation.record_result(load_json(QuarterlyResultCommandV1()))), 201


@bp.post("/payments")
@allow("admin", "bhxh")
@doc(body=QuarterlyPaymentCommandV1, status=201)
def record_payment() -> Any:
    """The payment of a quarter's result, or an excess advance's refund or offset."""
    return jsonify(capitation.record_payment(load_json(QuarterlyPaymentCommandV1()))), 201
