"""The yearly report pages (plan section V, before 30/11): who has reported under a plan, on time or late, with
the roll-up; recording a unit's submission; the sections a unit writes itself (shortcomings, proposals); the
Word document's download. The same checks and tables as the API (api/yearly.py, yearly_report.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from marshmallow import Schema, fields

from services.common import catalog, units
from services.common.contracts.fields import Id, Year
from services.gateway import yearly_report as report
from services.gateway.access import READ_ROLES, allow
from services.gateway.api import yearly
from services.gateway.api.common import ytcs
from services.gateway.web.common import (
    FINANCE_WRITERS,
    WRITE_ERRORS,
    audit_form,
    bp,
    form_data,
    form_errors,
    form_status,
    page,
    page_args,
    render,
)


class ReportsPageQuery(Schema):
    plan = Id(metadata={"example": 1})
    year = Year(metadata={"example": 2024})


class SectionsPageQuery(Schema):
    unit = fields.String(metadata={"example": "910"})
    year = Year(metadata={"example": 2024})


class SectionsForm(yearly.SectionsIn):
    unit = fields.String(required=True)
    year = Year(required=True)


class SubmissionForm(yearly.SubmissionIn):
    plan_id = fields.Integer(required=True)


def _default_year(plan: catalog.Plan) -> int:
    """The year being reported: this year within the plan's period (its last year once the period is over)."""
    return max(plan.period_from, min(units.today().year, plan.period_to))


def _default_plan() -> catalog.Plan:
    """The plan of the person's own district (its health centre reports under it), else the province plan."""
    plans = catalog.load_plans()
    unit = g.principal.unit
    district = (
        unit if unit in units.districts() else (units.parent_of(unit) if unit and units.is_known_unit(unit) else None)
    )
    for p in plans:
        if p.level == "district" and p.unit == district:
            return p
    return plans[0]


def _plan_or_default(plan_id: int | None) -> catalog.Plan:
    if plan_id is None:
        return _default_plan()
    return yearly._plan(plan_id)


def _reports_page(
    plan: catalog.Plan, year: int, status: int = 200, errors: list[dict[str, Any]] | None = None, form: Any = None
) -> Any:
    data = yearly.reports_answer(plan, year)
    return render(
        "yearly_reports.html",
        status,
        plan=plan,
        plans=catalog.load_plans(),
        year=year,
        data=data,
        errors=errors or [],
        form=form or {},
    )


@bp.get("/reports")
@allow(*READ_ROLES)
@page(query=ReportsPageQuery)
def yearly_reports() -> Any:
    """Who has reported for the year under a plan (on time, late after 30/11, overdue), the roll-up, the
    Word report of each unit and, for finance, the form recording a submission."""
    q = page_args(ReportsPageQuery())
    plan = _plan_or_default(q.get("plan"))
    return _reports_page(plan, q.get("year") or _default_year(plan))


@bp.post("/reports/submissions")
@allow(*FINANCE_WRITERS)
@page(body=SubmissionForm)
def submit_yearly_report() -> Any:
    """Record a unit's submission (the same checks as POST /api/v1/plans/{id}/reports)."""
    audit_form()
    plan = _default_plan()
    year = _default_year(plan)
    try:
        cmd = SubmissionForm().load(form_data(SubmissionForm()))
        plan = yearly._plan(cmd["plan_id"])
        year = cmd["year"]
        out = yearly.record_submission(plan, cmd)
    except WRITE_ERRORS as exc:
        return _reports_page(plan, year, form_status(exc), form_errors(exc), request.form.to_dict())
    g.audit_details["result_id"] = out["id"]
    state = "trễ hạn (sau 30/11)" if out["late"] else "đúng hạn"
    flash(f"Đã ghi nhận báo cáo năm {out['year']} của đơn vị {out['unit']} ({out['document']}), {state}.", "ok")
    return redirect(url_for("web.yearly_reports", plan=plan.id, year=out["year"]), 303)


def _sections_page(
    unit: str, year: int, status: int = 200, errors: list[dict[str, Any]] | None = None, form: Any = None
) -> Any:
    with ytcs().session() as s:
        data = report.sections_answer(s, unit, year)
    return render(
        "report_sections.html",
        status,
        unit=unit,
        unit_name=report._unit_name(unit),
        year=year,
        data=data,
        plans=catalog.load_plans(),
        errors=errors or [],
        form=form or {},
    )


@bp.get("/reports/sections")
@allow(*READ_ROLES)
@page(query=SectionsPageQuery)
def report_sections() -> Any:
    """The sections a unit writes itself in its yearly report: shortcomings and proposals, with earlier versions."""
    q = page_args(SectionsPageQuery())
    unit = q.get("unit") or g.principal.unit or units.PROVINCE_CODE
    year = q.get("year") or _default_year(catalog.load_plans()[0])
    yearly._unit_in_scope(unit, year)
    return _sections_page(unit, year)


@bp.post("/reports/sections")
@allow(*FINANCE_WRITERS)
@page(body=SectionsForm)
def save_report_sections() -> Any:
    """Save the unit's sections (a new version unless unchanged; the same checks as the API's PUT)."""
    audit_form()
    unit = request.form.get("unit") or g.principal.unit or units.PROVINCE_CODE
    year = _default_year(catalog.load_plans()[0])
    try:
        cmd = SectionsForm().load(form_data(SectionsForm()))
        unit, year = cmd["unit"], cmd["year"]
        yearly._unit_in_scope(unit, year)
        with ytcs().session() as s:
            created = report.record_sections(s, unit, year, cmd, g.principal.name)
            s.commit()
    except WRITE_ERRORS as exc:
        try:
            return _sections_page(unit, year, form_status(exc), form_errors(exc), request.form.to_dict())
        except WRITE_ERRORS:
            return _sections_page(g.principal.unit or units.PROVINCE_CODE, year, form_status(exc), form_errors(exc), {})
    flash("Đã lưu phần đơn vị tự viết." if created else "Nội dung không thay đổi; không tạo phiên bản mới.", "ok")
    return redirect(url_for("web.report_sections", unit=unit, year=year), 303)
