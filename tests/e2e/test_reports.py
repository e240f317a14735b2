"""The Excel workbooks through the running system: the plan's yearly funding report (contract endpoint
GET /api/v1/plans/{id}/report.xlsx?year=) opened with openpyxl, its figures checked against money this test
recorded itself (computed here, not read back from the API), its layout (integer VND cells in `#,##0`, frozen
heading, print setup); access by role and unit; the reconciliation and claim-file errors workbooks.

The stack is shared: this module's money goes to Huyện Kiên Hải (912) in 2022, which no other test uses,
and the report is asked for that unit and year."""

from __future__ import annotations

import io
import time
from decimal import Decimal

import pytest
import requests
from openpyxl import load_workbook

from services.devtools import claims_generator as generator
from tests.integration.claims.conftest import by_registration

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DISTRICT, COMMUNE, YEAR = "912", "31108", 2022
FACILITY = "91908"


def auth(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("admin", "finance", "bhxh", "viewer")}


def post(stack, token, path, body):
    r = requests.post(stack.url + path, json=body, headers=auth(token), timeout=60)
    assert r.status_code == 201, r.text
    return r.json()


@pytest.fixture(scope="module")
def money(stack, tokens):
    """Allocations, a sub-allocation, disbursements and an adjustment; returns what the report must show."""
    fin = tokens["finance"]
    decision = {"decision_no": "88/QĐ-UBND", "decision_date": f"{YEAR}-03-01"}
    a = post(
        stack,
        fin,
        "/api/v1/allocations",
        {
            "plan_id": 1,
            "item_code": "II.3",
            "source": "provincial_budget",
            "fiscal_year": YEAR,
            "recipient_unit": DISTRICT,
            "amount": 700_000_000,
            **decision,
        },
    )
    b = post(
        stack,
        fin,
        "/api/v1/allocations",
        {
            "plan_id": 1,
            "item_code": "II.2.4",
            "source": "ntp_health_population",
            "fiscal_year": YEAR,
            "recipient_unit": DISTRICT,
            "amount": 250_000_000,
            **decision,
        },
    )
    sub = post(
        stack,
        fin,
        "/api/v1/allocations",
        {"parent_allocation_id": a["id"], "recipient_unit": COMMUNE, "amount": 200_000_000, **decision},
    )
    post(
        stack,
        fin,
        f"/api/v1/allocations/{sub['id']}/disbursements",
        {"amount": 150_000_000, "date": f"{YEAR}-06-01", "reference": "UNC 912-1"},
    )
    post(
        stack,
        fin,
        f"/api/v1/allocations/{b['id']}/disbursements",
        {"amount": 60_000_000, "date": f"{YEAR}-07-01", "reference": "UNC 912-2"},
    )
    post(
        stack,
        fin,
        f"/api/v1/allocations/{b['id']}/adjustments",
        {"amount": -50_000_000, "decision_no": "90/QĐ-UBND", "decision_date": f"{YEAR}-09-01"},
    )
    # Expected, by item and source: the sub-allocation is the same money as its parent (counted once).
    return {
        "II.3": {"provincial_budget": (700_000_000, 150_000_000)},
        "II.2.4": {"ntp_health_population": (200_000_000, 60_000_000)},
    }


def download(stack, token, path, **params):
    return requests.get(stack.url + path, headers=auth(token), params=params, timeout=60)


def rows_by_code(ws):
    return {row[0]: row for row in ws.iter_rows(values_only=True) if isinstance(row[0], str) and row[0][:1] in "IV"}


def header_columns(ws):
    """Source name → (allocated column index, disbursed column index), from the two heading rows."""
    values = list(ws.iter_rows(values_only=True))
    top = next(i for i, row in enumerate(values) if row[0] == "Mã mục")
    names = values[top]
    return {name: (i, i + 1) for i, name in enumerate(names) if isinstance(name, str) and i >= 2}, top


