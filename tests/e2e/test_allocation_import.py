"""Allocations entered from a spreadsheet on the running system (`ytcs run`, real RabbitMQ): the province's
finance office downloads the template of plan 158/KH-UBND, fills it in the way people type (a source by its
name, amounts with dots, dates as dd/mm/yyyy or Excel dates, unit codes as numbers), and uploads it. A wrong
cell refuses the whole sheet, named by row and column; the mended sheet is recorded; sent again with a row added,
only that row is recorded; a changed amount is refused. Vĩnh Thuận's office then passes money down to its
stations through the district plan's template, inside its own unit only; the page does the same upload.

Nothing else in the e2e suite records money of fiscal year 2019 for items I.1 and I.2.a."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

import lxml.html
import pytest
import requests
from openpyxl import load_workbook

from tests.e2e.test_indicators import Client
from tests.e2e.test_web_pages import PASSWORD, Browser
from tests.support.infra import Stack
from tests.support.sheets import write_rows

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = 2019
M = 1_000_000
KEYS = (
    "item_code",
    "source",
    "fiscal_year",
    "recipient_unit",
    "amount",
    "decision_no",
    "decision_date",
    "kind",
    "fund_year",
    "use",
    "parent_allocation_id",
    "note",
)


def send(c: Client, data: bytes, **params: Any) -> requests.Response:
    """A filled-in template to the import, as a program sends it (the .xlsx as the body)."""
    return c.upload("/allocations/import.xlsx" + (f"?{urlencode(params)}" if params else ""), data)


def officers(stack: Stack) -> dict[str, Client]:
    """Who sends sheets in these modules: the province's finance, Vĩnh Thuận's (910), a viewer, and an admin (who
    reads the audit log)."""
    return {
        "province": Client(stack, stack.token("finance")),
        "district_910": Client(stack, stack.token("finance", "910")),
        "viewer": Client(stack, stack.token("viewer")),
        "admin": Client(stack, stack.token("admin")),
    }


@pytest.fixture(scope="module")
def clients(stack: Stack) -> dict[str, Client]:
    return officers(stack)


def fill(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    """The downloaded template with one allocation a row."""
    return write_rows(load_workbook(io.BytesIO(template)), "Phan bo", rows)


def problems(r: requests.Response) -> set[tuple[int, str, str]]:
    assert r.status_code == 422, r.text
    return {(e["row"], e["column"], e["code"]) for e in r.json()["errors"]}


def listed(c: Client, **params: Any) -> list[dict[str, Any]]:
    r = c.get("/allocations", year=YEAR, per_page=500, **params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


DECISION = {"decision_no": "125/QĐ-UBND", "decision_date": "15/01/2019"}
SHEET = [
    # A source by its name, the amount as people write it, the province as the recipient.
    {"item_code": "I.1", "source": "Ngân sách tỉnh", "fiscal_year": YEAR, "recipient_unit": "91",
     "amount": "1.500.000.000", **DECISION, "note": "Đợt 1"},
    # The unit code and the year as numbers, the date as an Excel date.
    {"item_code": "I.2.a", "source": "provincial_budget", "fiscal_year": YEAR, "recipient_unit": 910,
     "amount": 300 * M, "decision_no": "125/QĐ-UBND", "decision_date": datetime(2019, 1, 15)},
    # Two wrong cells: a fraction of a đồng, and a unit that does not exist.
    {"item_code": "I.2.a", "source": "provincial_budget", "fiscal_year": YEAR, "recipient_unit": "99999",
     "amount": 2.5, **DECISION},
    # Well typed, but the plan has no item IX.9 (finance's refusal, named in the same answer).
    {"item_code": "IX.9", "source": "provincial_budget", "fiscal_year": YEAR, "recipient_unit": "912",
     "amount": 1, **DECISION},
]  # fmt: skip


def test_the_province_imports_its_allocations_from_the_template(clients: dict[str, Client]) -> None:
    province, viewer = clients["province"], clients["viewer"]
    r = province.get("/allocations/template.xlsx", plan_id=1)
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX, r.text
    template = r.content
    book = load_workbook(io.BytesIO(template))
    ws, lists = book["Phan bo"], book["Danh muc"]
    assert tuple(c.value for c in ws[4]) == KEYS and ws["B2"].value == "158/KH-UBND"
    offered = {row[0] for row in lists.iter_rows(min_row=2, max_col=1, values_only=True)}
    assert {"I.1", "I.2.a", "II.5"} <= offered
    sources = {row[0] for row in lists.iter_rows(min_row=2, min_col=3, max_col=3, values_only=True)} - {None}
    assert "provincial_budget" in sources and "district_budget" not in sources  # the plan's section III only
    assert viewer.get("/allocations/template.xlsx", plan_id=1).status_code == 403

    # Two wrong cells in row 7 and finance's refusal of row 8: the sheet is refused, each named by row and column
    # in one answer, and nothing written.
    r = send(province, fill(template, SHEET))
    assert problems(r) == {(7, "E", "invalid"), (7, "D", "unknown_unit"), (8, "A", "unknown_item")}
    assert any(e["message"].startswith("Dòng 7, cột E") for e in r.json()["errors"])
    assert listed(province, plan_id=1, item_code="I") == []

    # Mended, the sheet is recorded: each row an allocation, as typed.
    mended = [*SHEET[:2], {**SHEET[2], "recipient_unit": "911", "amount": 200 * M}]  # row 8 left out
    r = send(province, fill(template, mended), plan_id=1)
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["recorded"], first["already_recorded"]) == (3, 0)
    entries = clients["admin"].get("/audit", action="finance.import_allocations", status=200).json()["items"]
    audit = entries[0]["details"]  # newest first
    assert (audit["recorded"], audit["result_id"]) == (3, ",".join(str(x["id"]) for x in first["rows"]))
    got = {
        (a["item_code"], a["recipient_unit"], a["allocated"], a["decision_date"])
        for a in listed(province, item_code="I", plan_id=1)
    }
    assert got == {
        ("I.1", "91", 1_500 * M, "2019-01-15"),
        ("I.2.a", "910", 300 * M, "2019-01-15"),
        ("I.2.a", "911", 200 * M, "2019-01-15"),
    }

    # Sent again with a row added: only that row is recorded.
    more = [*mended, {**mended[2], "recipient_unit": "912", "amount": 100 * M}]
    r = send(province, fill(template, more))
    assert r.status_code == 200, r.text
    again = r.json()
    assert (again["recorded"], again["already_recorded"]) == (1, 3)
    assert [x["id"] for x in again["rows"][:3]] == [x["id"] for x in first["rows"]]
    assert len(listed(province, item_code="I", plan_id=1)) == 4

    # The amount of a recorded row changed in the sheet: refused, naming the allocation; nothing recorded.
    changed = [*more[:1], {**more[1], "amount": 350 * M}, *more[2:]]
    r = send(province, fill(template, changed))
    assert problems(r) == {(6, "E", "differs_from_recorded")}
    assert f"phân bổ số {first['rows'][1]['id']}" in r.json()["errors"][0]["message"]
    # The sheet of another plan, and files that are no template.
    assert problems(send(province, fill(template, mended), plan_id=2)) == {(2, "B", "plan_mismatch")}
    r = send(province, b"PK\x03\x04 not a workbook")
    assert r.status_code == 422 and r.json()["errors"][0]["code"] == "invalid_workbook"
    assert send(viewer, fill(template, mended)).status_code == 403


def test_a_district_passes_its_money_down_inside_its_unit_only(clients: dict[str, Client]) -> None:
    province, district = clients["province"], clients["district_910"]
    [parent] = listed(province, item_code="I.2.a", unit="910", plan_id=1)
    r = district.get("/allocations/template.xlsx", plan_id=2)
    assert r.status_code == 200, r.text
    lists = load_workbook(io.BytesIO(r.content))["Danh muc"]
    offered = {row[0] for row in lists.iter_rows(min_row=2, min_col=9, max_col=9, values_only=True)} - {None}
    assert {"910", "31051", "31060"} <= offered and not offered & {"91", "911", "30739"}  # the officer's unit only
    # The allocations it may pass down from: the province plan's allocation to the district, with what is left.
    rows = [r for r in lists.iter_rows(min_row=2, min_col=12, max_col=18, values_only=True) if r[0] is not None]
    assert {r[0]: (r[1], r[6]) for r in rows}[parent["id"]] == ("158/KH-UBND", parent["remaining"])
    assert {r[5].split()[0] for r in rows} == {"910"}  # the district's own, none of the province's or a commune's
    down = {"parent_allocation_id": parent["id"], "decision_no": "12/QĐ-UBND", "decision_date": "01/02/2019"}
    rows = [
        {"recipient_unit": "31051", "amount": 120 * M, **down},
        {"recipient_unit": "30739", "amount": 10 * M, **down},  # a station of another district
        {"recipient_unit": "31060", "amount": 181 * M, **down},  # more than the 180 left
    ]
    [other] = listed(province, item_code="I.2.a", unit="911", plan_id=1)  # another district's money
    passing_other = {**down, "recipient_unit": "31051", "amount": 1 * M, "parent_allocation_id": other["id"]}
    r = send(district, fill(r.content, [*rows, passing_other]))
    # The scope is the gateway's; finance checks the other rows (nothing recorded) and names the one it would refuse.
    assert problems(r) == {(6, "D", "unit_forbidden"), (7, "E", "exceeds_parent"), (8, "K", "unit_forbidden")}
    assert listed(district, parent_id=parent["id"]) == []
    template = district.get("/allocations/template.xlsx", plan_id=2).content
    rows[1] = {"recipient_unit": "31063", "amount": 10 * M, **down}
    assert problems(send(district, fill(template, rows))) == {(7, "E", "exceeds_parent")}
    rows[2]["amount"] = 170 * M
    r = send(district, fill(template, rows))
    assert r.status_code == 200 and r.json()["recorded"] == 3, r.text
    after = province.get(f"/allocations/{parent['id']}").json()
    assert (after["sub_allocated"], after["remaining"]) == (300 * M, 0)
    children = listed(district, parent_id=parent["id"])
    assert {(a["recipient_unit"], a["plan_id"], a["item_code"], a["source"]) for a in children} == {
        ("31051", 2, "I.2.a", "provincial_budget"),
        ("31063", 2, "I.2.a", "provincial_budget"),
        ("31060", 2, "I.2.a", "provincial_budget"),
    }
    # Sent again, nothing more is passed down.
    r = send(district, fill(template, rows))
    assert r.status_code == 200 and (r.json()["recorded"], r.json()["already_recorded"]) == (0, 3), r.text


def test_the_allocations_page_takes_the_filled_template(stack: Stack, clients: dict[str, Client]) -> None:
    name = "p-import-ketoan"
    stack.ytcs("user", "create", "--username", name, "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name)
    page = lxml.html.fromstring(b.get("/allocations?plan=1").text)
    assert page.xpath('//form[@id="allocation-upload"]') and page.xpath('//a[@id="allocation-template-1"]')
    template = b.http.get(stack.url + page.xpath('//a[@id="allocation-template-1"]/@href')[0], timeout=30)
    assert template.status_code == 200, template.text
    row = {"item_code": "I.1", "source": "Ngân sách tỉnh", "fiscal_year": YEAR, "recipient_unit": "913",
           "amount": "75.000.000", "decision_no": "130/QĐ-UBND", "decision_date": "20/03/2019"}  # fmt: skip
    bad = fill(template.content, [{**row, "decision_date": "31/02/2019"}])
    r = b.post("/allocations/import", {"plan": "1"}, files={"file": ("phan-bo.xlsx", bad)})
    assert r.status_code == 422, r.text
    box = " ".join(lxml.html.fromstring(r.text).xpath('//div[@class="errors"]')[0].text_content().split())
    assert "Dòng 5, cột G" in box
    for odd in ("0", "²", "1; DROP TABLE allocations", "9" * 40):  # the plan field as no select sends it
        r = b.post("/allocations/import", {"plan": odd}, files={"file": ("phan-bo.xlsx", bad)})
        assert r.status_code == 422 and "Dòng 5, cột G" in r.text, odd
    assert not listed(clients["province"], unit="913", item_code="I.1")
    r = b.post("/allocations/import", {"plan": "1"}, files={"file": ("phan-bo.xlsx", fill(template.content, [row]))})
    assert r.status_code == 303 and r.headers["Location"].startswith("/allocations?plan=1"), r.text
    assert "1 phân bổ mới được ghi" in b.get(r.headers["Location"]).text
    [made] = listed(clients["province"], unit="913", item_code="I.1")
    assert (made["allocated"], made["decision_no"]) == (75 * M, "130/QĐ-UBND")


def test_the_allocations_listed_download_as_excel_row_for_row(stack: Stack, clients: dict[str, Client]) -> None:
    province, district = clients["province"], clients["district_910"]
    expected = listed(province, plan_id=1)  # this module's money of 2019 under 158/KH-UBND
    r = province.get("/allocations.xlsx", plan_id=1, year=YEAR)
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX, r.text
    assert 'filename="phan-bo-1-2019.xlsx"' in r.headers["Content-Disposition"]
    ws = load_workbook(io.BytesIO(r.content))["Phan bo"]
    title, warning, heading, *rows = list(ws.iter_rows(values_only=True))
    assert title[0] == f"DANH SÁCH PHÂN BỔ KINH PHÍ — kế hoạch 158/KH-UBND, năm 2019: {len(expected)} phân bổ"
    assert warning[0].startswith("Không cộng dọc")  # a sub-allocation is its parent's money: no total row
    column = {name: i for i, name in enumerate(heading)}
    assert [row[column["Số"]] for row in rows] == [a["id"] for a in expected]
    for row, a in zip(rows, expected, strict=True):
        assert (row[column["Nguồn kinh phí"]], row[column["Mã đơn vị nhận"]]) == ("Ngân sách tỉnh", a["recipient_unit"])
        assert row[column["Được giao"]] == a["allocated"] and row[column["Còn lại"]] == a["remaining"]
        assert row[column["Ngày quyết định"]].date().isoformat() == a["decision_date"]
    # A district officer gets what lies in the district, whatever was asked.
    mine = load_workbook(io.BytesIO(district.get("/allocations.xlsx", year=YEAR).content))["Phan bo"]
    units = {row[column["Mã đơn vị nhận"]] for row in list(mine.iter_rows(values_only=True))[3:]}
    assert units and all(u.startswith("910") or u in ("31051", "31060", "31063") for u in units)
    assert district.get("/allocations.xlsx", unit="911").status_code == 403
    # The page's link downloads what the page lists.
    b = Browser(stack.url)
    name = "p-export-xem"
    stack.ytcs("user", "create", "--username", name, "--role", "viewer", stdin=PASSWORD + "\n")
    b.login(name)
    page = lxml.html.fromstring(b.get(f"/allocations?plan=1&year={YEAR}").text)
    [href] = page.xpath('//a[@id="allocations-xlsx"]/@href')
    assert href == f"/api/v1/allocations.xlsx?plan_id=1&year={YEAR}"
    assert b.http.get(stack.url + href, timeout=30).content[:2] == b"PK"
