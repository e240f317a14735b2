"""Investment in commune health stations (mục II.5): projects, capital (giao vốn), disbursements,
settlement, the medium-term view, the priority ranking, and the register's target indicators."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify
from marshmallow import Schema

from services.common import clock
from services.common.contracts import investment as contract
from services.gateway.api.common import XLSX, load_args, load_json, rpc, uploaded_workbook, xlsx_download
from services.gateway.api.schemas.investment import (
    DisbursementTemplateQuery,
    FundingQuery,
    FundingTreeQuery,
    PriorityQuery,
    ProjectDisbursementImport,
    ProjectList,
    ProjectQuery,
    TargetsQuery,
    UnitQuery,
)
from services.gateway.application import investment, project_disbursement_import
from services.gateway.application.access import READ_ROLES, allow, require_station, scope_unit
from services.gateway.application.funding import source_names
from services.gateway.openapi import doc, doc_sheet_upload

bp = Blueprint("investment", __name__, url_prefix="/api/v1/investment")
WRITE_ROLES = ("finance", "admin")


# --------------------------------------------------------------------------- projects


@bp.post("/projects")
@allow(*WRITE_ROLES)
@doc(body=contract.ProjectIn, response=contract.ProjectOut, status=201)
def register_project() -> Any:
    """Register an investment project at a commune health station (new_build, renovation, upgrade, equipment)."""
    return jsonify(investment.register_project(load_json(contract.ProjectIn()))), 201


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


# The commands on a project, all the same steps (application/investment.py): (path, the service's method,
# what it answers, the endpoint's description).
PROJECT_ROUTES: tuple[tuple[str, str, type[Schema], str], ...] = (
    (
        "capital",
        "assign_capital",
        contract.MoneyRecordOut,
        "Giao vốn: capital from one source for one fiscal year; 422 exceeds_estimated_cost past the estimate.",
    ),
    (
        "disbursements",
        "disburse",
        contract.MoneyRecordOut,
        "Giải ngân from one source; 422 exceeds_capital past that source's capital.",
    ),
    (
        "estimates",
        "revise_estimate",
        contract.MoneyRecordOut,
        "A revised estimate with its decision: a new record; the latest one caps the capital.",
    ),
    (
        "status",
        "change_status",
        contract.ProjectOut,
        "Move a project one step: proposed → approved → under_construction → completed.",
    ),
    (
        "completion",
        "complete_project",
        contract.ProjectOut,
        "Quyết toán dự án hoàn thành: the settled cost (≤ the latest estimate); the project becomes settled.",
    ),
)


def _command_view(method: str, summary: str) -> Callable[[int], Any]:
    """The view of one project command: its body loaded by the command's contract schema, recorded (201)."""

    def view(project_id: int) -> Any:
        body = load_json(investment.PROJECT_COMMANDS[method]())
        return jsonify(investment.project_command(project_id, method, body)), 201

    view.__name__ = method  # the endpoint: investment.<method>
    view.__doc__ = summary
    return view


for _path, _method, _answer, _summary in PROJECT_ROUTES:
    bp.post(f"/projects/<int:project_id>/{_path}")(
        allow(*WRITE_ROLES)(
            doc(body=investment.PROJECT_COMMANDS[_method], response=_answer, status=201)(
                _command_view(_method, _summary)
            )
        )
    )


@bp.get("/disbursements/template.xlsx")
@allow(*WRITE_ROLES)
@doc(query=DisbursementTemplateQuery, response_content_type=XLSX)
def disbursement_template() -> Any:
    """The Excel template of project payments (giải ngân vốn đầu tư): one treasury voucher a row, naming the
    project and the source paid from, and a sheet of each project's sources within the caller's unit (of
    `plan_id`, when given) with the capital given, paid and left; filled in, it comes back through
    `POST /api/v1/investment/disbursements/import.xlsx`."""
    q = load_args(DisbursementTemplateQuery())
    accounts = project_disbursement_import.offered_accounts(scope_unit(q.get("unit")), q.get("plan_id"))
    return xlsx_download(
        project_disbursement_import.template_workbook(accounts, source_names()), "giai-ngan-du-an.xlsx"
    )


@bp.post("/disbursements/import.xlsx")
@allow(*WRITE_ROLES)
@doc_sheet_upload(ProjectDisbursementImport)
def import_disbursements() -> Any:
    """A filled-in project payment template (the .xlsx as the body, or a form field `file`). Every row is checked
    first; one wrong cell refuses the whole sheet (422, each problem with its row, column and reason) and nothing
    is written. A payment investment already holds (the same project, source, voucher number and year) is not
    recorded again, so the statement may be sent again with rows added; one whose date or amount differs is
    refused (`differs_from_recorded`), and so is one alike to a payment recorded without a voucher number
    (`recorded_without_reference`). A negative amount is a return, or undoes the payment of its voucher."""
    return jsonify(project_disbursement_import.import_workbook(uploaded_workbook(), source_names()))


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
    year = q.get("year") or clock.today().year + 1
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
    year = q.get("year") or clock.today().year
    return jsonify(rpc("investment", "targets", q["plan_id"], year, scope_unit(q.get("unit"))))
