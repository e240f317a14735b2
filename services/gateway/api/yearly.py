"""The yearly report of a plan (section V: before 30/11) as a Word document, the sections a unit writes in
it itself, and who has reported (services/gateway/yearly_report.py builds; this module answers HTTP)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, Response, g, jsonify, request
from marshmallow import Schema, fields, validate
from prometheus_client import Gauge

from services.common import catalog, units
from services.common.contracts.fields import Text, Year
from services.common.errors import DomainError
from services.gateway import yearly_report as report
from services.gateway.access import READ_ROLES, allow, require_unit, scoped_unit
from services.gateway.api import funding
from services.gateway.api.common import load_args, load_json, rpc, ytcs
from services.gateway.api.reports import _refuse_partial, plan_figures, source_names
from services.gateway.openapi import doc

bp = Blueprint("yearly", __name__, url_prefix="/api/v1")
WRITE_ROLES = ("finance", "admin")

# Set at each scrape from the gateway's database (a small table): "mostrecent" so that the gunicorn worker
# that answered the last scrape gives the value, not a sum over workers.
LATE_REPORTS = Gauge(
    "ytcs_yearly_reports_late",
    "Units whose yearly report under a plan is late: submitted after 30/11, or still missing after it",
    ["plan", "year"],
    multiprocess_mode="mostrecent",
)


class DocxQuery(Schema):
    year = Year(required=True, metadata={"example": 2024})
    unit = fields.String(
        validate=validate.Regexp(r"^[0-9]{2,5}$"),
        metadata={
            "description": "The unit reporting (its figures only); the caller's own by default",
            "example": "910",
        },
    )


class StatusQuery(Schema):
    year = Year(required=True, metadata={"example": 2024})


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


def _plan(plan_id: int) -> catalog.Plan:
    return funding._plan(plan_id)


def _check_date(d: date, year: int) -> None:
    if d > units.today():
        raise DomainError.one("in_future", "Ngày gửi báo cáo không được sau ngày hôm nay.", "submitted_on")
    if d.year < year:
        raise DomainError.one("out_of_range", f"Báo cáo năm {year} không thể gửi trước năm {year}.", "submitted_on")


# --------------------------------------------------------------------------- the Word document


def report_data(plan_id: int, year: int, unit: str | None) -> report.ReportData:
    """Everything the document prints, from the same answers as the API (unit already scoped). Raises 503
    `report_incomplete` when a service cannot answer: a report is never handed on with holes."""
    plan = _plan(plan_id)
    targets = funding.plan_targets(plan_id).get_json()  # the very answer of GET /plans/{id}/targets
    money = plan_figures(plan_id, year, unit, "yearly.report_docx")
    missing = money["missing"] + [m for m in targets.get("missing", []) if m not in money["missing"]]
    _refuse_partial({"partial": bool(missing), "missing": missing})
    scope = report.report_unit(plan, unit)
    projects = rpc("investment", "list_projects", None if scope == units.PROVINCE_CODE else scope)
    _bhyt_unit, facilities = funding._bhyt_scope(plan, unit)
    quarters = [rpc("claims", "reconciliation", None, f"{year}-Q{q}", facilities) for q in (1, 2, 3, 4)]
    with ytcs().session() as s:
        sections = report.sections_answer(s, scope, year)
    return report.ReportData(
        plan=plan,
        year=year,
        unit=scope,
        targets=targets["items"],
        items=money["items"],
        total=money["total"],
        sources=source_names(),
        projects=projects,
        quarters=quarters,
        sections=sections,
        today=units.today(),
    )


@bp.get("/plans/<int:plan_id>/report.docx")
@allow(*READ_ROLES)
@doc(query=DocxQuery, response_content_type=report.DOCX, responses={404: "Không có kế hoạch này"})
def report_docx(plan_id: int) -> Any:
    """The unit's yearly report under the plan as a Word document (Nghị định 30/2020/NĐ-CP form): every
    target against its result (the answer of GET /plans/{id}/targets), money per item and source, station
    investment, BHYT per quarter (reconciliation), and the unit's own shortcomings and proposals. Refused
    with 503 `report_incomplete` while a service cannot answer."""
    q = load_args(DocxQuery())
    unit = scoped_unit(q.get("unit"))
    data = report_data(plan_id, q["year"], unit)
    body = report.report_document(data)
    number = data.plan.number.split("/")[0]
    name = f"bao-cao-ket-qua-ke-hoach-{number}-{q['year']}-{data.unit}.docx"
    return Response(
        body,
        mimetype=report.DOCX,
        headers={"Content-Disposition": f'attachment; filename="{name}"', "Cache-Control": "no-store"},
    )


# --------------------------------------------------------------------------- the unit's own sections


@bp.get("/units/<code>/report-sections/<int:year>")
@allow(*READ_ROLES)
@doc(responses={404: "Không có đơn vị này"})
def get_sections(code: str, year: int) -> Any:
    """What a unit wrote itself for its yearly report (shortcomings, proposals), with the earlier versions."""
    _unit_in_scope(code, year)
    with ytcs().session() as s:
        return jsonify(report.sections_answer(s, code, year))


@bp.put("/units/<code>/report-sections/<int:year>")
@allow(*WRITE_ROLES)
@doc(body=SectionsIn, responses={404: "Không có đơn vị này"})
def put_sections(code: str, year: int) -> Any:
    """Write the unit's sections for the year: a new version (`created: true`) unless the text is unchanged."""
    body = load_json(SectionsIn())
    _unit_in_scope(code, year)
    with ytcs().session() as s:
        created = report.record_sections(s, code, year, body, g.principal.name)
        s.commit()
        return jsonify({**report.sections_answer(s, code, year), "created": created})


