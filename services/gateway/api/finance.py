"""The budget ledger (finance service): allocations, sub-allocations, disbursements, reversals, adjustments,
and what a unit has received. The per-item funding endpoints are the `funding` module's (they add the
investment service's money to finance's)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields, validate

from services.common import units
from services.common.contracts.fields import Id, Year
from services.common.contracts.finance import (
    AdjustmentCommandV1,
    AllocationCommandV1,
    AllocationViewV1,
    DisbursementCommandV1,
    ReversalCommandV1,
)
from services.common.errors import NotFound
from services.gateway.access import READ_ROLES, allow, require_unit, scoped_unit
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.openapi import doc

bp = Blueprint("finance", __name__, url_prefix="/api/v1")
WRITERS = ("admin", "finance")


class AllocationQuery(Schema):
    plan_id = Id()
    item_code = fields.String(validate=validate.Length(max=20), metadata={"description": "sub-items included"})
    year = Year(metadata={"description": "fiscal year"})
    unit = fields.String(validate=validate.Length(max=10), metadata={"description": "recipients within this unit"})
    source = fields.String(validate=validate.Length(max=40))
    kind = fields.String(validate=validate.Length(max=20))
    parent_id = Id()
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=500))


def _scoped() -> bool:
    return g.principal.unit is not None


def _known_unit(code: str, field: str) -> None:
    units.require_unit(code, None, field)


def _require_allocation_unit(allocation_id: int, field: str) -> None:
    """A unit-scoped user writes only against allocations whose recipient lies within the unit."""
    if _scoped():
        require_unit(rpc("finance", "get_allocation", allocation_id)["recipient_unit"], field)


@bp.get("/sources")
@allow(*READ_ROLES)
@doc()
def list_sources() -> Any:
    """The funding sources (nguồn kinh phí, docs/domain.md §2) with their codes."""
    return jsonify({"items": rpc("finance", "list_sources")})


@bp.post("/allocations")
@allow(*WRITERS)
@doc(body=AllocationCommandV1, response=AllocationViewV1, status=201)
def create_allocation() -> Any:
    """Record an allocation (phân bổ), or a sub-allocation passing part of a parent down a level."""
    schema = AllocationCommandV1()
    cmd = load_json(schema)
    _known_unit(cmd["recipient_unit"], "recipient_unit")
    require_unit(cmd["recipient_unit"], "recipient_unit")
    if cmd["parent_allocation_id"] is not None and _scoped():
        try:
            parent = rpc("finance", "get_allocation", cmd["parent_allocation_id"])
        except NotFound:
            parent = None  # the service answers unknown_allocation (422) for the body field
        if parent is not None:
            require_unit(parent["recipient_unit"], "parent_allocation_id")
    return jsonify(rpc("finance", "create_allocation", schema.dump(cmd))), 201


@bp.get("/allocations")
@allow(*READ_ROLES)
@doc(query=AllocationQuery)
def list_allocations() -> Any:
    """Allocations (paged), each with adjusted, allocated, sub-allocated, disbursed and remaining money."""
    q = load_args(AllocationQuery())
    page, per_page = q.pop("page"), q.pop("per_page")
    unit = scoped_unit(q.pop("unit", None))
    if unit is not None:
        q["unit"] = unit
    return jsonify(rpc("finance", "list_allocations", q, page, per_page))


@bp.get("/allocations/<int:allocation_id>")
@allow(*READ_ROLES)
@doc(response=AllocationViewV1)
def get_allocation(allocation_id: int) -> Any:
    """One allocation with its history: adjustments, disbursements and reversals, sub-allocations."""
    alloc = rpc("finance", "get_allocation", allocation_id)
    require_unit(alloc["recipient_unit"], "id")
    return jsonify(alloc)


@bp.post("/allocations/<int:allocation_id>/disbursements")
@allow(*WRITERS)
@doc(body=DisbursementCommandV1, status=201)
def disburse(allocation_id: int) -> Any:
    """Record a disbursement (giải ngân); 422 exceeds_allocation past what the allocation has left."""
    schema = DisbursementCommandV1()
    cmd = load_json(schema)
    _require_allocation_unit(allocation_id, "id")
    return jsonify(rpc("finance", "disburse", allocation_id, schema.dump(cmd))), 201


@bp.post("/disbursements/<int:disbursement_id>/reversals")
@allow(*WRITERS)
@doc(body=ReversalCommandV1, status=201)
def reverse_disbursement(disbursement_id: int) -> Any:
    """Reverse a disbursement in whole or part: a new negative record naming the original."""
    schema = ReversalCommandV1()
    cmd = load_json(schema)
    if _scoped():
        require_unit(rpc("finance", "get_disbursement", disbursement_id)["recipient_unit"], "id")
    return jsonify(rpc("finance", "reverse_disbursement", disbursement_id, schema.dump(cmd))), 201


@bp.post("/allocations/<int:allocation_id>/adjustments")
@allow(*WRITERS)
@doc(body=AdjustmentCommandV1, status=201)
def adjust(allocation_id: int) -> Any:
    """Record an adjustment (điều chỉnh), up or down, by a new decision."""
    schema = AdjustmentCommandV1()
    cmd = load_json(schema)
    _require_allocation_unit(allocation_id, "id")
    return jsonify(rpc("finance", "adjust", allocation_id, schema.dump(cmd))), 201

# GET /api/v1/units/{code}/funding (finance and investment, predecessors included): api/units.py
