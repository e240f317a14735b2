"""The budget year end end to end (docs/finance.md "Budget year end", issue 16): a 2023 allocation partly paid,
part of what it still held carried over to 2024 and the rest closed on January 2024 decisions, 2024 payments from
the carried money; the item funding answers show carried-over money apart and count no đồng twice, the refusals
arrive as themselves, the Excel workbook and the Word report show the figures, and a carry-over is recorded from
the allocation's page.

The stack is shared: this module's money goes to item III.2 of the province plan for Xã Vĩnh Phong (31075);
every check compares what changed."""

from __future__ import annotations

import io
import re
import uuid

import pytest
import requests
from docx import Document
from openpyxl import load_workbook

from services.common import clock
from tests.e2e.test_finance_api import Api, created, refused
from tests.e2e.test_web_pages import Browser

M = 1_000_000
ITEM, UNIT = "II.5", "31075"
PASSWORD = "mật-khẩu-đủ-dài-year-end"


@pytest.fixture(scope="module")
def finance(stack) -> Api:
    return Api(stack, stack.token("finance"))


def allocate(finance: Api, amount: int, year: int = 2023) -> dict:
    return created(
        finance.post(
            "/api/v1/allocations",
            {
                "plan_id": 1,
                "item_code": ITEM,
                "source": "provincial_budget",
                "fiscal_year": year,
                "recipient_unit": UNIT,
                "amount": amount,
                "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND",
                "decision_date": f"{year}-02-10",
            },
        )
    )


def decision(day: str, amount: int, **extra) -> dict:
    return {"amount": amount, "date": day, "decision_no": f"{uuid.uuid4().hex[:5]}/QĐ-STC", "decision_date": day,
            **extra}  # fmt: skip


def item(finance: Api, year: int) -> dict:
    r = finance.get(f"/api/v1/plans/1/items/{ITEM}/funding", year=year, unit=UNIT)
    assert r.status_code == 200, r.text
    return r.json()


