"""Funding status of plan items across every money stream, and the plan's targets next to the money.

One request fans out in parallel to the services that own the money (finance: allocations and their
disbursements; investment: project capital and its disbursements; claims: BHYT capitation for II.4) and
joins their answers (services/gateway/figures.py). The fan-out has one short deadline
(`YTCS_FUNDING_TIMEOUT`, 5 s): a slow or dead service makes the answer partial (200, `partial: true`,
the missing part named in `parts` and `missing`), never a hang or a 5xx.
"""

from __future__ import annotations

import os
from typing import Any

from flask import Blueprint, jsonify
from marshmallow import Schema, fields, validate
from prometheus_client import Counter

from services.common import catalog, units
from services.common.contracts import investment as contract
from services.common.contracts.fields import VND
from services.common.errors import DomainError, NotFound
from services.gateway import facilities as register
from services.gateway import figures
from services.gateway.access import READ_ROLES, allow, scoped_unit
from services.gateway.api.common import load_args, ytcs
from services.gateway.clients import Unavailable
from services.gateway.openapi import doc

bp = Blueprint("funding", __name__, url_prefix="/api/v1/plans")

FUNDING_TIMEOUT = float(os.environ.get("YTCS_FUNDING_TIMEOUT", "5"))
# The RPCs answering funding questions, per money stream (the same answer shape from both services).
ITEM_RPC = {"finance": "funding_status", "investment": "funding_status"}
TREE_RPC = {"finance": "funding_tree", "investment": "funding_tree"}
MONEY_PARTS = ("finance", "investment")
BHYT_KEYS = ("fund", "advanced", "spend", "fee_for_service", "drg", "requested", "approved")  # spend: MA_PTTT = 2

PARTIAL_ANSWERS = Counter(
    "ytcs_gateway_partial_answers_total",
    "Funding answers given without one of their parts (service slow, down or failing)",
    ["endpoint", "part"],
)

# Which task items spend toward an indicator stated in a target item (I.2.a / I.2.b state targets; the money
# is recorded against the tasks of section II). Data, not logic: adjust it when the plans are read otherwise.
INDICATOR_ITEMS: dict[str, tuple[str, ...]] = {
    "stations_bhyt_eligible": ("II.5",),
    "stations_technical_services": ("II.2.5", "II.5"),
    "communes_national_health_criteria": ("II.5",),
    "stations_difficult_communes_invested": ("II.5",),
    "population_health_managed": ("II.2.2",),
    "stations_with_doctor": ("II.3",),
    "doctors_family_medicine_trained": ("II.3",),
    "district_centres_technical_services": ("II.2.5", "II.5"),
    "district_centres_technical_services_share": ("II.2.5", "II.5"),
}


# --------------------------------------------------------------------------- schemas


class FundingQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "Fiscal year; all years when absent", "example": 2024},
    )
    unit = fields.String(
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={
            "description": "GSO code of a district or commune (recipient unit); the caller's own by default",
            "example": "910",
        },
    )


class TargetsQuery(Schema):
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100),
        metadata={"description": "The year the actual values are computed for (and the money up to)", "example": 2024},
    )
    unit = fields.String(validate=validate.Regexp(r"^[0-9]{2,5}$"), metadata={"example": "910"})


class Pair(Schema):
    allocated = VND(required=True, metadata={"example": 1_200_000_000})
    disbursed = VND(required=True, metadata={"example": 450_000_000})


class Figures(Schema):
    allocated = VND(required=True, metadata={"description": "Phân bổ + vốn giao (VND)", "example": 1_200_000_000})
    disbursed = VND(required=True, metadata={"description": "Giải ngân (VND)", "example": 450_000_000})
    execution_rate = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "disbursed ÷ allocated, a decimal string with 4 places", "example": "0.3750"},
    )
    by_source = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"provincial_budget": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )
    by_year = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"2024": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )
    by_unit = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={"example": {"910": {"allocated": 1_200_000_000, "disbursed": 450_000_000}}},
    )


_MONEY2 = {"description": "Decimal string, 2 places (as the claims service keeps it)"}


class Bhyt(Schema):
    """BHYT capitation for the plan's unit and year (claims service): shown beside, not added into, the money."""

    unit = fields.String(allow_none=True, required=True, metadata={"example": "910"})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    facilities = fields.Integer(
        allow_none=True,
        required=True,
        metadata={"description": "Registered facilities counted (null: every facility)", "example": 9},
    )
    fund = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2400000000.00"})
    advanced = fields.String(allow_none=True, metadata={**_MONEY2, "example": "1800000000.00"})
    spend = fields.String(allow_none=True, metadata={**_MONEY2, "example": "1523400.50"})
    requested = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2150000.00"})
    approved = fields.String(allow_none=True, metadata={**_MONEY2, "example": "2100000.00"})


