"""Reconciliation per facility and quarter (đối soát): claims requested, approved, rejected, pending;
the capitation fund against its spend; advances (docs/contract.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate

from services.common.contracts import claims as contract
from services.gateway.access import READ_ROLES, allow, require_facility, scoped_facilities
from services.gateway.api.common import load_args, rpc
from services.gateway.clients import Unavailable
from services.gateway.openapi import doc

bp = Blueprint("reconciliation", __name__, url_prefix="/api/v1/reconciliation")


class ReconciliationQuery(Schema):
    facility = fields.String(
        validate=contract.FACILITY, metadata={"description": "MA_CSKCB; every facility in scope when absent"}
    )
    period = fields.String(
        required=True, validate=validate.Regexp(r"^\d{4}-Q[1-4]$", error="Kỳ phải có dạng YYYY-Qn, ví dụ 2024-Q3.")
    )


class ReconciliationAnswerV1(contract.ReconciliationV1):
    """The contract's reconciliation, and beside it the quarter's settlement steps (finance)."""

    settlement = fields.Dict(
        metadata={"description": "one facility: its report, result and steps {report, advance, result, payment}"}
    )
    overdue = fields.List(
        fields.Dict(),
        metadata={"description": "[{facility_code, step, due, date, late, overdue}] past their due date today"},
    )
    settlement_unavailable = fields.Boolean(metadata={"description": "true when finance did not answer"})


@bp.get("")
@allow(*READ_ROLES)
@doc(query=ReconciliationQuery, response=ReconciliationAnswerV1)
def reconciliation() -> Any:
    """Requested = approved + rejected + pending over accepted claims; balance = fund − spend; advances; and
    each step of the quarter's settlement (report, advance, result, payment) with what is overdue."""
    q = load_args(ReconciliationQuery())
    facility = q.get("facility")
    if facility:
        require_facility(facility, "facility")
    scope = scoped_facilities()
    answer = rpc("claims", "reconciliation", facility, q["period"], scope)
    # The settlement's dated steps (report, advance, result, payment) from finance, added beside the
    # contract's fields: what is overdue today. Finance down: the claims' answer still stands, said so.
    try:
        if facility:
            names = [facility]
        else:
            reported = rpc("finance", "reported_facilities", q["period"])
            names = sorted(f for f in reported if scope is None or f in scope)
        schedules = rpc("finance", "quarter_schedules", q["period"], names)
    except Unavailable:
        answer["settlement_unavailable"] = True
        return jsonify(answer)
    if facility:
        answer["settlement"] = schedules[0]
    answer["overdue"] = [
        {"facility_code": s["facility_code"], "step": step, **s["steps"][step]}
        for s in schedules
        for step in s["overdue"]
    ]
    return jsonify(answer)
