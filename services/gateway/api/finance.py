"""The budget ledger (finance service): allocations, sub-allocations, disbursements, reversals, adjustments,
and what a unit has received. The per-item funding endpoints are the `funding` module's (they add the
investment service's money to finance's)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, g, jsonify

from services.common.contracts.finance import (
    AdjustmentCommandV1,
    AllocationCommandV1,
    AllocationViewV1,
    DisbursementCommandV1,
    ReversalCommandV1,
    YearEndCommandV1,
    YearEndReversalCommandV1,
)
from services.gateway.api.common import XLSX, load_args, load_json, rpc, uploaded_workbook, xlsx_download
from services.gateway.api.schemas.finance import (
    AllocationFilter,
    AllocationImport,
    AllocationQuery,
    DisbursementImport,
    DisbursementTemplateQuery,
    ImportQuery,
    TemplateQuery,
    YearEndRecord,
)
from services.gateway.application import allocation_import, disbursement_import, finance, workbooks
from services.gateway.application.access import READ_ROLES, allow, scoped_unit
from services.gateway.application.funding import source_names
from services.gateway.openapi import doc, doc_sheet_upload

bp = Blueprint("finance", __name__, url_prefix="/api/v1")
WRITERS = ("admin", "finance")


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
    return jsonify(finance.create_allocation(load_json(AllocationCommandV1()))), 201


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


@bp.get("/allocations.xlsx")
@allow(*READ_ROLES)
@doc(query=AllocationFilter, response_content_type=XLSX)
def export_allocations() -> Any:
    """The allocations GET /api/v1/allocations lists for the same filters (all pages), as an Excel workbook:
    one row each with its plan, item, source, year, recipient, decision and money. No total row: a
    sub-allocation is the same money as its parent. 422 `too_many_rows` past 20,000 (filter further)."""
    q = load_args(AllocationFilter())
    unit = scoped_unit(q.pop("unit", None))
    if unit is not None:
        q["unit"] = unit
    return xlsx_download(*workbooks.allocations_report(q))


@bp.get("/allocations/template.xlsx")
@allow(*WRITERS)
@doc(query=TemplateQuery, response_content_type=XLSX)
def allocation_template() -> Any:
    """The Excel template of a plan's allocations: one allocation a row, with a sheet of the plan's items,
    sources and units to pick from, and of the allocations within the caller's unit a sub-allocation may come
    from; filled in, it comes back through `POST /api/v1/allocations/import.xlsx`."""
    plan_id = load_args(TemplateQuery())["plan_id"]
    plan = rpc("finance", "get_plan", plan_id)
    scope = g.principal.unit
    parents = allocation_import.offered_parents(plan, scope)
    book = allocation_import.template_workbook(
        plan, rpc("finance", "plan_items", plan_id), rpc("finance", "list_sources"), scope, parents
    )
    return xlsx_download(book, f"phan-bo-{plan['number'].replace('/', '-')}.xlsx")


@bp.post("/allocations/import.xlsx")
@allow(*WRITERS)
@doc_sheet_upload(AllocationImport, ImportQuery)
def import_allocations() -> Any:
    """A filled-in allocation template (the .xlsx as the body, or a form field `file`). Every row is checked
    first; one wrong cell refuses the whole sheet (422, each problem with its row, column and reason) and nothing
    is written. A row finance already holds (the same decision, item, source, year, unit, parent and fund) is
    not recorded again, so the sheet may be sent again with rows added or mended; one whose amount differs from
    the recorded one is refused (`differs_from_recorded`: correct it by an adjustment)."""
    q = load_args(ImportQuery())
    return jsonify(allocation_import.import_workbook(uploaded_workbook(), q.get("plan_id")))


@bp.get("/disbursements/template.xlsx")
@allow(*WRITERS)
@doc(query=DisbursementTemplateQuery, response_content_type=XLSX)
def disbursement_template() -> Any:
    """The Excel template of payments (giải ngân) from a plan's allocations: one payment a row, with its voucher
    number, and a sheet of the allocations within the caller's unit (of `year`, when given) to pay from; filled
    in, it comes back through `POST /api/v1/disbursements/import.xlsx`."""
    q = load_args(DisbursementTemplateQuery())
    plan = rpc("finance", "get_plan", q["plan_id"])
    offered = disbursement_import.offered_allocations(q["plan_id"], q.get("year"), g.principal.unit)
    book = disbursement_import.template_workbook(plan, offered, source_names())
    return xlsx_download(book, f"giai-ngan-{plan['number'].replace('/', '-')}.xlsx")


@bp.post("/disbursements/import.xlsx")
@allow(*WRITERS)
@doc_sheet_upload(DisbursementImport)
def import_disbursements() -> Any:
    """A filled-in disbursement template (the .xlsx as the body, or a form field `file`). Every row is checked
    first; one wrong cell refuses the whole sheet (422, each problem with its row, column and reason) and nothing
    is written. A payment finance already holds (the same allocation, voucher number and year) is not recorded
    again, so the sheet may be sent again with rows added; one whose date or amount differs is refused
    (`differs_from_recorded`), and so is one alike to a payment recorded without a voucher number
    (`recorded_without_reference`)."""
    return jsonify(disbursement_import.import_workbook(uploaded_workbook()))


@bp.get("/allocations/<int:allocation_id>")
@allow(*READ_ROLES)
@doc(response=AllocationViewV1)
def get_allocation(allocation_id: int) -> Any:
    """One allocation with its history: adjustments, disbursements and reversals, sub-allocations."""
    return jsonify(finance.allocation(allocation_id))


@bp.post("/allocations/<int:allocation_id>/disbursements")
@allow(*WRITERS)
@doc(body=DisbursementCommandV1, status=201)
def disburse(allocation_id: int) -> Any:
    """Record a disbursement (giải ngân); 422 exceeds_allocation past what the allocation has left."""
    return jsonify(finance.disburse(allocation_id, load_json(DisbursementCommandV1()))), 201


@bp.post("/disbursements/<int:disbursement_id>/reversals")
@allow(*WRITERS)
@doc(body=ReversalCommandV1, status=201)
def reverse_disbursement(disbursement_id: int) -> Any:
    """Reverse a disbursement in whole or part: a new negative record naming the original."""
    return jsonify(finance.reverse_disbursement(disbursement_id, load_json(ReversalCommandV1()))), 201


@bp.post("/allocations/<int:allocation_id>/adjustments")
@allow(*WRITERS)
@doc(body=AdjustmentCommandV1, status=201)
def adjust(allocation_id: int) -> Any:
    """Record an adjustment (điều chỉnh), up or down, by a new decision."""
    return jsonify(finance.adjust(allocation_id, load_json(AdjustmentCommandV1()))), 201


@bp.post("/allocations/<int:allocation_id>/carry-over")
@allow(*WRITERS)
@doc(body=YearEndCommandV1, response=YearEndRecord, status=201)
def carry_over(allocation_id: int) -> Any:
    """Chuyển nguồn: carry what a past year's allocation still holds to the next fiscal year, by a decision;
    422 year_not_ended, before_year_end, date_in_future, invalid_decision, amount_not_positive,
    exceeds_undisbursed."""
    return jsonify(finance.carry_over(allocation_id, load_json(YearEndCommandV1()))), 201


@bp.post("/allocations/<int:allocation_id>/close")
@allow(*WRITERS)
@doc(body=YearEndCommandV1, response=YearEndRecord, status=201)
def close_allocation(allocation_id: int) -> Any:
    """Quyết toán (đóng): what a past year's allocation still holds lapses, by a decision; the same refusals."""
    return jsonify(finance.close_allocation(allocation_id, load_json(YearEndCommandV1()))), 201


@bp.post("/year-end-records/<int:record_id>/reversals")
@allow(*WRITERS)
@doc(body=YearEndReversalCommandV1, response=YearEndRecord, status=201)
def reverse_year_end(record_id: int) -> Any:
    """Undo (part of) a carry-over or close by its own decision: a negative record naming the original;
    422 exceeds_year_end_record, already_reversed, not_reversible, carried_over_paid; 404
    unknown_year_end_record."""
    return jsonify(finance.reverse_year_end(record_id, load_json(YearEndReversalCommandV1()))), 201


# GET /api/v1/units/{code}/funding (finance and investment, predecessors included): api/units.py
