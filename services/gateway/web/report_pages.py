"""The yearly report pages (plan section V, before 30/11): who has reported under a plan, on time or late, with
the roll-up; recording a unit's submission; the sections a unit writes itself (shortcomings, proposals); the
Word document's download. The same checks and tables as the API (application/yearly.py)."""

from __future__ import annotations

from typing import Any

from flask import flash, g, redirect, request, url_for
from marshmallow import Schema, fields

from services.common import catalog, clock, units
from services.common.contracts.fields import Id, Year
from services.gateway.application import funding, yearly
from services.gateway.application.access import READ_ROLES, allow, unit_in_scope
from services.gateway.web.common import (
    FINANCE_WRITERS,
    audit_form,
    bp,
    page,
    page_args,
    render,
    show_refused,
    write_form,
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
    return max(plan.period_from, min(clock.today().year, plan.period_to))


def _default_plan() -> catalog.Plan:
    """The plan of the person's own unit or the nearest one above it (their district's, else the province's):
    the same rule as the money pages (funding.own_plan_id)."""
    return funding.get_plan(funding.own_plan_id([{"id": p.id, "unit": p.unit} for p in catalog.load_plans()]))


def _plan_or_default(plan_id: int | None) -> catalog.Plan:
    if plan_id is None:
        return _default_plan()
    return funding.get_plan(plan_id)


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
    shown = {"plan": _default_plan()}  # the plan the page shows again: the form's once it is read

    def record(cmd: dict[str, Any]) -> dict[str, Any]:
        shown["plan"], shown["year"] = funding.get_plan(cmd["plan_id"]), cmd["year"]
        return yearly.record_submission(shown["plan"], cmd)

    def refused(exc: Exception) -> Any:
        plan = shown["plan"]
        year = shown.get("year") or _default_year(plan)
        return show_refused(exc, lambda status, errors, form: _reports_page(plan, year, status, errors, form))

    def done(out: dict[str, Any]) -> Any:
        state = "trễ hạn (sau 30/11)" if out["late"] else "đúng hạn"
        flash(f"Đã ghi nhận báo cáo năm {out['year']} của đơn vị {out['unit']} ({out['document']}), {state}.", "ok")
        return redirect(url_for("web.yearly_reports", plan=shown["plan"].id, year=out["year"]), 303)

    return write_form(SubmissionForm(), record, refused, done)


def _sections_page(
    unit: str, year: int, status: int = 200, errors: list[dict[str, Any]] | None = None, form: Any = None
) -> Any:
    data = yearly.sections(unit, year)
    return render(
        "report_sections.html",
        status,
        unit=unit,
        unit_name=units.known_name(unit),
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
    unit_in_scope(unit, year)
    return _sections_page(unit, year)


@bp.post("/reports/sections")
@allow(*FINANCE_WRITERS)
@page(body=SectionsForm)
def save_report_sections() -> Any:
    """Save the unit's sections (a new version unless unchanged; the same checks as the API's PUT)."""
    audit_form()
    shown = {"unit": request.form.get("unit") or g.principal.unit or units.PROVINCE_CODE}
    shown["year"] = _default_year(catalog.load_plans()[0])

    def save(cmd: dict[str, Any]) -> dict[str, Any]:
        shown["unit"], shown["year"] = cmd["unit"], cmd["year"]
        unit_in_scope(cmd["unit"], cmd["year"])
        return {"created": yearly.save_sections(cmd["unit"], cmd["year"], cmd)}

    def refused(exc: Exception) -> Any:
        own = g.principal.unit or units.PROVINCE_CODE
        return show_refused(
            exc,
            lambda status, errors, form: _sections_page(shown["unit"], shown["year"], status, errors, form),
            lambda status, errors, _form: _sections_page(own, shown["year"], status, errors, {}),
        )

    def done(out: dict[str, Any]) -> Any:
        created = out["created"]
        flash("Đã lưu phần đơn vị tự viết." if created else "Nội dung không thay đổi; không tạo phiên bản mới.", "ok")
        return redirect(url_for("web.report_sections", unit=shown["unit"], year=shown["year"]), 303)

    return write_form(SectionsForm(), save, refused, done)