def test_the_plan_report_has_the_figures_recorded_per_item_and_source(stack, tokens, money):
    r = download(stack, tokens["viewer"], "/api/v1/plans/1/report.xlsx", year=YEAR, unit=DISTRICT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == XLSX
    assert "attachment" in r.headers["Content-Disposition"] and ".xlsx" in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content)).active
    cols, top = header_columns(ws)
    assert set(cols) == {"Ngân sách tỉnh", "Chương trình mục tiêu Y tế – Dân số", "Tổng cộng các nguồn"}
    rows = rows_by_code(ws)
    names = {"provincial_budget": "Ngân sách tỉnh", "ntp_health_population": "Chương trình mục tiêu Y tế – Dân số"}
    totals = [0, 0]
    for code, by_source in money.items():
        row = rows[code]
        item_total = [0, 0]
        for source, (allocated, disbursed) in by_source.items():
            ca, cd = cols[names[source]]
            assert (row[ca], row[cd]) == (allocated, disbursed), (code, source, row)
            assert isinstance(row[ca], int) and isinstance(row[cd], int)
            item_total[0] += allocated
            item_total[1] += disbursed
        ta, td = cols["Tổng cộng các nguồn"]
        assert (row[ta], row[td]) == tuple(item_total)
        assert Decimal(str(row[td + 1])).quantize(Decimal("0.0001")) == (
            Decimal(item_total[1]) / Decimal(item_total[0])
        ).quantize(Decimal("0.0001"))
        totals = [totals[0] + item_total[0], totals[1] + item_total[1]]
    ta, td = cols["Tổng cộng các nguồn"]
    # Section II is the subtotal of II.2.4 and II.3; II.2 the subtotal of II.2.4; I and V hold nothing.
    assert (rows["II"][ta], rows["II"][td]) == tuple(totals)
    assert (rows["II.2"][ta], rows["II.2"][td]) == (200_000_000, 60_000_000)
    assert (rows["I"][ta], rows["V"][ta]) == (0, 0)
    grand = next(row for row in ws.iter_rows(values_only=True) if row[1] == "TỔNG CỘNG")
    assert (grand[ta], grand[td]) == tuple(totals)
    # One row per plan item, in the plan's order.
    items = requests.get(stack.url + "/api/v1/plans/1/items", headers=auth(tokens["viewer"]), timeout=30).json()
    assert [c for c in rows] == [i["code"] for i in items["items"]]
    # Layout: heading with the plan's number and date, money as whole đồng in #,##0, frozen heading, print setup.
    text = [v for row in ws.iter_rows(values_only=True) for v in row if isinstance(v, str)]
    assert f"BÁO CÁO TÌNH HÌNH PHÂN BỔ VÀ GIẢI NGÂN KINH PHÍ NĂM {YEAR}" in text
    assert any("Kế hoạch số 158/KH-UBND ngày 22/10/2018" in v for v in text)
    assert any("Huyện Kiên Hải" in v for v in text)
    cell = next(c for row in ws.iter_rows() for c in row if c.value == 700_000_000)
    assert cell.number_format == "#,##0"
    assert ws.freeze_panes == f"C{top + 3}"
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.fitToWidth == 1
    assert ws.print_title_rows == f"${top + 1}:${top + 2}"


def test_a_commune_report_shows_only_the_money_that_reached_it(stack, tokens, money):
    r = download(stack, tokens["viewer"], "/api/v1/plans/1/report.xlsx", year=YEAR, unit=COMMUNE)
    ws = load_workbook(io.BytesIO(r.content)).active
    cols, _ = header_columns(ws)
    ta, td = cols["Tổng cộng các nguồn"]
    rows = rows_by_code(ws)
    assert (rows["II.3"][ta], rows["II.3"][td]) == (200_000_000, 150_000_000)
    assert rows["II.2.4"][ta] == 0


def test_report_access_follows_roles_and_units(stack, tokens, money):
    assert download(stack, None, "/api/v1/plans/1/report.xlsx", year=YEAR).status_code == 401
    for role in ("admin", "finance", "bhxh", "viewer"):
        assert download(stack, tokens[role], "/api/v1/plans/1/report.xlsx", year=YEAR).status_code == 200
    other = stack.token("finance", "910")
    r = download(stack, other, "/api/v1/plans/1/report.xlsx", year=YEAR, unit=DISTRICT)
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "unit_forbidden"
    # A scoped caller's report is narrowed to their unit even when they name none: none of Kiên Hải's money.
    r = download(stack, other, "/api/v1/plans/1/report.xlsx", year=YEAR)
    ws = load_workbook(io.BytesIO(r.content)).active
    assert not any(c.value == 700_000_000 for row in ws.iter_rows() for c in row)
    assert download(stack, tokens["viewer"], "/api/v1/plans/99/report.xlsx", year=YEAR).status_code == 404
    assert download(stack, tokens["viewer"], "/api/v1/plans/1/report.xlsx", year="x").status_code == 422


