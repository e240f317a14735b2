"""The 20% BHYT surplus by legal use (docs/domain.md §5): finance's allocations and investment's project
capital, per fund year, in the law's order of uses, with the money left unused past its expiry flagged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, jsonify

from services.common import surplus
from services.gateway.api.common import rpc
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.openapi import doc

bp = Blueprint("surplus", __name__, url_prefix="/api/v1/surplus")


@bp.get("")
@allow(*READ_ROLES)
@doc()
def surplus_report() -> Any:
    """Uses of the 20% surplus (fund years 2015–2020) in legal order: (1) the care fund for the poor,
    (2) premium support, (3) equipment, (4) patient transport; allocated, disbursed and project capital per
    fund year; money unused 12 months after BHXH's review flagged."""
    today = (datetime.now(UTC) + timedelta(hours=7)).date()  # Vietnam's date
    return jsonify(surplus.report(rpc("finance", "surplus_uses"), rpc("investment", "surplus_capital"), today))
