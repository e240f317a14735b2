"""Plans and their items (the catalog owned by the finance service)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.api.common import rpc
from services.gateway.api.schemas.plans import ItemList, PlanList, PlanOut
from services.gateway.application.access import READ_ROLES, allow
from services.gateway.openapi import doc

bp = Blueprint("plans", __name__, url_prefix="/api/v1/plans")


@bp.get("")
@allow(*READ_ROLES)
@doc(response=PlanList)
def list_plans() -> Any:
    """The plans: the province plan 158/KH-UBND and the district plans applying it."""
    return jsonify({"items": rpc("finance", "list_plans")})


@bp.get("/<int:plan_id>")
@allow(*READ_ROLES)
@doc(response=PlanOut, responses={404: "Không có kế hoạch này"})
def get_plan(plan_id: int) -> Any:
    """One plan: number, date, issuer, level, unit, parent plan and period."""
    return jsonify(rpc("finance", "get_plan", plan_id))


@bp.get("/<int:plan_id>/items")
@allow(*READ_ROLES)
@doc(response=ItemList, responses={404: "Không có kế hoạch này"})
def plan_items(plan_id: int) -> Any:
    """The plan's items by the document's own numbering, each with its parent, agencies and targets."""
    return jsonify({"items": rpc("finance", "plan_items", plan_id)})