def test_carry_over_close_and_next_year_payments_counted_once(stack, finance):
    before = {y: item(finance, y) for y in (2023, 2024)}
    a = allocate(finance, 500 * M)
    created(finance.post(f"/api/v1/allocations/{a['id']}/disbursements", {"amount": 200 * M, "date": "2023-06-01"}))
    # 300 M left on 31/12/2023: 180 M carried to 2024, 120 M closed.
    refused(finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2024-01-15", 301 * M)),
            "exceeds_undisbursed")  # fmt: skip
    carried = created(
        finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2024-01-15", 180 * M, note="chuyển nguồn"),
                     key=f"co-{uuid.uuid4()}")  # fmt: skip
    )
    assert (carried["kind"], carried["amount"], carried["allocation_id"]) == ("carry_over", 180 * M, a["id"])
    assert carried["recorded_by"]
    closed = created(finance.post(f"/api/v1/allocations/{a['id']}/close", decision("2024-01-20", 120 * M)))
    assert closed["kind"] == "close" and closed["allocation"]["remaining"] == 0
    # Nothing is left to decide now; 2024 payments draw on the carried money only.
    refused(finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2024-01-21", 1)), "exceeds_undisbursed")
    created(finance.post(f"/api/v1/allocations/{a['id']}/disbursements", {"amount": 100 * M, "date": "2024-03-01"}))
    refused(finance.post(f"/api/v1/allocations/{a['id']}/disbursements", {"amount": 81 * M, "date": "2024-04-01"}),
            "exceeds_carried_over")  # fmt: skip

    detail = finance.get(f"/api/v1/allocations/{a['id']}").json()
    assert (detail["carried_over"], detail["carried_over_left"], detail["closed"]) == (180 * M, 80 * M, 120 * M)
    assert [r["kind"] for r in detail["year_end"]] == ["carry_over", "close"]

    after = {y: item(finance, y) for y in (2023, 2024)}

    def delta(year: int, key: str) -> int:
        return after[year][key] - before[year].get(key, 0)

    # 2023: 500 allocated, 200 + 100 paid (the 2024 payment is the 2023 allocation's), 180 carried out, 120 closed.
    assert (delta(2023, "allocated"), delta(2023, "disbursed")) == (500 * M, 300 * M)
    assert (delta(2023, "carried_over_out"), delta(2023, "closed"), delta(2023, "carried_over_in")) == (180 * M,
                                                                                                        120 * M, 0)
    # 2024: the carried money comes in apart; never a second allocation.
    assert delta(2024, "allocated") == 0
    assert (delta(2024, "carried_over_in"), delta(2024, "carried_over_out"), delta(2024, "closed")) == (180 * M, 0, 0)
    assert after[2024]["year_end_by_year"]["2024"]["carried_over_in"] >= 180 * M

    # The whole period: 500 allocated once, the carry-over both out of 2023 and into 2024.
    r = finance.get(f"/api/v1/plans/1/items/{ITEM}/funding", unit=UNIT)
    whole = r.json()
    assert whole["year_end_by_year"]["2023"]["carried_over_out"] >= 180 * M
    assert whole["carried_over_in"] >= 180 * M and whole["closed"] >= 120 * M

    # Plan tree and unit funding show the same figures.
    tree = finance.get("/api/v1/plans/1/funding", year=2024, unit=UNIT).json()
    row = next(i for i in tree["items"] if i["code"] == ITEM)
    assert row["carried_over_in"] == after[2024]["carried_over_in"]
    assert tree["total"]["carried_over_in"] >= row["carried_over_in"]
    unit = finance.get(f"/api/v1/units/{UNIT}/funding", year=2023).json()
    assert unit["carried_over_out"] >= 180 * M and unit["closed"] >= 120 * M

    # A reversal of part of the close gives the money back to the year, to carry over anew.
    undone = created(finance.post(f"/api/v1/year-end-records/{closed['id']}/reversals", decision("2024-01-25", 20 * M)))
    assert (undone["amount"], undone["reverses_id"]) == (-20 * M, closed["id"])
    refused(finance.post(f"/api/v1/year-end-records/{undone['id']}/reversals", decision("2024-01-26", 1)),
            "not_reversible")  # fmt: skip
    refused(finance.post("/api/v1/year-end-records/999999999/reversals", decision("2024-01-26", 1)),
            "unknown_year_end_record", 404)  # fmt: skip


def test_a_date_within_the_year_and_a_bad_decision_are_refused(stack, finance):
    # year_not_ended needs an allocation of the running year, which no plan period (2018–2025) holds once 2025
    # is over: then a date within the year is what is refused (finance's domain tests cover year_not_ended).
    a = allocate(finance, 10 * M, year=2025)
    expected = "year_not_ended" if clock.today().year <= 2025 else "before_year_end"
    refused(finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2025-06-01", M)), expected)
    body = decision("2026-01-05", M) | {"decision_date": "2099-01-01"}
    r = finance.post(f"/api/v1/allocations/{a['id']}/close", body)
    assert r.status_code == 422, r.text
    refused(finance.post("/api/v1/allocations/999999999/carry-over", decision("2026-01-05", M)), "unknown_allocation",
            404)  # fmt: skip
    # Read-only roles may not write.
    viewer = Api(stack, stack.token("viewer"))
    assert viewer.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2026-01-05", M)).status_code == 403


def test_the_reports_show_the_carried_over_money(stack, finance):
    a = allocate(finance, 70 * M)
    created(finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2024-01-10", 30 * M)))
    tree = finance.get("/api/v1/plans/1/funding", year=2024, unit=UNIT).json()
    expected = next(i for i in tree["items"] if i["code"] == ITEM)["carried_over_in"]
    assert expected >= 30 * M
    r = requests.get(stack.url + "/api/v1/plans/1/report.xlsx", params={"year": 2024, "unit": UNIT},
                     headers=finance.headers, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    ws = load_workbook(io.BytesIO(r.content))["Chuyển nguồn"]
    rows = {row[0]: row for row in ws.iter_rows(values_only=True) if row[0]}
    assert rows[ITEM][4] == expected  # chuyển nguồn từ năm trước
    assert rows[ITEM][2] == next(i for i in tree["items"] if i["code"] == ITEM)["allocated"]
    # Under the item, a line per source: only this module's provincial budget money carried into 2024 here.
    lines = list(ws.iter_rows(values_only=True))
    at = next(n for n, row in enumerate(lines) if row[0] == ITEM)
    assert "Ngân sách tỉnh" in lines[at + 1][1] and lines[at + 1][4] == expected

    r = requests.get(stack.url + "/api/v1/plans/1/report.docx", params={"year": 2024, "unit": UNIT},
                     headers=finance.headers, timeout=60)  # fmt: skip
    assert r.status_code == 200, r.text
    doc = Document(io.BytesIO(r.content))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Mã mục"
                 and "Chuyển nguồn" in t.rows[0].cells[2].text)  # fmt: skip
    cells = [[c.text for c in row.cells] for row in table.rows[1:]]
    at = next(n for n, row in enumerate(cells) if row[0] == ITEM)
    assert int(cells[at][2].replace(".", "")) == expected
    assert cells[at + 1][1] == "– Ngân sách tỉnh" and int(cells[at + 1][2].replace(".", "")) == expected


def test_a_carry_over_recorded_from_the_allocation_page(stack, finance):
    a = allocate(finance, 40 * M)
    stack.ytcs("user", "create", "--username", "ye-ketoan", "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login("ye-ketoan", PASSWORD)
    page = b.get(f"/allocations/{a['id']}")
    assert page.status_code == 200 and 'id="carry-over-form"' in page.text and 'id="close-form"' in page.text
    assert "Chuyển nguồn sang năm 2024" in page.text and "Quyết toán (đóng)" in page.text
    form = {"amount": "50.000.000", "date": "2024-01-12", "decision_no": "15/QĐ-STC", "decision_date": "2024-01-12"}
    # Too much: the page again, the amount refused beside its field, what was typed kept.
    r = b.post(f"/allocations/{a['id']}/carry-over", form)
    assert r.status_code == 422, r.text[:500]
    assert "15/QĐ-STC" in r.text and 'id="carry-over-form"' in r.text
    # Without the token: refused.
    r = b.post(f"/allocations/{a['id']}/carry-over", {**form, "csrf_token": "x"}, with_token=False)
    assert r.status_code in (400, 403)
    b.get(f"/allocations/{a['id']}")
    r = b.post(f"/allocations/{a['id']}/carry-over", {**form, "amount": "25.000.000"})
    assert r.status_code == 303, r.text[:500]
    page = b.get(r.headers["Location"])
    assert "Đã ghi chuyển nguồn." in page.text and "15/QĐ-STC" in page.text
    detail = finance.get(f"/api/v1/allocations/{a['id']}").json()
    assert detail["carried_over"] == 25 * M and detail["year_end"][0]["recorded_by"].endswith("ye-ketoan")
    # The plan page shows the carried money apart from Phân bổ, the item's line too.
    plan = b.get("/", params={"plan": 1, "year": 2024, "unit": UNIT}).text
    assert 'id="total-carried-in"' in plan and "Chuyển nguồn từ năm trước" in plan
    row = re.search(r'data-code="II\.5">(.*?)</tr>', plan, re.S).group(1)
    assert 'class="carried-in"' in row


def test_a_carry_over_reversed_from_the_allocation_page(stack, finance):
    a = allocate(finance, 30 * M)
    carried = created(finance.post(f"/api/v1/allocations/{a['id']}/carry-over", decision("2024-01-10", 20 * M)))
    stack.ytcs("user", "create", "--username", "ye-huy", "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login("ye-huy", PASSWORD)
    page = b.get(f"/allocations/{a['id']}").text
    form_id = f'id="reverse-{carried["id"]}-form"'
    assert 'id="year-end-reversals"' in page and form_id in page
    action = f"/allocations/{a['id']}/year-end-records/{carried['id']}/reversals"
    form = {"amount": "25.000.000", "date": "2024-01-20", "decision_no": "21/QĐ-STC", "decision_date": "2024-01-20"}
    # More than was carried: the page again with the refusal, the form open with what was typed.
    r = b.post(action, form)
    assert r.status_code == 422, r.text[:500]
    assert "21/QĐ-STC" in r.text and form_id in r.text and "<details open>" in r.text
    # A record of another allocation is not this page's to reverse.
    other = allocate(finance, 5 * M)
    elsewhere = created(finance.post(f"/api/v1/allocations/{other['id']}/close", decision("2024-01-11", M)))
    r = b.post(f"/allocations/{a['id']}/year-end-records/{elsewhere['id']}/reversals", {**form, "amount": "1"})
    assert r.status_code == 404
    assert finance.get(f"/api/v1/allocations/{other['id']}").json()["closed"] == M
    # Part of it, by its own decision: recorded as a negative record, and the money is back in 2023.
    b.get(f"/allocations/{a['id']}")
    r = b.post(action, {**form, "amount": "8.000.000"})
    assert r.status_code == 303, r.text[:500]
    page = b.get(r.headers["Location"]).text
    assert f"Đã ghi hủy bản ghi cuối năm số {carried['id']}." in page and "21/QĐ-STC" in page
    detail = finance.get(f"/api/v1/allocations/{a['id']}").json()
    assert detail["carried_over"] == 12 * M
    undone = next(x for x in detail["year_end"] if x["reverses_id"] == carried["id"])
    assert undone["amount"] == -8 * M and undone["recorded_by"].endswith("ye-huy")
    # Empty amount: the rest of it.
    r = b.post(action, {**form, "amount": "", "decision_no": "22/QĐ-STC"})
    assert r.status_code == 303, r.text[:500]
    assert finance.get(f"/api/v1/allocations/{a['id']}").json()["carried_over"] == 0


def test_the_allocation_form_offers_as_root_sources_only_those_the_plan_names(stack, finance):
    sources = {s["code"]: s["plans"] for s in finance.get("/api/v1/sources").json()["items"]}
    assert 1 in sources["bhyt_surplus_20"] and 2 not in sources["bhyt_surplus_20"]
    assert sources["district_budget"] == []
    stack.ytcs("user", "create", "--username", "ye-ketoan-form", "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login("ye-ketoan-form", PASSWORD)
    for plan in (1, 2):
        page = b.get("/allocations/new", params={"plan": plan}).text
        select = re.search(r'<select name="source".*?</select>', page, re.S).group(0)
        offered = set(re.findall(r'<option value="([a-z0-9_]+)" data-plans="[0-9 ]*" +(?:selected)?>', select))
        assert offered == {code for code, plans in sources.items() if plan in plans}, (plan, offered)

