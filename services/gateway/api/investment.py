"""Investment in commune health stations (mục II.5): projects, capital (giao vốn), disbursements,
settlement, the medium-term view, the priority ranking, and the register's target indicators."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, g, jsonify
from marshmallow import Schema, fields, validate

from services.common import units
from services.common.contracts import investment as contract
from services.common.contracts.fields import Id, Year
from services.gateway.access import READ_ROLES, allow, require_unit
from services.gateway.api.common import load_args, load_json, rpc
from services.gateway.openapi import doc

bp = Blueprint("investment", __name__, url_prefix="/api/v1/investment")
WRITE_ROLES = ("finance", "admin")
STATUSES = ("proposed", "approved", "under_construction", "completed", "settled")


def _unit_field() -> fields.String:
    return fields.String(
        validate=validate.Length(min=1, max=10), metadata={"description": "Mã đơn vị (tỉnh, huyện, xã)"}
    )


def _year_field(**kw: Any) -> fields.Integer:
    return Year(**kw)  # 2000 … 2100, the contracts' one year range


class ProjectQuery(Schema):
    station = fields.String(validate=validate.Length(min=1, max=10), metadata={"description": "Mã xã của trạm"})
    unit = _unit_field()
    status = fields.String(validate=validate.OneOf(STATUSES, error="Trạng thái không hợp lệ."))
    plan_id = Id(error_messages={"invalid": "Phải là số nguyên."})
    item_code = fields.String(validate=validate.Length(min=1, max=20))


class UnitQuery(Schema):
    unit = _unit_field()


class PriorityQuery(Schema):
    year = _year_field(metadata={"description": "Năm lập danh sách; mặc định năm sau"})
    unit = _unit_field()


class FundingTreeQuery(Schema):
    plan_id = Id(required=True, error_messages={"invalid": "Phải là số nguyên."})
    year = _year_field()
    unit = _unit_field()


class FundingQuery(FundingTreeQuery):
    item_code = fields.String(required=True, validate=validate.Length(min=1, max=20))


class TargetsQuery(Schema):
    plan_id = Id(required=True, error_messages={"invalid": "Phải là số nguyên."})
    year = _year_field(metadata={"description": "Mặc định năm nay"})
    unit = _unit_field()


class Items(Schema):
    items = fields.List(fields.Dict(), required=True)


class ProjectList(Schema):
    items = fields.List(fields.Nested(contract.ProjectOut), required=True)


def scope_unit(requested: str | None) -> str | None:
    """The unit a read is narrowed to: the one asked for (which the caller must see), else the caller's."""
    unit = requested or g.principal.unit
    if unit is not None:
        units.require_unit(unit)
        require_unit(unit)
    return unit


def sees_station(code: str) -> bool:
    """A merged station's projects are now its successor's: a user of the successor sees them too."""
    p = g.principal
    return p.sees_unit(code) or p.sees_unit(units.successor_on(code, date.today()))


def require_station(code: str, field: str = "station_code") -> None:
    if not sees_station(code):
        require_unit(code, field)


def require_project(project_id: int) -> None:
    """Unit scoping for a request naming a project: its station must be visible to the caller."""
    unit = g.principal.unit
    if unit is None or unit == units.PROVINCE_CODE:
        return
    scope = rpc("investment", "project_scope", project_id)
    require_station(scope["station_code"], "project_id")


def _actor() -> str:
    return g.principal.name


# --------------------------------------------------------------------------- projects


@bp.post("/projects")
@allow(*WRITE_ROLES)
@doc(body=contract.ProjectIn, response=contract.ProjectOut, status=201)
def register_project() -> Any:
    """Register an investment project at a commune health station (new_build, renovation, upgrade, equipment)."""
    schema = contract.ProjectIn()
    body = load_json(schema)
    require_station(body["station_code"])
    return jsonify(rpc("investment", "register_project", schema.dump(body), _actor())), 201


@bp.get("/projects")
@allow(*READ_ROLES)
@doc(query=ProjectQuery, response=ProjectList)
def list_projects() -> Any:
    """Projects, by station, unit, status, plan and item, each with estimate, capital, disbursed, remaining."""
    q = load_args(ProjectQuery())
    unit = scope_unit(q.get("unit"))
    if q.get("station"):
        require_station(q["station"], "station")
    items = rpc(
        "investment", "list_projects", unit, q.get("station"), q.get("status"), q.get("plan_id"), q.get("item_code")
    )
    return jsonify({"items": items})


@bp.get("/projects/<int:project_id>")
@allow(*READ_ROLES)
@doc(response=contract.ProjectOut)
def get_project(project_id: int) -> Any:
    """One project: estimates, capital and disbursements by source and year, status history, settlement."""
    project = rpc("investment", "get_project", project_id)
    require_station(project["station_code"], "project_id")
    return jsonify(project)


