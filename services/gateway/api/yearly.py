"""The yearly report of a plan (section V: before 30/11) as a Word document, the sections a unit writes in
it itself, and who has reported (application/yearly.py gathers, application/yearly_report.py builds; this
module answers HTTP)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, jsonify, request
from prometheus_client import Gauge

from services.common import clock
from services.gateway.api.common import load_args, load_json, ytcs
from services.gateway.api.schemas.yearly import DocxQuery, SectionsIn, StatusQuery, SubmissionIn
from services.gateway.application import funding, yearly
from services.gateway.application import yearly_report as report
from services.gateway.application.access import READ_ROLES, allow, scoped_unit, unit_in_scope
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


# --------------------------------------------------------------------------- the Word document


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
    data = yearly.report_data(plan_id, q["year"], unit)
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
    unit_in_scope(code, year)
    return jsonify(yearly.sections(code, year))


@bp.put("/units/<code>/report-sections/<int:year>")
@allow(*WRITE_ROLES)
@doc(body=SectionsIn, responses={404: "Không có đơn vị này"})
def put_sections(code: str, year: int) -> Any:
    """Write the unit's sections for the year: a new version (`created: true`) unless the text is unchanged."""
    body = load_json(SectionsIn())
    unit_in_scope(code, year)
    created = yearly.save_sections(code, year, body)
    return jsonify({**yearly.sections(code, year), "created": created})


# --------------------------------------------------------------------------- who has reported


@bp.get("/plans/<int:plan_id>/reports")
@allow(*READ_ROLES)
@doc(query=StatusQuery, responses={404: "Không có kế hoạch này"})
def reports_status(plan_id: int) -> Any:
    """Which units have reported for the year under the plan, on time or late (after 30/11), which have
    not (overdue once 30/11 has passed), each with its latest submission and its money of the year
    (allocated, disbursed: the funding tree's, within the unit); `rollup` counts them and sums the money
    over all units and over those that reported (`money` null while a service cannot answer)."""
    plan = funding.get_plan(plan_id)
    q = load_args(StatusQuery())
    return jsonify(yearly.reports_answer(plan, q["year"]))


@bp.post("/plans/<int:plan_id>/reports")
@allow(*WRITE_ROLES)
@doc(body=SubmissionIn, status=201, responses={404: "Không có kế hoạch này"})
def submit_report(plan_id: int) -> Any:
    """Record that a unit sent its yearly report (date, document number, file name). A later submission for
    the same unit and year is kept as a new row and is the one that counts."""
    plan = funding.get_plan(plan_id)
    body = load_json(SubmissionIn())
    return jsonify(yearly.record_submission(plan, body)), 201


@bp.before_app_request
def refresh_late_gauge() -> None:
    """Compute the late-report gauge just before /metrics is rendered (any worker may answer the scrape)."""
    if request.endpoint != "system.metrics":
        return
    try:
        with ytcs().session() as s:
            counts = report.late_counts(s, clock.today())
    except Exception:  # noqa: BLE001 - a metric must never break the scrape; the value stays as it was
        return
    for (number, year), n in counts.items():
        LATE_REPORTS.labels(plan=number, year=str(year)).set(n)
