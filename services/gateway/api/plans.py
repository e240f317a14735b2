"""Plans and their items (the catalog owned by the finance service)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from marshmallow import Schema, fields

from services.gateway.access import READ_ROLES, allow
from services.gateway.api.common import rpc
from services.gateway.openapi import doc

bp = Blueprint("plans", __name__, url_prefix="/api/v1/plans")


class Period(Schema):
    from_ = fields.Integer(data_key="from", required=True, metadata={"example": 2018})
    to = fields.Integer(required=True, metadata={"example": 2025})


class PlanOut(Schema):
    id = fields.Integer(required=True, metadata={"example": 1})
    number = fields.String(required=True, metadata={"example": "158/KH-UBND"})
    date = fields.Date(required=True, metadata={"example": "2018-10-22"})
    title = fields.String(required=True)
    issuer = fields.String(required=True, metadata={"example": "UBND tỉnh Kiên Giang"})
    level = fields.String(required=True, metadata={"example": "province", "enum": ["province", "district"]})
    unit = fields.String(required=True, metadata={"example": "91"})
    parent_id = fields.Integer(allow_none=True, required=True, metadata={"example": None})
    period = fields.Nested(Period, required=True)


class PlanList(Schema):
    items = fields.List(fields.Nested(PlanOut), required=True)


class TargetOut(Schema):
    key = fields.String(required=True, metadata={"example": "stations_bhyt_eligible"})
    indicator = fields.String(required=True)
    value = fields.Float(allow_none=True, required=True, metadata={"example": 100})
    unit = fields.String(required=True, metadata={"example": "percent"})
    comparison = fields.String(required=True, metadata={"example": ">="})
    year = fields.Integer(allow_none=True, required=True, metadata={"example": 2025})
    quote = fields.String(required=True)


class ItemOut(Schema):
    code = fields.String(required=True, metadata={"example": "II.4"})
    title = fields.String(required=True)
    parent_code = fields.String(allow_none=True, required=True, metadata={"example": "II"})
    kind = fields.String(required=True, metadata={"example": "task"})
    text = fields.String(required=True)
    lead_agency = fields.String(allow_none=True, metadata={"example": "Sở Y tế"})
    co_agencies = fields.List(fields.String(), metadata={"example": ["Bảo hiểm xã hội tỉnh"]})
    targets = fields.List(fields.Nested(TargetOut))


class ItemList(Schema):
    items = fields.List(fields.Nested(ItemOut), required=True)


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
