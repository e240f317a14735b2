"""Payments of station projects' capital through the Excel template: an investment officer copies the treasury's
statement of payments (bảng kê chứng từ thanh toán vốn đầu tư) into the template, one payment a row, each naming the
project, the source paid from and its voucher number. A negative amount is money returned (thu hồi), or the undoing
of a payment recorded wrong when it carries that payment's voucher (services/investment/domain/payments.py).

Read as the allocation and payment templates are (sheets.py): every cell as typed, the API's schema, the
caller's unit scope; then investment records the sheet in one transaction (`import_disbursements`), all or
nothing, and a payment it already holds (same project, source, voucher number and year: services/common/imports.py)
is matched, not recorded again."""

from __future__ import annotations

from typing import Any

from flask import g
from openpyxl import Workbook
from openpyxl.styles import Font

from services.common.contracts.investment import MAX_IMPORT_ROWS, DisbursementImportIn, DisbursementImportRowIn
from services.gateway.application import sheets
from services.gateway.application.access import refusals_by_id, require_project
from services.gateway.application.investment import STATUS_NAMES
from services.gateway.application.remote import rpc

WHAT = "mẫu giải ngân vốn đầu tư"
COLUMNS: tuple[tuple[str, str], ...] = (
    ("project_id", "Số dự án: cột A trang 'Danh muc'"),
    ("source", "Nguồn vốn: mã hoặc tên (cột E trang 'Danh muc')"),
    ("amount", "Số tiền (đồng); âm: thu hồi"),
    ("date", "Ngày chứng từ (dd/mm/yyyy)"),
    ("reference", "Số chứng từ, bắt buộc"),
)
KEYS = tuple(k for k, _h in COLUMNS)
FIRST_ROW = sheets.FIRST_ROW
READERS = {
    "project_id": sheets.whole_cell,
    "source": sheets.text_cell,
    "amount": sheets.amount_cell,
    "date": sheets.day_cell,
    "reference": sheets.text_cell,
}
AS_TYPED = {
    "project_id": "Số dự án phải là số (cột A của trang 'Danh muc').",
    "date": sheets.day_as_typed("05/03/2024"),
}
LIST_COLUMNS = (("Số dự án", 10), ("Dự án", 36), ("Trạm y tế", 30), ("Trạng thái", 16), ("Mã nguồn", 20),
                ("Nguồn vốn", 36), ("Vốn giao (đồng)", 18), ("Đã giải ngân (đồng)", 18),
                ("Còn lại (đồng)", 18))  # fmt: skip


# --------------------------------------------------------------------------- the template


def offered_accounts(unit: str | None, plan_id: int | None) -> list[dict[str, Any]]:
    """Each source of each project's capital within `unit` (of `plan_id`): what a payment may be drawn from."""
    return list(rpc("investment", "capital_by_source", unit, plan_id))


def template_workbook(accounts: list[dict[str, Any]], source_names: dict[str, str]) -> Workbook:
    """The empty template: headings, the key row, a first sheet to fill in, and a second listing each project's
    sources with the capital given, paid and left, whose first column the first sheet's offers."""
    book = Workbook()
    ws = book.active
    ws.title = "Giai ngan"
    ws["A1"] = "GIẢI NGÂN VỐN ĐẦU TƯ — DỰ ÁN TRẠM Y TẾ"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        f"Mỗi dòng một chứng từ, từ dòng 5; không sửa dòng 4. Dự án và nguồn: xem trang '{sheets.LISTS}'. "
        "Gửi lại cả tệp khi thêm dòng hoặc sửa dòng bị từ chối: chứng từ đã ghi không bị ghi lần nữa. "
        "Số tiền âm: tiền thu hồi, hoặc hủy một lần chi ghi sai nếu ghi cùng số chứng từ của lần chi đó."
    )
    sheets.write_columns(ws, COLUMNS, {"project_id": 14, "source": 28, "amount": 26, "reference": 24}, 60)
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=1)
    for r in range(FIRST_ROW, FIRST_ROW + 200):
        ws.cell(row=r, column=KEYS.index("amount") + 1).number_format = "#,##0"
        ws.cell(row=r, column=KEYS.index("date") + 1).number_format = "dd/mm/yyyy"

    rows = [
        (a["project_id"], a["title"], f"{a['station_code']} {a['station_name']}",
         STATUS_NAMES.get(a["status"], a["status"]), a["source"], source_names.get(a["source"], a["source"]),
         a["capital"], a["disbursed"], a["capital"] - a["disbursed"])
        for a in accounts
    ]  # fmt: skip
    lists = book.create_sheet(sheets.LISTS)
    sheets.write_list(lists, LIST_COLUMNS, rows, money=(6, 7, 8))
    # Any project within the person's unit is taken, listed or not.
    sheets.offer(ws, lists, 1, len(accounts), KEYS.index("project_id") + 1, FIRST_ROW + MAX_IMPORT_ROWS - 1)
    return book


