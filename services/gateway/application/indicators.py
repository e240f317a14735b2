"""Indicator facts through the Excel template: the template a unit fills in (one row per station, then the
district health centres) and the check of a filled-in one, cell by cell, before anything is recorded. The API's
import and the indicator page's upload both read a sheet here, and one unit's facts (the API's PUT, a row of the
page) are recorded through `record_facts`."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import g
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from services.common import units
from services.common.errors import DomainError
from services.gateway.application import sheets
from services.gateway.application.access import require_station
from services.gateway.application.remote import rpc

MAX_ROWS = 2000  # a province has 160 units: more rows is not a filled-in template
WHAT = "mẫu chỉ số"

# The template's columns after code and name: (key, heading). `criteria_scores` is entered through the API.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("population", "Dân số của xã (người)"),
    ("population_managed", "Số người có hồ sơ sức khỏe được quản lý"),
    ("doctors", "Số bác sỹ làm việc tại trạm"),
    ("doctor_days_per_week", "Số ngày/tuần có bác sỹ làm việc (0–7)"),
    ("doctors_family_medicine", "Số bác sỹ được đào tạo y học gia đình"),
    ("services_performed", "Số dịch vụ kỹ thuật thực hiện được"),
    ("services_in_list", "Số dịch vụ của danh mục kỹ thuật tuyến xã (huyện)"),
    ("national_criteria_met", "Đạt Bộ tiêu chí quốc gia về y tế xã (có/không)"),
    ("bhyt_eligible", "Đủ điều kiện KCB BHYT (có/không)"),
    ("source", "Nguồn số liệu (văn bản, cuộc điều tra)"),
)
INFO = (("code", "Mã đơn vị"), ("name", "Tên trạm y tế / trung tâm y tế"), ("district", "Huyện"))
TRAILER = (("version", "Phiên bản đang dùng"),)
FIRST_ROW = sheets.FIRST_ROW


def _yes_no(value: Any) -> Any:
    if value is True:
        return "có"
    if value is False:
        return "không"
    return value


def template_workbook(sheet: dict[str, Any]) -> Workbook:
    book = Workbook()
    ws = book.active
    ws.title = "Chi so"
    year = sheet["year"]
    ws["A1"] = f"CHỈ SỐ Y TẾ CƠ SỞ NĂM {year} — {sheet['unit_name']}"
    ws["A1"].font = Font(bold=True, size=13)
    ws["A2"], ws["B2"] = "Năm", year
    ws["C2"] = (
        "Điền hoặc sửa số liệu từ dòng 5, mỗi dòng một trạm (hoặc trung tâm y tế huyện); không sửa mã đơn vị và "
        "dòng 4. Ô để trống là chưa có số liệu. Dòng đã thay đổi phải ghi nguồn số liệu của lần này."
    )
    ws["C2"].alignment = Alignment(wrap_text=False)
    sheets.write_columns(ws, (*INFO, *COLUMNS, *TRAILER), {"name": 34, "source": 34}, 60)
    for r, row in enumerate(sheet["rows"], FIRST_ROW):
        facts = row["facts"] or {}
        ws.cell(row=r, column=1, value=row["code"])
        ws.cell(row=r, column=2, value=row["name"])
        ws.cell(row=r, column=3, value=row.get("district_name"))
        for i, (key, _h) in enumerate(COLUMNS, len(INFO) + 1):
            ws.cell(row=r, column=i, value=_yes_no(facts.get(key)))
        ws.cell(row=r, column=len(INFO) + len(COLUMNS) + 1, value=facts.get("version"))
    ws.freeze_panes = ws.cell(row=FIRST_ROW, column=len(INFO) + 1)
    return book


def read_sheet(data: bytes) -> tuple[int | None, list[dict[str, Any]], sheets.Layout]:
    """(year written in the sheet, rows [{row, code, values}], where the columns are and what is wrong with
    them)."""
    grid = sheets.read_grid(data, MAX_ROWS, WHAT)
    known = {k for k, _h in (*INFO, *COLUMNS, *TRAILER)}
    where = sheets.layout(grid, known, ("code", "source"), WHAT)
    year = sheets.header_value(grid, where.key_row, "Năm")
    if year is not None and (not isinstance(year, int) or isinstance(year, bool)):
        year = -1
    rows = []
    for n, cells in where.rows(grid):
        code = cells.get("code")
        values = {key: cells.get(key) for key, _h in COLUMNS if key in where.columns}
        if sheets.blank(code):
            if any(v not in (None, "") for v in values.values()):
                where.problems.append(where.problem(n, "code", "code_required", "thiếu mã đơn vị."))
            continue
        # A code Excel made a number is read back as typed (31051.0 is 31051; 31051.5 is no code, not 31051).
        rows.append({"row": n, "code": str(sheets.text_cell(code)), "values": values})
    return year, rows, where


def import_workbook(data: bytes, expected_year: int | None) -> dict[str, Any]:
    """Check a filled-in template and record it (the API's import and the indicator page's upload): raises
    DomainError naming every bad cell, and then nothing is written."""
    year, rows, where = read_sheet(data)
    problems = where.problems
    if year is None or year == -1 or not 2000 <= year <= 2100:
        problems.insert(
            0, sheets.cell_problem(2, "B", "Năm", "invalid_year", "năm của số liệu phải là một năm (2000–2100).")
        )
    elif expected_year is not None and expected_year != year:
        problems.insert(
            0, sheets.cell_problem(2, "B", "Năm", "year_mismatch", f"tệp ghi năm {year}, không phải {expected_year}.")
        )
    for r in rows:
        code = r["code"]
        if units.is_known_unit(code) and not g.principal.sees_unit(code):
            message = f"đơn vị {code} nằm ngoài phạm vi được giao ({g.principal.unit})."
            problems.append(where.problem(r["row"], "code", "unit_forbidden", message))
    # One answer names every problem: investment checks the other rows when the year is one.
    checkable = rows if isinstance(year, int) and 2000 <= year <= 2100 else []
    sheets.refuse_if_wrong(checkable, where, lambda rest: rpc("investment", "check_indicators", year, rest))
    try:
        answer = rpc("investment", "import_indicators", year, rows, g.principal.name)
    except DomainError as exc:
        named = [where.problem(e.get("row"), e.get("field"), e["code"], e["message"]) for e in exc.errors]
        raise DomainError(named, exc.status) from None
    return answer


def record_facts(code: str, year: int, body: dict[str, Any]) -> dict[str, Any]:
    """One unit's facts for a year (`body` loaded by contract.IndicatorsIn), for a station or centre the caller
    sees: a new version unless nothing changed (`created`)."""
    require_station(code, "code")
    if isinstance(body.get("station_valid_from"), date):
        body["station_valid_from"] = body["station_valid_from"].isoformat()
    return rpc("investment", "record_indicators", code, year, body, g.principal.name)
