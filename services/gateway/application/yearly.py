"""The yearly report of a plan (section V: due before 30/11): the Word document's data, gathered from the same
answers as the API; who has reported, with each unit's money; recording a submission and the sections a unit
writes itself. yearly_report.py builds the document and keeps the gateway's report tables; the API
(api/yearly.py) and the pages (web/report_pages.py) call these."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g
from marshmallow import Schema, fields, validate

from services.common import catalog, clock, units
from services.common.contracts.fields import Text, Year
from services.common.errors import DomainError
from services.gateway.application import figures, finance, funding
from services.gateway.application import yearly_report as report
from services.gateway.application.access import require_unit, scoped_unit
from services.gateway.application.remote import rpc, session


class SectionsIn(Schema):
    shortcomings = Text(
        load_default="", validate=validate.Length(max=20000), metadata={"description": "Tồn tại, hạn chế"}
    )
    proposals = Text(
        load_default="", validate=validate.Length(max=20000), metadata={"description": "Kiến nghị, đề xuất"}
    )


class SubmissionIn(Schema):
    unit = fields.String(
        required=True,
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={"description": "Unit reporting", "example": "910"},
    )
    year = Year(required=True, metadata={"example": 2024})
    submitted_on = fields.Date(required=True, metadata={"description": "Ngày gửi báo cáo", "example": "2024-11-25"})
    document = Text(
        required=True,
        validate=validate.Length(min=1, max=200),
        metadata={"description": "Số hiệu văn bản báo cáo", "example": "125/BC-TTYT"},
    )
    file_name = Text(allow_none=True, validate=validate.Length(max=255), metadata={"example": "bao-cao-2024.pdf"})
    note = Text(allow_none=True, validate=validate.Length(max=2000))


def check_date(d: date, year: int) -> None:
    """A report of `year` is sent within or after that year, never in the future."""
    if d > clock.today():
        raise DomainError.one("in_future", "Ngày gửi báo cáo không được sau ngày hôm nay.", "submitted_on")
    if d.year < year:
        raise DomainError.one("out_of_range", f"Báo cáo năm {year} không thể gửi trước năm {year}.", "submitted_on")


def report_data(plan_id: int, year: int, unit: str | None) -> report.ReportData:
    """Everything the document prints, from the same answers as the API (unit already scoped). Raises 503
    `report_incomplete` when a service cannot answer: a report is never handed on with holes."""
    plan = funding.get_plan(plan_id)
    targets = funding.targets_answer(plan_id, year, unit)  # the very answer of GET /plans/{id}/targets
    money = funding.plan_figures(plan_id, year, unit, "yearly.report_docx")
    missing = money["missing"] + [m for m in targets.get("missing", []) if m not in money["missing"]]
    funding.refuse_partial({"partial": bool(missing), "missing": missing})
    scope = report.report_unit(plan, unit)
    projects = rpc("investment", "list_projects", None if scope == units.PROVINCE_CODE else scope)
    _bhyt_unit, facilities = funding.bhyt_scope(plan, unit)
    quarters = [rpc("claims", "reconciliation", None, f"{year}-Q{q}", facilities) for q in (1, 2, 3, 4)]
    return report.ReportData(
        plan=plan,
        year=year,
        unit=scope,
        targets=targets["items"],
        items=money["items"],
        total=money["total"],
        sources=funding.source_names(),
        projects=projects,
        quarters=quarters,
        sections=sections(scope, year),
        today=clock.today(),
        year_end_sources=figures.year_end_by_source(
            finance.year_end_allocations(plan_id, year, unit), [i["code"] for i in money["items"]], year
        ),
    )


def reports_answer(plan: catalog.Plan, year: int) -> dict[str, Any]:
    """Who has reported, with each unit's money of the year and the roll-up (the API and the page)."""
    scope = scoped_unit(None)
    with session() as s:
        status = report.reporting_status(s, plan, year, clock.today(), scope)
    per_unit: dict[str, dict[str, Any]] | None = {}
    for row in status["units"]:  # each unit's figures as its own report prints them (every money stream)
        money = funding.plan_figures(plan.id, year, row["unit"], "yearly.reports_status")
        if money["partial"]:
            per_unit = None
            break
        per_unit[row["unit"]] = money["total"]
    return report.add_money(status, per_unit)


def record_submission(plan: catalog.Plan, body: dict[str, Any]) -> dict[str, Any]:
    """Record that a unit sent its report (`body` loaded by SubmissionIn): the checks and the write."""
    unit, year = body["unit"], body["year"]
    if unit not in report.expected_units(plan):
        raise DomainError.one("not_reporting_unit", f"Đơn vị {unit} không báo cáo theo Kế hoạch {plan.number}.", "unit")
    require_unit(unit, "unit")
    check_date(body["submitted_on"], year)
    with session() as s:
        row = report.ReportSubmission(
            plan_id=plan.id,
            unit=unit,
            year=year,
            submitted_on=body["submitted_on"],
            document=body["document"].strip(),
            file_name=(body.get("file_name") or "").strip() or None,
            note=(body.get("note") or "").strip() or None,
            recorded_by=g.principal.name,
        )
        s.add(row)
        s.commit()
        return report.submission_dict(row)


def sections(unit: str, year: int) -> dict[str, Any]:
    """What a unit wrote itself for its yearly report, with the earlier versions."""
    with session() as s:
        return report.sections_answer(s, unit, year)


def save_sections(unit: str, year: int, body: dict[str, Any]) -> bool:
    """A new version of the unit's sections (`body` loaded by SectionsIn); False when the text is unchanged.
    The caller has checked `access.unit_in_scope`."""
    with session() as s:
        created = report.record_sections(s, unit, year, body, g.principal.name)
        s.commit()
        return created
