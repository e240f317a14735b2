"""The capitation pages' readers of what people type (Vietnamese decimals, percents, counts with thousands dots),
the step labels and states the pages and the Excel share, the reconciliation workbook's dated steps, and the year
page's settlement in force (a deficit with an excess advance to refund) above the one it superseded."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from flask import render_template
from openpyxl import load_workbook

from services.gateway.app import create_app
from services.gateway.application import capitation, workbooks
from services.gateway.web.capitation_pages import count_text, decimal_text


@pytest.mark.parametrize(
    ("typed", "percent", "read"),
    [
        ("1,05", False, "1.05"),
        ("1.05", False, "1.05"),
        (" 1 ", False, "1"),
        ("25%", True, "0.25"),
        ("12,5 %", True, "0.125"),
        ("100%", True, "1.00"),
        ("0%", True, "0.00"),
        ("0,25", True, "0.25"),
        ("abc%", True, "abc%"),  # handed on as typed: the schema refuses it by name
    ],
)
def test_decimals_are_read_the_vietnamese_way_without_floats(typed, percent, read):
    assert decimal_text(typed, percent=percent) == read
    if read[0].isdigit():
        assert Decimal(read) == Decimal(read)  # exact text, never a float on the way


@pytest.mark.parametrize(
    ("typed", "read"), [("1.200", 1200), ("12 500", 12500), ("800", 800), ("1.2", "1.2"), ("tám", "tám")]
)
def test_counts_take_thousands_dots_and_nothing_else(typed, read):
    assert count_text(typed) == read


def test_steps_are_named_and_judged_once():
    assert capitation.step_label("advance", {"period": "2024-Q4"}).startswith("Tạm ứng quý IV/2024")
    assert capitation.step_label("report", {}) == capitation.STEP_NAMES["report"]
    assert capitation.step_state({"overdue": True, "late": False}) == "Quá hạn"
    assert capitation.step_state({"overdue": False, "late": True, "date": "2024-08-20"}) == "Trễ hạn"
    assert capitation.step_state({"overdue": False, "late": False, "date": "2024-08-01"}) == "Đúng hạn"
    assert capitation.step_state({"overdue": False, "late": False, "date": None}) == ""


def test_the_reconciliation_workbook_shows_the_split_the_steps_and_what_is_overdue(tmp_path):
    advance = {"due": "2024-10-15", "date": None, "late": False, "overdue": True, "period": "2024-Q4", "amount": 9}
    data = {
        "facility_code": "91060",
        "period": "2024-Q3",
        "claims": {"count": 2, "assessed": 0, "requested": "10.00", "approved": "0", "rejected": "0", "pending": "10"},
        "capitation": {
            "fund": "0.00",
            "spend": "7.50",
            "balance": "-7.50",
            "spend_own_cards_here": "5.00",
            "spend_own_cards_elsewhere": "2.50",
            "spend_other_cards_here": "1.25",
            "registered_claims": 3,
        },
        "payments": {"advanced": "0.00"},
        "settlement": {
            "steps": {
                "report": {"due": "2024-10-15", "date": "2024-10-08", "late": False, "overdue": False},
                "advance": advance,
            }
        },
        "overdue": [{"facility_code": "91060", "step": "advance", **advance}],
    }
    path = tmp_path / "d.xlsx"
    workbooks.reconciliation_workbook(data, None, date(2026, 1, 5)).save(path)
    rows = list(load_workbook(path).active.iter_rows(values_only=True))
    found = {row[1]: row for row in rows if isinstance(row[1], str)}
    assert Decimal(str(found["– thẻ đăng ký tại cơ sở, khám tại cơ sở khác"][2])) == Decimal("2.50")
    assert found["Số hồ sơ của thẻ đăng ký tại cơ sở"][2] == 3
    report = found[capitation.STEP_NAMES["report"]]
    assert report[2:5] == (datetime(2024, 10, 15), datetime(2024, 10, 8), "Đúng hạn")
    late = next(row for row in rows if isinstance(row[1], str) and row[1].startswith("91060: Tạm ứng quý IV/2024"))
    assert late[2:5] == (datetime(2024, 10, 15), None, "Quá hạn")


def _year_html(settlement: dict | None, history: list[dict]) -> str:
    """The year page's template over a year_glance answer holding only a settlement (and its history)."""
    app = create_app({"GATEWAY_DB_URL": "sqlite://"})  # templates and filters only: nothing connects
    data = {"overdue": [], "year_fund": None, "quarters": [], "settlement": settlement, "settlement_history": history}
    with app.test_request_context("/capitation/year"):
        return render_template(
            "capitation_year.html",
            q={"facility": "91302", "year": 2024},
            data=data,
            facilities=[],
            facility_label=None,
            step_names={},
            step_label=capitation.step_label,
            payment_kinds={},
            can_fund=False,
            can_bhxh=False,
            group_rows=range(1, 2),
            errors=[],
            form={},
            today="2025-02-01",
        )


def test_the_year_page_shows_a_deficit_settlement_in_force_and_the_surplus_one_it_superseded():
    deficit = {
        "id": 9,
        "fund": 360_000_000,
        "spend_vnd": 370_000_001,
        "surplus": 0,
        "deficit": 10_000_001,
        "station_share": 0,
        "station_share_rate": "0",
        "station_share_decision": None,
        "advanced": 410_000_000,
        "to_pay": -50_000_000,
        "refund": 50_000_000,
        "recorded_at": "2025-01-20T03:00:00+00:00",
    }
    surplus = deficit | {
        "id": 8,
        "spend_vnd": 170_000_001,
        "surplus": 189_999_999,
        "deficit": 0,
        "station_share": 47_500_000,
        "station_share_decision": {"number": "7/QĐ-TTYT", "date": "2025-01-15"},
    }
    html = _year_html(deficit, [surplus])
    assert 'id="settlement-deficit">10.000.001\xa0đ<' in html and 'id="settlement-refund">50.000.000\xa0đ<' in html
    assert 'id="settlement-surplus"' not in html and 'id="settlement-to-pay"' not in html
    history = html[html.index('id="settlement-history-8"') :]
    assert "170.000.001\xa0đ" in history and "47.500.000\xa0đ" in history and "7/QĐ-TTYT" in history
    empty = _year_html(None, [])
    assert 'id="no-settlement"' in empty and 'id="year-settlement"' not in empty
