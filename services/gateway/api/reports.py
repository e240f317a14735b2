"""Excel downloads: the plan's yearly funding report, a facility-quarter's reconciliation and a claim file's
errors (application/workbooks.py gathers the figures and builds the workbooks; these views answer HTTP)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint

from services.gateway.api.common import XLSX, load_args, xlsx_download
from services.gateway.api.schemas.claims import FileErrorsQuery
from services.gateway.api.schemas.reconciliation import ReconciliationQuery
from services.gateway.api.schemas.reports import ReportQuery
from services.gateway.application import workbooks
from services.gateway.application.access import READ_ROLES, allow, scoped_unit
from services.gateway.application.facilities import require_facility
from services.gateway.openapi import doc

bp = Blueprint("reports", __name__)


@bp.get("/api/v1/plans/<int:plan_id>/report.xlsx")
@allow(*READ_ROLES)
@doc(query=ReportQuery, response_content_type=XLSX, responses={404: "Không có kế hoạch này"})
def plan_report(plan_id: int) -> Any:
    """The plan's funding report as an Excel workbook: one row per item, allocated and disbursed by source,
    and a second sheet "Chỉ tiêu" with every target against its result (the answer of GET .../targets).

    Execution rate per item, the sections' subtotals and the grand total, a heading with the plan's number and
    date, VND cells as whole đồng (`#,##0`), frozen heading, print setup (A4 landscape, one page wide). Refused
    with 503 `report_incomplete` while a service cannot answer (a report is never handed on with holes).
    """
    q = load_args(ReportQuery())
    return xlsx_download(*workbooks.plan_report(plan_id, q.get("year"), scoped_unit(q.get("unit"))))


@bp.get("/api/v1/reconciliation/report.xlsx")
@allow(*READ_ROLES)
@doc(query=ReconciliationQuery, response_content_type=XLSX)
def reconciliation_report() -> Any:
    """A facility-quarter's reconciliation as an Excel workbook (the same figures as GET /api/v1/reconciliation)."""
    q = load_args(ReconciliationQuery())
    facility = q.get("facility")
    if facility:
        require_facility(facility, "facility")
    return xlsx_download(*workbooks.reconciliation_report(facility, q["period"]))


@bp.get("/api/v1/claims/files/<int:file_id>/errors.xlsx")
@allow("admin", "bhxh")  # record-by-record errors quote health data (access.HEALTH_ROLES)
@doc(query=FileErrorsQuery, response_content_type=XLSX, responses={404: "Không có tệp hồ sơ này"})
def file_errors_xlsx(file_id: int) -> Any:
    """All the errors of a claim file as an Excel workbook, optionally of one code or severity."""
    q = load_args(FileErrorsQuery())
    return xlsx_download(*workbooks.errors_report(file_id, q.get("code"), q.get("severity")))
