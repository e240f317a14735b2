"""The allocation template read the way people fill it in (application/allocation_import.py): amounts with dots or
spaces between thousands, dates as Excel dates or dd/mm/yyyy, unit codes that Excel turned into numbers, sources
by name, columns moved; and what is genuinely wrong named by row and column. The whole import through the
running system is tests/e2e/test_allocation_import.py."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from services.common.errors import DomainError
from services.gateway.application import allocation_import as sheet
from tests.support.sheets import write_rows

PLANS = [
    {"id": 1, "number": "158/KH-UBND", "unit": "91"},
    {"id": 2, "number": "34/KH-UBND", "unit": "910"},
]
SOURCES = [
    {"code": "provincial_budget", "name": "Ngân sách tỉnh", "plans": [1, 2]},
    {"code": "district_budget", "name": "Ngân sách huyện", "plans": []},
]
NAMES = {s["code"]: s["name"] for s in SOURCES}
ITEMS = [{"code": "I.1", "title": "Mục I.1"}, {"code": "II.5", "title": "Mục II.5"}]
ROW = {
    "item_code": "II.5",
    "source": "provincial_budget",
    "fiscal_year": 2024,
    "recipient_unit": "910",
    "amount": 150_000_000,
    "decision_no": "125/QĐ-UBND",
    "decision_date": "2024-01-15",
}


def filled(rows: list[dict[str, Any]], plan: Any = "158/KH-UBND", keys: list[str] | None = None) -> bytes:
    book = sheet.template_workbook(PLANS[0], ITEMS, SOURCES)
    ws = book["Phan bo"]
    ws["B2"] = plan
    if keys is not None:
        for i, key in enumerate(keys, 1):
            ws.cell(row=4, column=i, value=key)
    return write_rows(book, "Phan bo", rows)


def read(data: bytes) -> tuple[Any, list[dict[str, Any]], list[tuple[Any, Any, str]]]:
    plan, rows, where = sheet.read_sheet(data, PLANS, NAMES)
    return plan, [r["cmd"] for r in rows if not r.get("refused")], [
        (p["row"], p["column"], p["code"]) for p in where.problems
    ]


@pytest.mark.parametrize(
    "typed",
    ["150.000.000", "150 000 000", "150.000.000 đ", "150000000 đồng", " 150.000.000đ ", 150_000_000, 150_000_000.0],
)
def test_an_amount_as_people_type_it_is_whole_dong(typed: Any) -> None:
    _plan, [cmd], problems = read(filled([{**ROW, "amount": typed}]))
    assert problems == [] and cmd["amount"] == 150_000_000


# "150,000,000" and "1,500": a comma is the decimal mark in Vietnamese, so these are refused, never guessed.
@pytest.mark.parametrize("typed", [2.5, "12,5", "1.5", "150,000,000", "1,500", "mười triệu", -0.5])
def test_an_amount_that_is_no_whole_number_of_dong_is_named(typed: Any) -> None:
    _plan, _rows, problems = read(filled([{**ROW, "amount": typed}]))
    assert [(r, c) for r, c, _code in problems] == [(5, "E")]


# 45306 is 15/01/2024 as Excel counts days: typed into the template's date column, which is formatted as a date.
@pytest.mark.parametrize(
    "typed", [datetime(2024, 1, 15), date(2024, 1, 15), 45306, "15/01/2024", "15-01-2024", "15.01.2024", "2024-01-15"]
)
def test_a_date_as_an_excel_date_or_day_month_year(typed: Any) -> None:
    _plan, [cmd], problems = read(filled([{**ROW, "decision_date": typed}]))
    assert problems == [] and cmd["decision_date"] == date(2024, 1, 15)


@pytest.mark.parametrize("typed", ["31/02/2024", "01/15/2024", "hôm qua", "45306"])
def test_a_date_that_is_no_date_is_named_with_how_to_write_it(typed: Any) -> None:
    _plan, rows, where = sheet.read_sheet(filled([{**ROW, "decision_date": typed}]), PLANS, NAMES)
    [problem] = where.problems
    assert (problem["row"], problem["column"], problem["field"]) == (5, "G", "decision_date")
    assert problem["message"].startswith("Dòng 5, cột G (Ngày quyết định (dd/mm/yyyy)): ")


def test_codes_excel_made_numbers_and_sources_by_name_are_read_as_codes() -> None:
    typed = {**ROW, "recipient_unit": 910, "fiscal_year": "2024", "decision_no": 125, "source": "ngân sách TỈNH"}
    _plan, [cmd, station], problems = read(filled([typed, {**ROW, "recipient_unit": 31051.0}]))
    assert problems == [] and station["recipient_unit"] == "31051"
    assert (cmd["recipient_unit"], cmd["fiscal_year"], cmd["decision_no"], cmd["source"]) == (
        "910",
        2024,
        "125",
        "provincial_budget",
    )


def test_the_plan_is_read_by_its_number_or_named_when_unknown() -> None:
    plan, _rows, problems = read(filled([ROW], plan=" 34/kh-ubnd "))
    assert plan["id"] == 2 and problems == []
    plan, rows, problems = read(filled([ROW], plan="99/KH-UBND"))
    assert plan is None and problems == [(2, "B", "unknown_plan")]  # named once, not on every row


def test_columns_are_read_by_their_key_wherever_they_were_moved() -> None:
    keys = [k for k, _h in sheet.COLUMNS]
    moved = [keys[4], *keys[:4], *keys[5:]]  # the amount first
    _plan, [cmd], problems = read(filled([ROW], keys=moved))
    assert problems == [] and cmd["amount"] == 150_000_000 and cmd["item_code"] == "II.5"


def test_blank_rows_are_skipped_and_an_unknown_column_is_named() -> None:
    keys = [k for k, _h in sheet.COLUMNS]
    data = filled([ROW, {}, {**ROW, "recipient_unit": "911"}], keys=[*keys[:-1], "ghi_chu_rieng"])
    _plan, rows, problems = read(data)
    assert [r["recipient_unit"] for r in rows] == ["910", "911"]
    assert problems == [(4, "L", "unknown_column")]


@pytest.mark.parametrize("typed", ["²⁰²⁴", "٢٠٢٤", "2024.0", "2 024", True])
def test_a_year_in_other_digits_or_forms_is_named_not_a_crash(typed: Any) -> None:
    _plan, _rows, problems = read(filled([{**ROW, "fiscal_year": typed}]))
    assert problems == [(5, "C", "invalid_type")]


def test_a_row_with_several_wrong_cells_names_each() -> None:
    _plan, rows, where = sheet.read_sheet(
        filled([ROW, {**ROW, "fiscal_year": "năm nay", "amount": "1,5", "parent_allocation_id": "abc"}]),
        PLANS,
        NAMES,
    )
    assert sorted((p["row"], p["column"], p["field"]) for p in where.problems) == [
        (6, "C", "fiscal_year"),
        (6, "E", "amount"),
        (6, "K", "parent_allocation_id"),
    ]
    assert [r.get("refused", False) for r in rows] == [False, True]


def test_a_workbook_that_is_not_the_template_is_refused_as_such() -> None:
    book = Workbook()
    book.active.append(["Mã", "Số tiền"])
    out = io.BytesIO()
    book.save(out)
    with pytest.raises(DomainError) as refused:
        read(out.getvalue())
    assert refused.value.errors[0]["code"] == "not_a_template"
    with pytest.raises(DomainError) as refused:
        read(b"")
    assert refused.value.errors[0]["code"] == "file_required"


def test_the_template_offers_only_the_units_within_the_persons_unit() -> None:
    def offered(scope: str | None) -> set[str]:
        lists = sheet.template_workbook(PLANS[0], ITEMS, SOURCES, scope)["Danh muc"]
        return {row[0] for row in lists.iter_rows(min_row=2, min_col=9, max_col=9, values_only=True)} - {None}

    assert {"91", "910", "911", "31051", "30739"} <= offered(None)
    assert "31051" in offered("910") and not offered("910") & {"91", "911", "30739"}


def test_the_template_names_each_unit_by_its_versions_and_their_dates() -> None:
    lists = sheet.template_workbook(PLANS[0], ITEMS, SOURCES, "910")["Danh muc"]
    named = dict(lists.iter_rows(min_row=2, min_col=9, max_col=10, values_only=True))
    # The 2025 map: communes merged on 01/7/2025 name their successor; a 2025 commune reuses an absorbed one's code.
    assert named["31060"] == "Xã Vĩnh Bình Bắc (Huyện Vĩnh Thuận, đến 30/06/2025, sau đó: 31064)"
    assert named["31064"] == "Xã Bình Minh (Huyện Vĩnh Thuận, đến 30/06/2025); Xã Vĩnh Bình (từ 01/07/2025)"
    assert named["910"] == "Huyện Vĩnh Thuận (đến 30/06/2025, sau đó: 91)"


def test_the_template_offers_the_plans_items_and_sources_to_pick_from() -> None:
    book = load_workbook(io.BytesIO(filled([])))
    ws, lists = book["Phan bo"], book["Danh muc"]
    assert [c.value for c in ws[4]] == [k for k, _h in sheet.COLUMNS]
    assert ws["B2"].value == "158/KH-UBND"
    pickers = {str(v.sqref).split(":")[0]: v.formula1 for v in ws.data_validations.dataValidation}
    assert pickers["A5"] == "'Danh muc'!$A$2:$A$3"  # the plan's two items
    assert pickers["B5"] == "'Danh muc'!$C$2:$C$2"  # only the source the plan names
    assert [lists.cell(row=2, column=c).value for c in (1, 3)] == ["I.1", "provincial_budget"]


PARENT = {"id": 41, "plan_id": 1, "plan_number": "158/KH-UBND", "item_code": "II.5", "source": "provincial_budget",
          "fiscal_year": 2024, "recipient_unit": "910", "remaining": 300_000_000}  # fmt: skip


def test_the_template_offers_the_allocations_a_sub_allocation_may_come_from() -> None:
    book = sheet.template_workbook(PLANS[1], ITEMS, SOURCES, "910", [PARENT])
    ws, lists = book["Phan bo"], book["Danh muc"]
    assert [c.value for c in lists[1]][11:] == ["Số phân bổ cấp trên", "Kế hoạch", "Mục", "Nguồn", "Năm",
                                                "Đơn vị nhận", "Còn lại (đồng)"]  # fmt: skip
    assert [c.value for c in lists[2]][11:] == [41, "158/KH-UBND", "II.5", "Ngân sách tỉnh", 2024,
                                                "910 Huyện Vĩnh Thuận", 300_000_000]  # fmt: skip
    parent_column = get_column_letter(sheet.KEYS.index("parent_allocation_id") + 1)
    pickers = {str(v.sqref).split(":")[0]: v.formula1 for v in ws.data_validations.dataValidation}
    assert pickers[f"{parent_column}5"] == "'Danh muc'!$L$2:$L$2"
    plain = sheet.template_workbook(PLANS[1], ITEMS, SOURCES).active.data_validations.dataValidation
    assert f"{parent_column}5" not in {str(v.sqref).split(":")[0] for v in plain}  # none to offer, no list


def test_the_parents_offered_are_the_plans_and_its_parent_plans_above_the_communes_within_the_unit(monkeypatch):
    asked: list[dict[str, Any]] = []

    def pages(filters: dict[str, Any]):  # finance's list_allocations, page by page (application/finance.py)
        asked.append(filters)
        yield {"total": 2, "items": [{**PARENT, "id": 40 + len(asked), "remaining": len(asked) % 2}]}

    monkeypatch.setattr(sheet.finance, "allocation_pages", pages)
    monkeypatch.setattr(sheet, "rpc", lambda service, method, plan_id: {"id": plan_id, "number": "158/KH-UBND"})
    offered = sheet.offered_parents({**PLANS[1], "parent_id": 1}, "910")
    assert asked == [
        {"plan_id": 2, "level": "province", "unit": "910"},
        {"plan_id": 2, "level": "district", "unit": "910"},
        {"plan_id": 1, "level": "province", "unit": "910"},
        {"plan_id": 1, "level": "district", "unit": "910"},
    ]
    # Only those with money left, by number, each with its plan's number.
    assert [(a["id"], a["plan_number"]) for a in offered] == [(41, "34/KH-UBND"), (43, "158/KH-UBND")]