@bp.post("/projects/<int:project_id>/capital")
@allow(*WRITE_ROLES)
@doc(body=contract.CapitalIn, response=contract.MoneyRecordOut, status=201)
def assign_capital(project_id: int) -> Any:
    """Giao vốn: capital from one source for one fiscal year; 422 exceeds_estimated_cost past the estimate."""
    schema = contract.CapitalIn()
    body = load_json(schema)
    require_project(project_id)
    return jsonify(rpc("investment", "assign_capital", project_id, schema.dump(body), _actor())), 201


@bp.post("/projects/<int:project_id>/disbursements")
@allow(*WRITE_ROLES)
@doc(body=contract.DisbursementIn, response=contract.MoneyRecordOut, status=201)
def disburse(project_id: int) -> Any:
    """Giải ngân from one source; 422 exceeds_capital past that source's capital."""
    schema = contract.DisbursementIn()
    body = load_json(schema)
    require_project(project_id)
    return jsonify(rpc("investment", "disburse", project_id, schema.dump(body), _actor())), 201


@bp.post("/projects/<int:project_id>/estimates")
@allow(*WRITE_ROLES)
@doc(body=contract.EstimateIn, response=contract.MoneyRecordOut, status=201)
def revise_estimate(project_id: int) -> Any:
    """A revised estimate with its decision: a new record; the latest one caps the capital."""
    schema = contract.EstimateIn()
    body = load_json(schema)
    require_project(project_id)
    return jsonify(rpc("investment", "revise_estimate", project_id, schema.dump(body), _actor())), 201


@bp.post("/projects/<int:project_id>/status")
@allow(*WRITE_ROLES)
@doc(body=contract.StatusIn, response=contract.ProjectOut, status=201)
def change_status(project_id: int) -> Any:
    """Move a project one step: proposed → approved → under_construction → completed."""
    schema = contract.StatusIn()
    body = load_json(schema)
    require_project(project_id)
    return jsonify(rpc("investment", "change_status", project_id, schema.dump(body), _actor())), 201


@bp.post("/projects/<int:project_id>/completion")
@allow(*WRITE_ROLES)
@doc(body=contract.CompletionIn, response=contract.ProjectOut, status=201)
def complete_project(project_id: int) -> Any:
    """Quyết toán dự án hoàn thành: the settled cost (≤ the latest estimate); the project becomes settled."""
    schema = contract.CompletionIn()
    body = load_json(schema)
    require_project(project_id)
    return jsonify(rpc("investment", "complete_project", project_id, schema.dump(body), _actor())), 201


# --------------------------------------------------------------------------- views over all projects


@bp.get("/medium-term")
@allow(*READ_ROLES)
@doc(query=UnitQuery)
def medium_term() -> Any:
    """Capital by source and year over 2016–2020 and 2021–2025, and what remains to finance per project."""
    q = load_args(UnitQuery())
    return jsonify(rpc("investment", "medium_term", scope_unit(q.get("unit"))))


@bp.get("/priorities")
@allow(*READ_ROLES)
@doc(query=PriorityQuery)
def priorities() -> Any:
    """Stations ranked for a year's investment list, each with its score and the parts that made it."""
    q = load_args(PriorityQuery())
    year = q.get("year") or date.today().year + 1
    return jsonify(rpc("investment", "priorities", year, scope_unit(q.get("unit"))))


@bp.get("/funding")
@allow(*READ_ROLES)
@doc(query=FundingQuery, response=contract.FundingStatus)
def funding() -> Any:
    """The investment part of a plan item's funding (capital = allocated, disbursements = disbursed)."""
    q = load_args(FundingQuery())
    unit = scope_unit(q.get("unit"))
    return jsonify(rpc("investment", "funding_status", q["plan_id"], q["item_code"], q.get("year"), unit))


@bp.get("/funding/tree")
@allow(*READ_ROLES)
@doc(query=FundingTreeQuery, response=contract.FundingTree)
def funding_tree() -> Any:
    """The investment part of every item of a plan, in one answer."""
    q = load_args(FundingTreeQuery())
    return jsonify(rpc("investment", "funding_tree", q["plan_id"], q.get("year"), scope_unit(q.get("unit"))))


@bp.get("/targets")
@allow(*READ_ROLES)
@doc(query=TargetsQuery, response=contract.Targets)
def targets() -> Any:
    """Every target of the plan measured for a year from the stations' indicator facts and the register,
    with the value one level down and the stations that miss it (docs/investment.md)."""
    q = load_args(TargetsQuery())
    year = q.get("year") or date.today().year
    return jsonify(rpc("investment", "targets", q["plan_id"], year, scope_unit(q.get("unit"))))