def _unit_in_scope(code: str, year: int) -> None:
    if not 2000 <= year <= 2100:
        raise DomainError.one("out_of_range", "Năm phải từ 2000 đến 2100.", "year")
    if not (code == units.PROVINCE_CODE or code in units.districts() or units.is_known_unit(code)):
        raise DomainError.one("not_found", f"Không có đơn vị {code[:10]}.", "code", 404)
    require_unit(code, "code")


# --------------------------------------------------------------------------- who has reported


@bp.get("/plans/<int:plan_id>/reports")
@allow(*READ_ROLES)
@doc(query=StatusQuery, responses={404: "Không có kế hoạch này"})
def reports_status(plan_id: int) -> Any:
    """Which units have reported for the year under the plan, on time or late (after 30/11), which have
    not (overdue once 30/11 has passed), each with its latest submission and its money of the year
    (allocated, disbursed: the funding tree's, within the unit); `rollup` counts them and sums the money
    over all units and over those that reported (`money` null while a service cannot answer)."""
    plan = _plan(plan_id)
    q = load_args(StatusQuery())
    return jsonify(reports_answer(plan, q["year"]))


def reports_answer(plan: catalog.Plan, year: int) -> dict[str, Any]:
    """Who has reported, with each unit's money of the year and the roll-up (the API and the page)."""
    scope = scoped_unit(None)
    with ytcs().session() as s:
        status = report.reporting_status(s, plan, year, units.today(), scope)
    per_unit: dict[str, dict[str, Any]] | None = {}
    for row in status["units"]:  # each unit's figures as its own report prints them (every money stream)
        money = plan_figures(plan.id, year, row["unit"], "yearly.reports_status")
        if money["partial"]:
            per_unit = None
            break
        per_unit[row["unit"]] = money["total"]
    return report.add_money(status, per_unit)


@bp.post("/plans/<int:plan_id>/reports")
@allow(*WRITE_ROLES)
@doc(body=SubmissionIn, status=201, responses={404: "Không có kế hoạch này"})
def submit_report(plan_id: int) -> Any:
    """Record that a unit sent its yearly report (date, document number, file name). A later submission for
    the same unit and year is kept as a new row and is the one that counts."""
    plan = _plan(plan_id)
    body = load_json(SubmissionIn())
    return jsonify(record_submission(plan, body)), 201


def record_submission(plan: catalog.Plan, body: dict[str, Any]) -> dict[str, Any]:
    """The checks and the write shared by the API and the page."""
    unit, year = body["unit"], body["year"]
    if unit not in report.expected_units(plan):
        raise DomainError.one("not_reporting_unit", f"Đơn vị {unit} không báo cáo theo Kế hoạch {plan.number}.", "unit")
    require_unit(unit, "unit")
    _check_date(body["submitted_on"], year)
    with ytcs().session() as s:
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


@bp.before_app_request
def refresh_late_gauge() -> None:
    """Compute the late-report gauge just before /metrics is rendered (any worker may answer the scrape)."""
    if request.endpoint != "system.metrics":
        return
    try:
        with ytcs().session() as s:
            counts = report.late_counts(s, units.today())
    except Exception:  # noqa: BLE001 - a metric must never break the scrape; the value stays as it was
        return
    for (number, year), n in counts.items():
        LATE_REPORTS.labels(plan=number, year=str(year)).set(n)