class Missing(Schema):
    part = fields.String(required=True, metadata={"example": "claims"})
    kind = fields.String(required=True, metadata={"example": "timeout"})
    reason = fields.String(required=True, metadata={"example": "dịch vụ không trả lời kịp"})


_PART_STATE = fields.String(validate=validate.OneOf(["ok", "unavailable", "not_applicable"]))


class Parts(Schema):
    """Which services' figures the answer is made of."""

    parts = fields.Dict(
        keys=fields.String(),
        values=_PART_STATE,
        required=True,
        metadata={"example": {"finance": "ok", "investment": "ok", "claims": "not_applicable"}},
    )
    partial = fields.Boolean(required=True, metadata={"example": False})
    missing = fields.List(fields.Nested(Missing), required=True, metadata={"example": []})


class ItemFunding(Figures, Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 1})
    code = fields.String(required=True, metadata={"example": "II.5"})
    title = fields.String(required=True)
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    streams = fields.Dict(
        keys=fields.String(),
        values=fields.Nested(Pair),
        required=True,
        metadata={
            "description": "What each money stream contributes (finance: allocations; investment: capital)",
            "example": {
                "finance": {"allocated": 700_000_000, "disbursed": 250_000_000},
                "investment": {"allocated": 500_000_000, "disbursed": 200_000_000},
            },
        },
    )
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class TreeItem(Figures):
    code = fields.String(required=True, metadata={"example": "II.5"})
    title = fields.String(required=True)
    parent_code = fields.String(allow_none=True, required=True, metadata={"example": "II"})
    kind = fields.String(required=True, metadata={"example": "task"})
    depth = fields.Integer(required=True, metadata={"example": 1})
    streams = fields.Dict(keys=fields.String(), values=fields.Nested(Pair), required=True)
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class PlanFunding(Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 1})
    number = fields.String(required=True, metadata={"example": "158/KH-UBND"})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    total = fields.Nested(Figures, required=True)
    items = fields.List(fields.Nested(TreeItem), required=True)
    bhyt = fields.Nested(Bhyt, allow_none=True, required=True)


class Money(Pair):
    items = fields.List(fields.String(), required=True, metadata={"example": ["II.5"]})
    execution_rate = fields.String(allow_none=True, required=True, metadata={"example": "0.3750"})
    by_source = fields.Dict(keys=fields.String(), values=fields.Nested(Pair), required=True)


class TargetRow(Schema):
    item_code = fields.String(required=True, metadata={"example": "I.2.b"})
    key = fields.String(required=True, metadata={"example": "stations_bhyt_eligible"})
    indicator = fields.String(required=True)
    target = fields.Float(allow_none=True, required=True, metadata={"example": 100})
    target_unit = fields.String(required=True, metadata={"example": "percent"})
    comparison = fields.String(required=True, metadata={"example": ">="})
    target_year = fields.Integer(allow_none=True, required=True, metadata={"example": 2025})
    quote = fields.String(required=True)
    actual = fields.String(
        allow_none=True,
        required=True,
        metadata={
            "description": "Current value (percent, decimal string) where the system knows it",
            "example": "87.50",
        },
    )
    numerator = fields.Integer(allow_none=True, required=True, metadata={"example": 7})
    denominator = fields.Integer(allow_none=True, required=True, metadata={"example": 8})
    as_of = fields.String(allow_none=True, required=True, metadata={"example": "2024-12-31"})
    basis = fields.String(allow_none=True, required=True, metadata={"description": "How the value was computed"})
    source = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "register | indicators | indicators+register", "example": "indicators"},
    )
    met = fields.Boolean(allow_none=True, required=True, metadata={"example": False})
    level = fields.String(allow_none=True, metadata={"enum": ["province", "district", "commune"]})
    reported = fields.Integer(allow_none=True, metadata={"description": "Stations (or centres) with a value"})
    expected = fields.Integer(allow_none=True, metadata={"description": "Stations (or centres) counted"})
    by_unit = fields.List(fields.Nested(contract.TargetByUnit), metadata={"description": "The value one level down"})
    misses = fields.List(fields.Nested(contract.TargetMiss), metadata={"description": "Who misses it, and why"})
    money = fields.Nested(Money, required=True)


class PlanTargets(Parts):
    plan_id = fields.Integer(required=True, metadata={"example": 2})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2024})
    unit = fields.String(allow_none=True, required=True, metadata={"example": None})
    items = fields.List(fields.Nested(TargetRow), required=True)


# --------------------------------------------------------------------------- helpers


