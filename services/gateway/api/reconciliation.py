"""Reconciliation per facility and quarter (đối soát): claims requested, approved, rejected, pending;
the capitation fund against its spend; advances (docs/contract.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.api.common import load_args, rpc
from services.gateway.api.schemas.reconciliation import ReconciliationAnswerV1, ReconciliationQuery
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import require_facility, scoped_facilities
from services.gateway.errors import Unavailable
from services.gateway.openapi import doc

bp = Blueprint("reconciliation", __name__, url_prefix="/api/v1/reconciliation")


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
