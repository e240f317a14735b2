"""Reconciliation per facility and quarter (đối soát): claims requested, approved, rejected, pending;
the capitation fund against its spend; advances (docs/contract.md)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.api.common import load_args
from services.gateway.api.schemas.reconciliation import ReconciliationAnswerV1, ReconciliationQuery
from services.gateway.application import capitation
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.application.facilities import require_facility
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
    return jsonify(capitation.reconciliation(facility, q["period"]))