# --------------------------------------------------------------------------- reading a filled-in sheet


def _source_code(typed: Any, by_name: dict[str, str]) -> Any:
    """A source as typed: its code, or its name as the list shows it (case and spaces aside)."""
    if not isinstance(typed, str):
        return typed
    return by_name.get(" ".join(typed.split()).casefold(), typed)


def read_sheet(data: bytes, source_names: dict[str, str]) -> tuple[list[dict[str, Any]], sheets.Layout]:
    """(rows [{row, cmd}] each loaded by DisbursementImportRowIn, the layout with every problem). A row the
    schema refused is kept with `refused` and its project, for the scope check."""
    grid = sheets.read_grid(data, MAX_IMPORT_ROWS, WHAT)
    where = sheets.layout(grid, set(KEYS), ("project_id", "source"), WHAT)
    by_name = {" ".join(n.split()).casefold(): code for code, n in source_names.items()}

    def prepare(raw: dict[str, Any], n: int) -> dict[str, Any]:
        if "source" in raw:
            raw["source"] = _source_code(raw["source"], by_name)
        return {**raw, "row": n}

    rows = sheets.loaded_rows(grid, where, READERS, DisbursementImportRowIn(), AS_TYPED, ("project_id",), prepare)
    return rows, where


# --------------------------------------------------------------------------- the import


def _scope_problems(rows: list[dict[str, Any]], where: sheets.Layout) -> None:
    """Each row's project within the caller's unit, as one payment's is checked (`require_project`), asked once
    a project; an unknown project is investment's to name."""
    wanted = {r["cmd"]["project_id"] for r in rows if isinstance(r["cmd"]["project_id"], int)}
    sheets.name_refusals(rows, where, "project_id", refusals_by_id(wanted, require_project))


def import_workbook(data: bytes, source_names: dict[str, str]) -> dict[str, Any]:
    """Check a filled-in template and have investment record it (the API's import and the projects page's
    upload): raises DomainError naming every bad cell, and then nothing is written. Answers how many payments
    were recorded and how many investment already held, with each row's disbursement id."""
    rows, where = read_sheet(data, source_names)
    if not rows and not where.problems:
        where.problems.append(sheets.cell_problem(None, None, None, "no_rows", "Tệp chưa có dòng giải ngân nào."))
    _scope_problems(rows, where)
    sheets.refuse_if_wrong(rows, where, lambda good: _ask_investment("check_disbursement_import", good, where))
    answer = _ask_investment("import_disbursements", rows, where, g.principal.name)
    sheets.audit_recorded(answer)
    return answer


def _ask_investment(method: str, rows: list[dict[str, Any]], where: sheets.Layout, *actor: str) -> Any:
    payload = DisbursementImportIn().dump({"rows": [r["cmd"] for r in rows]})
    return sheets.send("investment", method, payload, where, *actor)