def test_the_report_is_in_the_openapi_document_as_an_excel_download(stack):
    spec = requests.get(stack.url + "/api/v1/openapi.json", timeout=30).json()
    op = spec["paths"]["/api/v1/plans/{plan_id}/report.xlsx"]["get"]
    assert XLSX in op["responses"]["200"]["content"]
    assert "year" in [p["name"] for p in op["parameters"]]


def _upload(stack, token, data):
    r = requests.post(
        stack.url + "/api/v1/claims/files",
        data=data,
        headers={**auth(token), "Content-Type": "application/xml"},
        timeout=60,
    )
    assert r.status_code == 202, r.text
    file_id = r.json()["id"]
    deadline = time.monotonic() + 90
    while True:
        s = requests.get(stack.url + f"/api/v1/claims/files/{file_id}", headers=auth(token), timeout=30).json()
        if s["status"] != "processing":
            return file_id, s
        assert time.monotonic() < deadline
        time.sleep(0.3)


def test_reconciliation_and_file_errors_workbooks(stack, tokens):
    admin, bhxh = tokens["admin"], tokens["bhxh"]
    r = requests.post(
        stack.url + "/api/v1/facilities",
        headers=auth(admin),
        timeout=30,
        json={"code": FACILITY, "name": "Trạm Y tế xã Hòn Tre", "unit": COMMUNE, "kind": "station"},
    )
    assert r.status_code in (201, 409), r.text
    buf = io.BytesIO()
    summary = generator.generate(
        buf,
        facility=FACILITY,
        records=25,
        year=2024,
        months=[4, 5, 6],
        seed=912,
        faults={"card_format": 2, "date_order": 1},
    )
    file_id, status = _upload(stack, bhxh, buf.getvalue())
    assert status["records"]["rejected"] == 3

    r = download(stack, tokens["viewer"], "/api/v1/reconciliation/report.xlsx", facility=FACILITY, period="2024-Q2")
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX
    ws = load_workbook(io.BytesIO(r.content)).active
    found = {row[1]: row[2] for row in ws.iter_rows(values_only=True) if row[1] and row[2] is not None}
    assert found["Số hồ sơ"] == summary.accepted
    assert Decimal(str(found["Số tiền đề nghị BHYT thanh toán (Σ T_BHTT)"])) == summary.t_bhtt
    assert Decimal(str(found["Số tiền chờ giám định"])) == summary.t_bhtt
    # The spend against the fund is by the card's registered facility (MA_DKBD), wherever treated; the split by
    # payment method below is of the lines treated here.
    own = by_registration(buf.getvalue(), summary)[(FACILITY, "2024-Q2")]
    assert Decimal(str(found["Chi phí trong định suất (Σ T_BHTT các dòng MA_PTTT = 2)"])) == own.spend
    # by payment method, the three make up what is asked of the fund (the generator writes no DRG line)
    assert Decimal(str(found["Định suất (MA_PTTT = 2)"])) == summary.capitation
    assert Decimal(str(found["Phí dịch vụ (MA_PTTT = 1)"])) == summary.t_bhtt_gdv
    assert Decimal(str(found["DRG (MA_PTTT = 3)"])) == 0
    assert summary.capitation + summary.t_bhtt_gdv == summary.t_bhtt
    assert any("Trạm Y tế xã Hòn Tre" in str(v) for row in ws.iter_rows(values_only=True) for v in row)
    scoped = stack.token("viewer", "910")
    assert (
        download(stack, scoped, "/api/v1/reconciliation/report.xlsx", facility=FACILITY, period="2024-Q2").status_code
        == 403
    )

    r = download(stack, bhxh, f"/api/v1/claims/files/{file_id}/errors.xlsx")
    assert r.status_code == 200
    ws = load_workbook(io.BytesIO(r.content)).active
    rows = list(ws.iter_rows(values_only=True))[2:]
    assert sorted(row[4] for row in rows) == ["card_format", "card_format", "date_order"]
    assert {row[1] for row in rows} == {ma_lk for ma_lk, _ in summary.faults}
    r = download(stack, bhxh, f"/api/v1/claims/files/{file_id}/errors.xlsx", code="date_order")
    assert [row[4] for row in list(load_workbook(io.BytesIO(r.content)).active.iter_rows(values_only=True))[2:]] == [
        "date_order"
    ]
    assert download(stack, tokens["viewer"], f"/api/v1/claims/files/{file_id}/errors.xlsx").status_code == 403
    scoped_bhxh = stack.token("bhxh", "910")  # the errors are health data (issue 13): only BHXH, inside its unit
    assert download(stack, scoped_bhxh, f"/api/v1/claims/files/{file_id}/errors.xlsx").status_code == 404
