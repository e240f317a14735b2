"""The project payment template read the way people fill it in (application/project_disbursement_import.py): a
treasury statement of a station project's payments pasted in, sources by code or by name, returns as negative
amounts; what is genuinely wrong named by row and column. The whole import through the running system is
tests/e2e/test_project_disbursement_import.py, the matching of vouchers
tests/integration/investment/test_disbursement_import.py."""

from __future__ import annotations

import io
from datetime import date
from typing import Any

import pytest
from openpyxl import load_workbook

from services.common.errors import DomainError
from services.gateway.application import project_disbursement_import as sheet
from tests.support.sheets import write_rows

PROJECT = {"project_id": 7, "title": "Cải tạo Trạm Y tế", "station_code": "31063",
           "station_name": "Trạm Y tế Xã Vĩnh Bình Nam", "status": "under_construction"}  # fmt: skip
ACCOUNTS = [
    {**PROJECT, "source": "provincial_budget", "capital": 600_000_000, "disbursed": 150_000_000},
    {**PROJECT, "source": "ntp_nrd", "capital": 200_000_000, "disbursed": 0},
]
NAMES = {"provincial_budget": "Ngân sách tỉnh", "ntp_nrd": "CTMTQG xây dựng nông thôn mới"}
ROW = {"project_id": 7, "source": "provincial_budget", "amount": 15_000_000, "date": "05/03/2024",
       "reference": "UNC 0012"}  # fmt: skip


def filled(rows: list[dict[str, Any]]) -> bytes:
    return write_rows(sheet.template_workbook(ACCOUNTS, NAMES), "Giai ngan", rows)


def read(data: bytes) -> tuple[list[dict[str, Any]], list[tuple[Any, Any, str]]]:
    rows, where = sheet.read_sheet(data, NAMES)
    problems = [(p["row"], p["column"], p["code"]) for p in where.problems]
    return [r["cmd"] for r in rows if not r.get("refused")], problems


def test_the_template_lists_each_projects_sources_to_pay_from():
    book = load_workbook(io.BytesIO(filled([])))
    ws, lists = book["Giai ngan"], book["Danh muc"]
    assert [c.value for c in ws[4]] == ["project_id", "source", "amount", "date", "reference"]
    station = "31063 Trạm Y tế Xã Vĩnh Bình Nam"
    assert list(lists.iter_rows(min_row=2, values_only=True)) == [
        (7, "Cải tạo Trạm Y tế", station, "Đang thi công", "provincial_budget", "Ngân sách tỉnh", 600_000_000,
         150_000_000, 450_000_000),
        (7, "Cải tạo Trạm Y tế", station, "Đang thi công", "ntp_nrd", "CTMTQG xây dựng nông thôn mới", 200_000_000,
         0, 200_000_000),
    ]  # fmt: skip
    (picker,) = ws.data_validations.dataValidation
    assert picker.formula1 == "'Danh muc'!$A$2:$A$3" and str(picker.sqref) == "A5:A2004"
    assert load_workbook(io.BytesIO(write_rows(sheet.template_workbook([], NAMES), "Giai ngan", [])))[
        "Giai ngan"
    ].data_validations.dataValidation == []


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({}, {}),
        ({"source": " ngân sách  TỈNH "}, {}),  # the source's name as the list shows it
        ({"amount": "-15.000.000 đ"}, {"amount": -15_000_000}),  # a return
        ({"project_id": 7.0, "amount": 15_000_000.0}, {}),
        ({"reference": 12}, {"reference": "12"}),
    ],
)
def test_a_payment_is_read_as_people_type_it(cells: dict[str, Any], expected: dict[str, Any]):
    (cmd,), problems = read(filled([{**ROW, **cells}]))
    assert problems == []
    want = {"project_id": 7, "source": "provincial_budget", "amount": 15_000_000, "date": date(2024, 3, 5),
            "reference": "UNC 0012", "row": 5}  # fmt: skip
    assert cmd == {**want, **expected}


@pytest.mark.parametrize(
    ("cells", "problem"),
    [
        ({"reference": "   "}, ("E", "required")),  # the voucher is how a payment is matched
        ({"source": None}, ("B", "required")),
        ({"amount": "1,5"}, ("C", "invalid_amount")),
        ({"date": "31/02/2024"}, ("D", "invalid")),
        ({"project_id": "DA-7"}, ("A", "invalid")),
        ({"date": "01/01/2010"}, ("D", "date_out_of_range")),
    ],
)
def test_a_wrong_cell_is_named_by_row_and_column(cells: dict[str, Any], problem: tuple[str, str]):
    rows, problems = read(filled([ROW, {**ROW, **cells}]))
    letter, code = problem
    assert rows[0]["row"] == 5 and problems == [(6, letter, code)]


def test_a_mistyped_date_or_project_is_said_as_people_type_it():
    for cells, key in (({"date": "31/02/2024"}, "date"), ({"project_id": "DA-7"}, "project_id")):
        _rows, where = sheet.read_sheet(filled([{**ROW, **cells}]), NAMES)
        (problem,) = where.problems
        assert problem["message"].endswith(sheet.AS_TYPED[key])


def test_a_foreign_sheet_is_refused():
    book = sheet.template_workbook(ACCOUNTS, NAMES)
    for i, key in enumerate(["item_code", "x", "y"], 1):
        book["Giai ngan"].cell(row=4, column=i, value=key)
    with pytest.raises(DomainError) as exc:
        read(write_rows(book, "Giai ngan", [{"item_code": "II.5"}]))
    assert exc.value.errors[0]["code"] == "not_a_template"
