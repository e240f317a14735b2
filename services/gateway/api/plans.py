"""Plans and their items (the catalog owned by the finance service)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.access import READ_ROLES, allow
from services.gateway.api.common import rpc

bp = Blueprint("plans", __name__, url_prefix="/api/v1/plans")


@bp.get("")
@allow(*READ_ROLES)
def list_plans() -> Any:
    """The plans: the province plan 158/KH-UBND and the district plans applying it."""
    return jsonify({"items": rpc("finance", "list_plans")})


@bp.get("/<int:plan_id>")
@allow(*READ_ROLES)
def get_plan(plan_id: int) -> Any:
    return jsonify(rpc("finance", "get_plan", plan_id))


@bp.get("/<int:plan_id>/items")
@allow(*READ_ROLES)
def plan_items(plan_id: int) -> Any:
    """The plan's items by the document's own numbering, each with its parent."""
    return jsonify({"items": rpc("finance", "plan_items", plan_id)})
