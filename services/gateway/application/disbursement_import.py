"""Disbursements through the Excel template: a finance office or a station's accountant copies the treasury's
statement of payments (bảng kê chứng từ thanh toán) into the template, one payment a row, each naming the
allocation it was paid from and its voucher number.

The import reads every row the way a person typed it, checks each with the API's schema and the caller's unit
scope, then finance records the sheet in one transaction (`import_disbursements`): one wrong cell refuses the
whole sheet, every problem named by row and column, and nothing is written. A payment finance already holds (the
same allocation, voucher number and year: services/finance/domain/imports.py) is matched, not recorded again, so
the month's statement can be sent again with the new payments added."""

from __future__ import annotations

from datetime import date
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Font

from services.common import units
from services.common.contracts.finance import MAX_IMPORT_ROWS, DisbursementImportIn, DisbursementImportRowIn
from services.gateway.application import finance, sheets

WHAT = "mẫu giải ngân"
MAX_OFFERED = 20_000  # allocations listed to pick from; past that the template asks for a year
COLUMNS: tuple[tuple[str, str], ...] = (
    ("allocation_id", "Số phân bổ chi từ: cột A trang 'Danh muc'"),
    ("amount", "Số tiền chi (đồng)"),
    ("date", "Ngày chi (dd/mm/yyyy)"),
    ("reference", "Số chứng từ, bắt buộc: số lệnh chi, ủy nhiệm chi…"),
)
KEYS = tuple(k for k, _h in COLUMNS)
FIRST_ROW = sheets.FIRST_ROW
READERS = {
    "allocation_id": sheets.whole_cell,
    "amount": sheets.amount_cell,
    "date": sheets.day_cell,
    "reference": sheets.text_cell,
}
AS_TYPED = {
    "allocation_id": "Số phân bổ phải là số (cột A của trang 'Danh muc', hoặc cột Số của trang Phân bổ).",
    "date": sheets.day_as_typed("05/03/2024"),
}
LIST_COLUMNS = (("Số phân bổ", 12), ("Mục", 10), ("Nguồn", 30), ("Năm", 8), ("Đơn vị nhận", 36), ("Quyết định", 30),
                ("Còn lại (đồng)", 18))  # fmt: skip


# --------------------------------------------------------------------------- the template


def offered_allocations(plan_id: int, year: int | None, scope: str | None) -> list[dict[str, Any]]:
    """The plan's allocations (of `year`, within `scope`, the person's unit) a payment may be drawn from."""
    filters: dict[str, Any] = {"plan_id": plan_id}
    if year is not None:
        filters["year"] = year
    if scope is not None:
        filters["unit"] = scope
    advice = "Có {total} phân bổ, quá {limit} cho một mẫu; hãy chọn năm."
    return finance.every_allocation(filters, MAX_OFFERED, advice, "year")


