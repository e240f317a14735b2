"""The pages' number and date formats (Vietnamese), the server-side charts, and the Excel builders as plain
functions of data (no services): money stays integer, formats and layout are what a finance office expects."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from decimal import Decimal

from openpyxl import load_workbook

from services.gateway.application import funding, workbooks
from services.gateway.web import charts
from services.gateway.web.format import bar_width, money2, number, percent, period, rate, vn_date, vn_day, vnd


def test_vnd_is_written_the_vietnamese_way():
    assert vnd(1_234_567_000) == "1.234.567.000\u00a0đ"
    assert vnd(0) == "0\u00a0đ"
    assert vnd(-50_000_000) == "-50.000.000\u00a0đ"
    assert vnd(999) == "999\u00a0đ"
    assert vnd("1200000") == "1.200.000\u00a0đ"
    assert vnd(None) == "–"
    assert vnd(1.5) == "–"  # a float is never money


def test_claim_money_keeps_two_places_with_a_decimal_comma():
    assert money2("1903725.50") == "1.903.725,50\u00a0đ"
    assert money2("0.00") == "0,00\u00a0đ"
    assert number("-1813015.5", 2) == "-1.813.015,50"


def test_rates_and_bars():
    assert percent("0.0870") == "8,7\u00a0%"
    assert percent("1.0000") == "100,0\u00a0%"
    assert percent(None) == "–"
    assert rate({"allocated": 300, "disbursed": 100}) == "0.3333"
    assert rate({"allocated": 0, "disbursed": 0}) is None
    assert bar_width("0.5") == "50.0%"
    assert bar_width("1.7") == "100.0%"  # clamped
    assert bar_width(None) == "0%"


def test_dates_and_periods():
    assert vn_date("2018-10-22") == "22/10/2018"
    assert vn_date(date(2019, 3, 19)) == "19/03/2019"
    assert vn_date("2024-07-15T08:30:00") == "15/07/2024 08:30"  # a local time as written (NGAY_VAO)


def test_moments_are_read_on_vietnams_clock():
    # A stored moment is UTC: an upload at 02:30 UTC happened at 09:30 in Kiên Giang, and one at 20:00 UTC
    # on the 15th happened on the 16th there.
    assert vn_date("2024-07-15T02:30:00+00:00") == "15/07/2024 09:30"
    assert vn_date(datetime(2024, 7, 15, 20, 0, tzinfo=UTC)) == "16/07/2024 03:00"
    assert vn_day("2024-07-15T20:00:00.123456+00:00") == "16/07/2024"
    assert vn_day("2024-07-15T09:30:00+07:00") == "15/07/2024"
    assert vn_day("2024-07-15") == "15/07/2024"
    assert vn_day(None) == vn_date("") == ""
    assert period("2024-Q3") == "Quý III/2024"
    assert period("2024-07") == "Tháng 7/2024"
    assert period("2024") == "Năm 2024"


def test_charts_escape_their_labels_and_draw_one_bar_per_year():
    rows = {
        "2023": {"provincial_budget": {"allocated": 500_000_000, "disbursed": 100_000_000}},
        "2024": {"<script>": {"allocated": 1_000_000_000, "disbursed": 0}},
    }
    svg = str(charts.funding_by_source_over_years(rows, {"provincial_budget": "Ngân sách tỉnh"}, "Biểu đồ"))
    assert svg.startswith("<svg") and "<script>" not in svg and "&lt;script&gt;" in svg
    assert svg.count('class="tick" text-anchor="middle"') == 2
    assert "Ngân sách tỉnh" in svg
    quarters = str(charts.fund_vs_spend([("Quý 1", "2000000.00", "1813015.50"), ("Quý 2", None, "0")], "Quỹ"))
    assert quarters.count('class="fund"') == 1 and quarters.count('class="spend"') == 2


def test_chart_axes_tick_whole_dong_only():
    def ticks(svg: str) -> list[str]:
        return re.findall(r'class="tick" text-anchor="end">([^<]*)<', svg)

    assert ticks(str(charts.fund_vs_spend([("Quý 1", "0.00", "0.00"), ("Quý 2", None, "0")], "Quỹ"))) == ["0", "1"]
    assert ticks(str(charts.fund_vs_spend([("Quý 1", "2", "1")], "Quỹ"))) == ["0", "1", "2"]
    assert ticks(str(charts.fund_vs_spend([("Quý 1", "4", "0")], "Quỹ"))) == ["0", "1", "2", "3", "4", "5"]
    big = ticks(str(charts.fund_vs_spend([("Quý 1", "1500000000", "0")], "Quỹ")))
    assert big == ["0", "500 tr", "1 tỷ", "1,5 tỷ", "2 tỷ"]  # unchanged above the small sums


PLAN = {"number": "34/KH-UBND", "date": "2019-03-19", "issuer": "UBND huyện Vĩnh Thuận"}


def test_the_plan_workbook_has_one_row_per_item_integer_money_and_the_office_layout(tmp_path):
    from services.common.money import execution_rate

    src = {"district_budget": {"allocated": 300, "disbursed": 100}}
    items = [
        {
            "code": "II",
            "title": "Nhiệm vụ",
            "parent_code": None,
            "depth": 0,
            "allocated": 300,
            "disbursed": 100,
            "execution_rate": execution_rate(300, 100),
            "by_source": src,
        },
        {
            "code": "II.3",
            "title": "Nhân lực",
            "parent_code": "II",
            "depth": 1,
            "allocated": 300,
            "disbursed": 100,
            "execution_rate": execution_rate(300, 100),
            "by_source": src,
        },
        {
            "code": "V",
            "title": "Báo cáo",
            "parent_code": None,
            "depth": 0,
            "allocated": 0,
            "disbursed": 0,
            "execution_rate": None,
            "by_source": {},
        },
    ]
    total = {"allocated": 300, "disbursed": 100, "execution_rate": execution_rate(300, 100), "by_source": src}
    names = {"provincial_budget": "Ngân sách tỉnh", "district_budget": "Ngân sách huyện"}
    book = workbooks.plan_workbook(PLAN, items, total, 2024, "910", names, date(2024, 11, 20))
    path = tmp_path / "r.xlsx"
    book.save(path)
    ws = load_workbook(path).active
    values = [[c.value for c in row] for row in ws.iter_rows()]
    flat = [v for row in values for v in row if isinstance(v, str)]
    assert "BÁO CÁO TÌNH HÌNH PHÂN BỔ VÀ GIẢI NGÂN KINH PHÍ NĂM 2024" in flat
    assert any("Kế hoạch số 34/KH-UBND ngày 19/03/2019" in v for v in flat)
    assert "Ngân sách huyện" in flat and "Ngân sách tỉnh" not in flat  # only the sources with money
    rows = {row[0]: row for row in values if row[0] in ("II", "II.3", "V")}
    assert rows["II.3"][2:6] == [300, 100, 300, 100]
    assert all(isinstance(v, int) for v in rows["II.3"][2:6])
    assert Decimal(str(rows["II.3"][6])) == Decimal("0.3333")
    assert rows["V"][6] is None
    total_row = next(row for row in values if row[1] == "TỔNG CỘNG")
    assert total_row[2:6] == [300, 100, 300, 100]
    money_cell = ws.cell(row=values.index(rows["II.3"]) + 1, column=3)
    assert money_cell.number_format == "#,##0"
    assert ws.freeze_panes == "C10"
    assert ws.page_setup.orientation == "landscape" and ws.print_title_rows == "$8:$9"
    assert ws.column_dimensions["B"].width >= 50


def test_the_reconciliation_workbook_keeps_exact_claim_money(tmp_path):
    data = {
        "facility_code": "91060",
        "period": "2024-Q3",
        "claims": {
            "count": 26,
            "assessed": 1,
            "requested": "1903725.50",
            "approved": "63520.00",
            "rejected": "0.00",
            "pending": "1840205.50",
        },
        "capitation": {"fund": "2000000.00", "spend": "1813015.50", "balance": "186984.50"},
        "payments": {"advanced": "0.00"},
    }
    path = tmp_path / "d.xlsx"
    workbooks.reconciliation_workbook(data, "Trạm Y tế xã Vĩnh Bình Bắc", date(2024, 10, 5)).save(path)
    ws = load_workbook(path).active
    found = {row[1]: row[2] for row in ws.iter_rows(values_only=True) if row[1] and row[2] is not None}
    assert found["Số hồ sơ"] == 26
    assert Decimal(str(found["Số tiền đề nghị BHYT thanh toán (Σ T_BHTT)"])) == Decimal("1903725.50")
    assert Decimal(str(found["Cân đối quỹ (quỹ − chi; âm là vượt quỹ)"])) == Decimal("186984.50")


def test_a_report_with_a_missing_part_is_refused_rather_than_handed_on():
    import pytest

    from services.common.errors import DomainError

    missing = {"partial": True, "missing": [{"part": "investment", "kind": "timeout", "reason": "chậm"}]}
    with pytest.raises(DomainError) as caught:
        funding.refuse_partial(missing)
    assert caught.value.status == 503 and caught.value.errors[0]["code"] == "report_incomplete"
    assert "đầu tư" in caught.value.errors[0]["message"]  # the service as people know it
    funding.refuse_partial({"partial": False, "missing": []})
