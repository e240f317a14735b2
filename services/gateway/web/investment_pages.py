"""Pages for investment at commune health stations (plan item II.5) that finance officers write on: register a
project, assign its capital (giao vốn) and record its disbursements (giải ngân). Each form calls the same
service RPCs with the same contract schemas and the same unit checks as the API (api/investment.py); money is
read by the one reader (contracts.fields.VND → parse_vnd: "1.200.000.000"); every form carries the CSRF token
and a form_key, so a double click records once (web/common.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for

from services.common import clock, surplus
from services.common.contracts import investment as contract
from services.gateway.application import investment
from services.gateway.application.access import READ_ROLES, allow, require_station
from services.gateway.application.funding import own_plan_id, plan_list, source_names
from services.gateway.application.remote import rpc
from services.gateway.web.common import (
    FINANCE_WRITERS,
    audit_form,
    bp,
    form_errors,
    form_status,
    page,
    record_id,
    render,
    then_go,
    write_form,
)
from services.gateway.web.finance_pages import KINDS_VN, STATUS_VN

NEW_STATUSES = ("proposed", "approved", "under_construction")  # a project is registered in one of these


def _stations() -> list[dict[str, Any]]:
    """The stations of the plans (the base register, as the API lists them) the person may write for."""
    return rpc("investment", "list_stations", g.principal.unit, None, False)


def _new_form(status: int = 200, errors: list[dict[str, Any]] | None = None, form: dict[str, str] | None = None) -> Any:
    plans = plan_list()
    form = dict(form or {})
    form.setdefault("plan_id", str(own_plan_id(plans)))
    form.setdefault("item_code", "II.5")
    return render(
        "project_form.html",
        status,
        stations=_stations(),
        plans=plans,
        kinds=KINDS_VN,
        statuses={k: STATUS_VN[k] for k in NEW_STATUSES},
        errors=errors or [],
        form=form,
    )


@bp.get("/investment/projects/new")
@allow(*FINANCE_WRITERS)
@page()
def new_project() -> Any:
    """The form registering an investment project at a station (new build, renovation, upgrade, equipment)."""
    return _new_form(form={k: v for k, v in request.args.items() if k == "station_code"})


@bp.post("/investment/projects/new")
@allow(*FINANCE_WRITERS)
@page(body=contract.ProjectIn)
def create_project() -> Any:
    """Register a project from the form (the same checks as POST /api/v1/investment/projects)."""
    audit_form()

    def done(out: dict[str, Any]) -> Any:
        flash(f"Đã ghi dự án số {out['id']}.", "ok")
        return redirect(url_for("web.project", project_id=out["id"]), 303)

    return write_form(
        contract.ProjectIn(),
        investment.register_project,
        lambda exc: _new_form(form_status(exc), form_errors(exc), request.form.to_dict()),
        done,
    )


def _project_page(
    project_id: int, status: int = 200, errors: list[dict[str, Any]] | None = None, which: str | None = None
) -> Any:
    project = rpc("investment", "get_project", project_id)
    require_station(project["station_code"], "project_id")
    plan = next((p for p in plan_list() if int(p["id"]) == int(project["plan_id"])), None)
    return render(
        "project.html",
        status,
        p=project,
        plan=plan,
        names=source_names(),
        kinds=KINDS_VN,
        statuses=STATUS_VN,
        surplus_uses=surplus.USES,
        errors=errors or [],
        which=which,
        form=request.form.to_dict() if errors else {},
        today=clock.today().isoformat(),
        this_year=clock.today().year,
    )


@bp.get("/investment/projects/<project_id>")
@allow(*READ_ROLES)
@page()
def project(project_id: str) -> Any:
    """One project: estimate, capital and disbursements by source, their records, and (finance) the forms."""
    return _project_page(record_id(project_id))


def _write(text_id: str, method: str, which: str, done: str) -> Any:
    """A command on a project from its page's form (the same checks as the API's, application/investment.py)."""
    project_id = record_id(text_id)
    audit_form(project_id=project_id)
    return write_form(
        investment.PROJECT_COMMANDS[method](),
        lambda body: investment.project_command(project_id, method, body),
        lambda exc: _project_page(project_id, form_status(exc), form_errors(exc), which),
        then_go(done, "web.project", project_id=project_id),
    )


@bp.post("/investment/projects/<project_id>/capital")
@allow(*FINANCE_WRITERS)
@page(body=contract.CapitalIn)
def assign_project_capital(project_id: str) -> Any:
    """Assign capital (giao vốn) to a project from the form (the same checks as the API: 422 past the estimate)."""
    return _write(project_id, "assign_capital", "capital", "Đã ghi giao vốn.")


@bp.post("/investment/projects/<project_id>/disbursements")
@allow(*FINANCE_WRITERS)
@page(body=contract.DisbursementIn)
def disburse_project(project_id: str) -> Any:
    """Record a disbursement (giải ngân) of a project from the form (422 past that source's capital)."""
    return _write(project_id, "disburse", "disbursement", "Đã ghi giải ngân dự án.")