def template_workbook(
    plan: dict[str, Any], allocations: list[dict[str, Any]], source_names: dict[str, str]
) -> Workbook:
    """The empty template: headings, the key row, a first sheet to fill in, and a second listing the allocations
    to pay from (id, item, source, year, recipient, decision, what is left), which the first column offers."""
    book = Workbook()
    ws = book.active
    ws.title = "Giai ngan"
    ws["A1"] = f"GIẢI NGÂN — KẾ HOẠCH {plan['number']}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"] = (
        f"Mỗi dòng một lần chi, từ dòng 5; không sửa dòng 4. Số phân bổ: xem trang '{sheets.LISTS}'. "
        "Gửi lại cả tệp khi thêm dòng hoặc sửa dòng bị từ chối: chứng từ đã ghi không bị ghi lần nữa."
    )
    sheets.write_columns(ws, COLUMNS, {"allocation_id": 20, "reference": 30, "amount": 20}, 48)
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=1)
    for r in range(FIRST_ROW, FIRST_ROW + 200):
        ws.cell(row=r, column=KEYS.index("amount") + 1).number_format = "#,##0"
        ws.cell(row=r, column=KEYS.index("date") + 1).number_format = "dd/mm/yyyy"

    names = {u: units.known_name(u) for u in {a["recipient_unit"] for a in allocations}}

    def listed(a: dict[str, Any]) -> tuple[Any, ...]:
        decision = None
        if a.get("decision_date"):
            decision = f"{a.get('decision_no') or ''} ngày {date.fromisoformat(a['decision_date']):%d/%m/%Y}".strip()
        source = source_names.get(a["source"], a["source"])
        recipient = f"{a['recipient_unit']} {names[a['recipient_unit']]}"
        return (a["id"], a["item_code"], source, a["fiscal_year"], recipient, decision, a["remaining"])

    lists = book.create_sheet(sheets.LISTS)
    sheets.write_list(lists, LIST_COLUMNS, [listed(a) for a in allocations], money=(6,))
    # Any allocation within the person's unit is taken, listed or not.
    sheets.offer(ws, lists, 1, len(allocations), KEYS.index("allocation_id") + 1, FIRST_ROW + MAX_IMPORT_ROWS - 1)
    return book


# --------------------------------------------------------------------------- reading a filled-in sheet


def read_sheet(data: bytes) -> tuple[list[dict[str, Any]], sheets.Layout]:
    """(rows [{row, cmd}] each loaded by DisbursementImportRowIn, the layout with every problem). A row the
    schema refused is kept with `refused` and its allocation, for the scope check."""
    grid = sheets.read_grid(data, MAX_IMPORT_ROWS, WHAT)
    where = sheets.layout(grid, set(KEYS), ("allocation_id", "amount"), WHAT)
    rows = sheets.loaded_rows(
        grid, where, READERS, DisbursementImportRowIn(), AS_TYPED, ("allocation_id",), lambda raw, n: {**raw, "row": n}
    )
    for r in rows:
        if not r.get("refused") and r["cmd"]["amount"] < 0:  # a statement's reversal line: a reversal names its payment
            where.problems.append(
                where.problem(
                    r["row"],
                    "amount",
                    "reversal_not_imported",
                    "Số tiền âm là hủy giải ngân: ghi ở trang của lần giải ngân bị hủy (nút Hủy giải ngân), không "
                    "nạp bằng tệp.",
                )
            )
    return rows, where


# --------------------------------------------------------------------------- the import


def _scope_problems(rows: list[dict[str, Any]], where: sheets.Layout) -> None:
    """Each row's allocation within the caller's unit, as `finance.disburse` checks one payment; an unknown
    allocation is finance's to name."""
    wanted = {r["cmd"]["allocation_id"] for r in rows if isinstance(r["cmd"]["allocation_id"], int)}
    sheets.name_refusals(rows, where, "allocation_id", finance.outside_scope(wanted, "allocation_id"))


def import_workbook(data: bytes) -> dict[str, Any]:
    """Check a filled-in template and have finance record it (the API's import and the allocations page's
    upload): raises DomainError naming every bad cell, and then nothing is written. Answers how many payments were
    recorded and how many finance already held, with each row's disbursement id."""
    rows, where = read_sheet(data)
    if not rows and not where.problems:
        where.problems.append(sheets.cell_problem(None, None, None, "no_rows", "Tệp chưa có dòng giải ngân nào."))
    _scope_problems(rows, where)
    sheets.refuse_if_wrong(rows, where, lambda good: _ask_finance("check_disbursement_import", good, where))
    answer = _ask_finance("import_disbursements", rows, where)
    sheets.audit_recorded(answer)
    return answer


def _ask_finance(method: str, rows: list[dict[str, Any]], where: sheets.Layout) -> Any:
    payload = DisbursementImportIn().dump({"rows": [r["cmd"] for r in rows]})
    return sheets.send("finance", method, payload, where)