def _plan(plan_id: int) -> catalog.Plan:
    try:
        return catalog.get_plan(plan_id)
    except KeyError:
        raise NotFound(
            [{"field": "plan_id", "code": "unknown_plan", "message": f"Không có kế hoạch số hiệu {plan_id}."}]
        ) from None


def _item(plan: catalog.Plan, code: str) -> catalog.PlanItem:
    if not plan.has_item(code):
        raise NotFound(
            [{"field": "code", "code": "unknown_item", "message": f"Kế hoạch {plan.number} không có mục {code}."}]
        )
    return plan.item(code)


def _fan_out(calls: dict[str, tuple[str, str, tuple, dict]], endpoint: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(results, state) where state is {parts, partial, missing}; a domain refusal is raised (4xx)."""
    results = ytcs().clients.fan_out(calls, timeout=FUNDING_TIMEOUT)
    parts: dict[str, str] = {}
    missing: list[dict[str, str]] = []
    for part, value in results.items():  # a part is named by its call (two calls may go to one service)
        if isinstance(value, DomainError) and part in MONEY_PARTS:
            raise value  # the money itself refused (unknown unit...): the caller's mistake, a 4xx
        if isinstance(value, (Unavailable, DomainError)):
            kind, reason = (value.kind, value.reason) if isinstance(value, Unavailable) else ("refused", str(value))
            if parts.get(part) != "unavailable":
                missing.append({"part": part, "kind": kind, "reason": reason})
                PARTIAL_ANSWERS.labels(endpoint, part).inc()
            parts[part] = "unavailable"
        else:
            parts.setdefault(part, "ok")
    return results, {"parts": parts, "partial": bool(missing), "missing": missing}


def _bhyt(answer: Any, unit: str | None, year: int | None, facilities: list[str] | None) -> dict[str, Any] | None:
    if not isinstance(answer, dict):
        return None
    money = {k: None if answer.get(k) is None else str(answer[k]) for k in BHYT_KEYS}
    return {"unit": unit, "year": year, "facilities": None if facilities is None else len(facilities), **money}


def _bhyt_scope(plan: catalog.Plan, unit: str | None) -> tuple[str | None, list[str] | None]:
    """Capitation is asked for the unit asked about, else the plan's own unit: the facilities registered
    within it (the claims service knows facilities, the gateway's register maps them to units). None: all."""
    scope = unit if unit is not None else plan.unit
    if scope == units.PROVINCE_CODE:
        return None, None
    return scope, register.codes_within(scope)


# --------------------------------------------------------------------------- views


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
    plan = _plan(plan_id)
    item = _item(plan, code)
    q = load_args(FundingQuery())
    unit = scoped_unit(q.get("unit"))
    year = q.get("year")
    calls: dict[str, tuple[str, str, tuple, dict]] = {
        part: (part, ITEM_RPC[part], (plan_id, code, year, unit), {}) for part in MONEY_PARTS
    }
    bhyt_unit, bhyt_facilities = _bhyt_scope(plan, unit)
    if figures.carries_bhyt(code):
        calls["claims"] = ("claims", "capitation_summary", (bhyt_facilities, year), {})
    results, state = _fan_out(calls, "funding.item_funding")
    streams = {p: figures.normalise(results[p]) for p in MONEY_PARTS if state["parts"][p] == "ok"}
    total = figures.add(streams.values())
    if "claims" not in calls:
        state["parts"]["claims"] = "not_applicable"
    answer = {
        "plan_id": plan_id,
        "code": item.code,
        "title": item.title,
        "year": year,
        "unit": unit,
        **total,
        "streams": {p: {"allocated": s["allocated"], "disbursed": s["disbursed"]} for p, s in streams.items()},
        "bhyt": _bhyt(results.get("claims"), bhyt_unit, year, bhyt_facilities),
        **state,
    }
    return jsonify(answer)


@bp.get("/<int:plan_id>/funding")
@allow(*READ_ROLES)
@doc(query=FundingQuery, response=PlanFunding, responses={404: "Không có kế hoạch này"})
def plan_funding(plan_id: int) -> Any:
    """The whole plan tree in one call: every item with its figures, and the plan's total.

    For the province plan, each item includes the same item of the district plans (rolled up by the services).
    `total` adds the top-level items. Partial answers as for one item.
    """
    plan = _plan(plan_id)
    q = load_args(FundingQuery())
    unit = scoped_unit(q.get("unit"))
    year = q.get("year")
    bhyt_unit, bhyt_facilities = _bhyt_scope(plan, unit)
    calls: dict[str, tuple[str, str, tuple, dict]] = {
        part: (part, TREE_RPC[part], (plan_id, year, unit), {}) for part in MONEY_PARTS
    }
    calls["claims"] = ("claims", "capitation_summary", (bhyt_facilities, year), {})
    results, state = _fan_out(calls, "funding.plan_funding")
    bhyt = _bhyt(results.get("claims"), bhyt_unit, year, bhyt_facilities)
    items, total = _tree(plan, results, state)
    for row in items:
        row["bhyt"] = bhyt if figures.carries_bhyt(row["code"]) else None
    return jsonify(
        {
            "plan_id": plan.id,
            "number": plan.number,
            "year": year,
            "unit": unit,
            "total": total,
            "items": items,
            "bhyt": bhyt,
            **state,
        }
    )


def _tree(
    plan: catalog.Plan, results: dict[str, Any], state: dict[str, Any]
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Every item of the plan with its figures (sum of the money streams), and the plan's total."""
    codes_parents = [(i.code, i.parent_code) for i in plan.items]
    per_part: dict[str, dict[str, dict[str, Any]]] = {}
    for part in MONEY_PARTS:
        if state["parts"].get(part) == "ok":
            mapped = figures.tree_map(results[part])
            figures.complete_tree(codes_parents, mapped)
            per_part[part] = mapped
    items = []
    for item in plan.items:
        streams = {p: m[item.code] for p, m in per_part.items() if item.code in m}
        summed = figures.add(streams.values())
        items.append(
            {
                "code": item.code,
                "title": item.title,
                "parent_code": item.parent_code,
                "kind": item.kind,
                "depth": item.depth,
                **summed,
                "streams": {p: {"allocated": s["allocated"], "disbursed": s["disbursed"]} for p, s in streams.items()},
            }
        )
    top = [
        {k: row[k] for k in ("allocated", "disbursed", *figures.BREAKDOWNS)}
        for row in items
        if row["parent_code"] is None
    ]
    return items, figures.add(top)


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
    return jsonify(targets_answer(plan_id, q.get("year"), scoped_unit(q.get("unit"))))


def targets_answer(plan_id: int, year: int | None, unit: str | None, endpoint: str = "funding.plan_targets") -> dict:
    """The targets answer (PlanTargets) for a unit the caller may see: the API's and the plan page's."""
    plan = _plan(plan_id)
    calls: dict[str, tuple[str, str, tuple, dict]] = {
        part: (part, TREE_RPC[part], (plan_id, year, unit), {}) for part in MONEY_PARTS
    }
    calls["targets"] = ("investment", "targets", (plan_id, year, unit), {})
    results, state = _fan_out(calls, endpoint)
    items, _total = _tree(plan, results, state)
    by_code = {row["code"]: row for row in items}
    actuals = _actuals(results.get("targets"))
    rows = []
    for item, target in plan.targets():
        codes = (item.code,) if item.kind == "task" else INDICATOR_ITEMS.get(target.key, (item.code,))
        money = figures.add(
            {k: by_code[c][k] for k in ("allocated", "disbursed", *figures.BREAKDOWNS)} for c in codes if c in by_code
        )
        known = actuals.get((item.code, target.key)) or actuals.get(("", target.key)) or {}
        actual = known.get("actual_value")
        rows.append(
            {
                "item_code": item.code,
                "key": target.key,
                "indicator": target.indicator,
                "target": target.value,
                "target_unit": target.unit,
                "comparison": target.comparison,
                "target_year": target.year,
                "quote": target.quote,
                "actual": None if actual is None else str(actual),
                "numerator": known.get("numerator"),
                "denominator": known.get("denominator"),
                "as_of": None if known.get("as_of") is None else str(known["as_of"]),
                "basis": known.get("basis"),
                "source": (known.get("source") or "register") if actual is not None else None,
                "met": known["met"] if isinstance(known.get("met"), bool) else target.met(actual),
                # Measured at the scope's level, one level down, and the stations (or centres) that miss it.
                "level": known.get("level"),
                "reported": known.get("reported"),
                "expected": known.get("expected"),
                "by_unit": known.get("by_unit") or [],
                "misses": known.get("misses") or [],
                "money": {
                    "items": list(codes),
                    "allocated": money["allocated"],
                    "disbursed": money["disbursed"],
                    "execution_rate": money["execution_rate"],
                    "by_source": money["by_source"],
                },
            }
        )
    return {"plan_id": plan.id, "year": year, "unit": unit, "items": rows, **state}


def _actuals(answer: Any) -> dict[tuple[str, str], dict[str, Any]]:
    """The investment service's indicator values by (item code, key), and by ("", key) for any item."""
    rows = answer.get("items") if isinstance(answer, dict) else answer
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows if isinstance(rows, list) else []:
        if isinstance(row, dict) and "key" in row:
            out[(str(row.get("item_code", "")), str(row["key"]))] = row
            out.setdefault(("", str(row["key"])), row)
    return out


