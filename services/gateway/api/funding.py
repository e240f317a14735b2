"""Funding status of plan items across every money stream, and the plan's targets next to the money
(application/funding.py fans out to the services and joins their answers)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from services.gateway.api.common import load_args
from services.gateway.api.schemas.funding import FundingQuery, ItemFunding, PlanFunding, PlanTargets, TargetsQuery
from services.gateway.application import funding
from services.gateway.application.access import READ_ROLES, allow, scoped_unit
from services.gateway.openapi import doc

bp = Blueprint("funding", __name__, url_prefix="/api/v1/plans")


@bp.get("/<int:plan_id>/items/<code>/funding")
@allow(*READ_ROLES)
@doc(query=FundingQuery, response=ItemFunding, responses={404: "Không có kế hoạch hoặc mục này"})
def item_funding(plan_id: int, code: str) -> Any:
    """Funding status of one plan item: allocated, disbursed, execution rate, by source, year and unit.

    The item includes its sub-items, and a province item the same item of its district plans (each đồng once).
    Budget allocations (finance) and project capital (investment) are added source by source; for II.4 and the
    items containing it, BHYT capitation figures are shown beside them in `bhyt`. A service that does not answer
    within the deadline leaves its part out: `partial: true`, the part named in `parts` and `missing`.
    """
    plan = funding.get_plan(plan_id)
    item = funding.get_item(plan, code)
    q = load_args(FundingQuery())
    return jsonify(funding.item_funding(plan, item, q.get("year"), scoped_unit(q.get("unit"))))


@bp.get("/<int:plan_id>/funding")
@allow(*READ_ROLES)
@doc(query=FundingQuery, response=PlanFunding, responses={404: "Không có kế hoạch này"})
def plan_funding(plan_id: int) -> Any:
    """The whole plan tree in one call: every item with its figures, and the plan's total.

    For the province plan, each item includes the same item of the district plans (rolled up by the services).
    `total` adds the top-level items. Partial answers as for one item.
    """
    plan = funding.get_plan(plan_id)
    q = load_args(FundingQuery())
    return jsonify(funding.plan_funding(plan, q.get("year"), scoped_unit(q.get("unit"))))


@bp.get("/<int:plan_id>/targets")
@allow(*READ_ROLES)
@doc(query=TargetsQuery, response=PlanTargets, responses={404: "Không có kế hoạch này"})
def plan_targets(plan_id: int) -> Any:
    """The plan's measurable targets next to their current value and the money spent toward them.

    `actual` is measured by the investment service from the stations' indicator facts of the year and its
    register (`source`: indicators, register or both; null while nothing is reported), with `by_unit` one
    level down and `misses`, the stations or centres that miss it (docs/investment.md "Indicator facts").
    `money` is the funding of the task items that spend toward the indicator (`money.items`; for a target
    stated in a task item, that item).
    """
    q = load_args(TargetsQuery())
    return jsonify(funding.targets_answer(plan_id, q.get("year"), scoped_unit(q.get("unit"))))
