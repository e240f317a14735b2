"""The disbursement template read the way people fill it in (application/disbursement_import.py): a treasury
statement pasted in, with amounts as text or numbers, dates as Excel dates or dd/mm/yyyy, allocation and voucher
numbers that Excel turned into numbers; what is genuinely wrong named by row and column. The whole import through
the running system is tests/e2e/test_disbursement_import.py, the matching of vouchers
tests/integration/finance/test_disbursement_import.py."""

from __future__ import annotations

import io
from datetime import date, datetime
from typing import Any

import pytest
from openpyxl import load_workbook

from services.common.errors import DomainError
from services.gateway.application import disbursement_import as sheet
from tests.support.sheets import write_rows

PLAN = {"id": 1, "number": "158/KH-UBND", "unit": "91"}
OFFERED = [
    {"id": 12, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024, "recipient_unit": "910",
     "decision_no": "15/QĐ-UBND", "decision_date": "2024-01-10", "remaining": 70_000_000},
    {"id": 13, "item_code": "I.1", "source": "bhyt_surplus_20", "fiscal_year": 2024, "recipient_unit": "31051",
     "decision_no": None, "decision_date": None, "remaining": 0},
]  # fmt: skip
NAMES = {"provincial_budget": "Ngân sách tỉnh"}
ROW = {"allocation_id": 12, "amount": 15_000_000, "date": "05/03/2024", "reference": "UNC 0012"}


def filled(rows: list[dict[str, Any]], keys: list[str] | None = None) -> bytes:
    book = sheet.template_workbook(PLAN, OFFERED, NAMES)
    if keys is not None:
        for i, key in enumerate(keys, 1):
            book["Giai ngan"].cell(row=4, column=i, value=key)
    return write_rows(book, "Giai ngan", rows)


def read(data: bytes) -> tuple[list[dict[str, Any]], list[tuple[Any, Any, str]]]:
    rows, where = sheet.read_sheet(data)
    problems = [(p["row"], p["column"], p["code"]) for p in where.problems]
    return [r["cmd"] for r in rows if not r.get("refused")], problems


def test_the_template_offers_the_allocations_to_pay_from():
    book = load_workbook(io.BytesIO(filled([])))
    ws, lists = book["Giai ngan"], book["Danh muc"]
    assert [c.value for c in ws[4]] == ["allocation_id", "amount", "date", "reference"]
    assert ws["A1"].value == "GIẢI NGÂN — KẾ HOẠCH 158/KH-UBND"
    assert list(lists.iter_rows(min_row=2, values_only=True)) == [
        (12, "II.5", "Ngân sách tỉnh", 2024, "910 Huyện Vĩnh Thuận", "15/QĐ-UBND ngày 10/01/2024", 70_000_000),
        (13, "I.1", "bhyt_surplus_20", 2024, "31051 Xã Vĩnh Phong", None, 0),
    ]
    (picker,) = ws.data_validations.dataValidation
    assert picker.formula1 == "'Danh muc'!$A$2:$A$3" and str(picker.sqref) == "A5:A2004"


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({}, {}),
        ({"amount": "15.000.000 đ"}, {}),
        ({"amount": 15_000_000.0, "allocation_id": 12.0}, {}),  # numbers as Excel stores them
        ({"allocation_id": " 12 "}, {}),
        ({"date": datetime(2024, 3, 5)}, {}),
        ({"date": "2024-03-05"}, {}),
        ({"reference": 12}, {"reference": "12"}),  # a voucher number Excel made a number
        ({"reference": "  UNC 0012 "}, {}),
    ],
)
def test_a_payment_is_read_as_people_type_it(cells: dict[str, Any], expected: dict[str, Any]):
    (cmd,), problems = read(filled([{**ROW, **cells}]))
    assert problems == []
    want = {"allocation_id": 12, "amount": 15_000_000, "date": date(2024, 3, 5), "reference": "UNC 0012", "row": 5}
    assert cmd == {**want, **expected}


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"reference": None}, ("D", "required")),  # the voucher is how a payment is matched
        ({"amount": "1,5"}, ("B", "invalid_amount")),
        ({"amount": 15_000_000.5}, ("B", "invalid")),  # a fraction of a đồng
        ({"date": "31/02/2024"}, ("C", "invalid_type")),  # said as dd/mm/yyyy (AS_TYPED)
        ({"allocation_id": "PB-12"}, ("A", "invalid_type")),
        ({"allocation_id": "¹²"}, ("A", "invalid_type")),
        ({"amount": -5_000_000}, ("B", "reversal_not_imported")),
    ],
)
def test_a_wrong_cell_is_named_by_row_and_column(cells: dict[str, Any], problem: tuple[str, str]):
    rows, problems = read(filled([ROW, {**ROW, **cells}]))
    letter, code = problem
    assert rows[0]["row"] == 5 and (6, letter, code) in problems
    assert len(problems) == 1


def test_columns_moved_are_read_by_their_keys_and_a_foreign_sheet_is_refused():
    keys = ["reference", "amount", "date", "allocation_id"]
    (cmd,), problems = read(filled([ROW], keys))
    assert problems == [] and (cmd["reference"], cmd["amount"]) == ("UNC 0012", 15_000_000)
    with pytest.raises(DomainError) as exc:
        read(filled([{"item_code": "II.5"}], ["item_code", "source", "x", "y"]))
    assert exc.value.errors[0]["code"] == "not_a_template"


def test_the_allocations_offered_are_the_plans_within_the_persons_unit_and_bounded(monkeypatch):
    asked: list[dict[str, Any]] = []

    def pages(filters: dict[str, Any]):  # finance's list_allocations, page by page (application/finance.py)
        asked.append(filters)
        yield {"total": 2, "items": OFFERED[:1]}
        yield {"total": 2, "items": OFFERED[1:]}

    monkeypatch.setattr(sheet.finance, "allocation_pages", pages)
    assert sheet.offered_allocations(1, 2024, "910") == OFFERED
    assert sheet.offered_allocations(1, None, None) == OFFERED
    assert asked == [{"plan_id": 1, "year": 2024, "unit": "910"}, {"plan_id": 1}]

    def too_many(filters: dict[str, Any]):
        yield {"total": sheet.MAX_OFFERED + 1, "items": OFFERED}

    monkeypatch.setattr(sheet.finance, "allocation_pages", too_many)
    with pytest.raises(DomainError) as exc:
        sheet.offered_allocations(1, None, None)
    assert (exc.value.errors[0]["code"], exc.value.errors[0]["field"]) == ("too_many_rows", "year")
