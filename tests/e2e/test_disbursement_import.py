"""Payments entered from a spreadsheet on the running system (`ytcs run`, real RabbitMQ): the province's finance
office downloads the disbursement template of plan 158/KH-UBND for 2018, copies the treasury's statement into it
(amounts with dots, dates as dd/mm/yyyy or Excel dates, allocation numbers and voucher numbers), and uploads it.
A wrong cell refuses the whole sheet, named by row and column; the mended sheet is recorded; sent again with a
row added, only that row is; a payment entered by hand without a voucher number is not paid again. Vĩnh
Thuận's officer is offered, and may pay from, only the district's allocations; the page does the same upload.

Nothing else in the e2e suite records money of fiscal year 2018 for item I.1 of plan 158/KH-UBND (the browser
walkthrough, which may share the stack, records 2018's I.2.b): the tests read only their own allocations."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import lxml.html
import pytest
import requests
from openpyxl import load_workbook

from tests.e2e.test_allocation_import import officers, problems
from tests.e2e.test_indicators import Client
from tests.e2e.test_web_pages import PASSWORD, Browser
from tests.support.infra import Stack
from tests.support.sheets import write_rows

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
YEAR = 2018
M = 1_000_000


@pytest.fixture(scope="module")
def clients(stack: Stack) -> dict[str, Client]:
    return officers(stack)


@pytest.fixture(scope="module")
def allocations(stack: Stack, clients: dict[str, Client]) -> dict[str, dict[str, Any]]:
    """The year's allocations to pay from: 400 tr. to the province's own health department (91), 200 tr. to
    Vĩnh Thuận (910), which has already paid 30 tr. entered by hand without a voucher number."""
    out = {}
    for unit, amount in (("91", 400 * M), ("910", 200 * M)):
        body = {"plan_id": 1, "item_code": "I.1", "source": "provincial_budget", "fiscal_year": YEAR,
                "recipient_unit": unit, "amount": amount, "decision_no": "301/QĐ-UBND",
                "decision_date": "2018-11-20"}  # fmt: skip
        out[unit] = post(clients["province"], "/allocations", body)
    paid = {"amount": 30 * M, "date": "2018-12-03"}
    out["by_hand"] = post(clients["province"], f"/allocations/{out['910']['id']}/disbursements", paid)
    return out


def post(c: Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    r = requests.post(c.base + path, json=body, headers=c.headers, timeout=30)
    assert r.status_code == 201, r.text
    return r.json()


def send(c: Client, data: bytes) -> requests.Response:
    return c.upload("/disbursements/import.xlsx", data)


def fill(template: bytes, rows: list[dict[str, Any]]) -> bytes:
    return write_rows(load_workbook(io.BytesIO(template)), "Giai ngan", rows)


def disbursed(c: Client, allocation_id: int) -> int:
    return int(c.ok(f"/allocations/{allocation_id}")["disbursed"])


def test_the_province_imports_a_treasury_statement(clients: dict[str, Client], allocations: dict[str, Any]) -> None:
    province, viewer = clients["province"], clients["viewer"]
    a, b = allocations["91"]["id"], allocations["910"]["id"]
    r = province.get("/disbursements/template.xlsx", plan_id=1, year=YEAR)
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX, r.text
    template = r.content
    book = load_workbook(io.BytesIO(template))
    assert tuple(c.value for c in book["Giai ngan"][4]) == ("allocation_id", "amount", "date", "reference")
    offered = {row[0]: row[6] for row in book["Danh muc"].iter_rows(min_row=2, values_only=True)}
    # The year's allocations with what each has left (the browser walkthrough's of 2018 are offered too).
    assert {k: offered[k] for k in (a, b)} == {a: 400 * M, b: 170 * M}
    assert {row[3] for row in book["Danh muc"].iter_rows(min_row=2, values_only=True)} == {YEAR}
    assert viewer.get("/disbursements/template.xlsx", plan_id=1).status_code == 403

    sheet = [
        {"allocation_id": a, "amount": "150.000.000", "date": "05/12/2018", "reference": "UNC 0101"},
        {"allocation_id": str(b), "amount": 20 * M, "date": datetime(2018, 12, 10), "reference": 1021},
        {"allocation_id": a, "amount": "1,5", "date": "06/12/2018"},  # no voucher number, an amount read two ways
        {"allocation_id": b, "amount": 30 * M, "date": "03/12/2018", "reference": "UNC 0099"},  # paid by hand?
        {"allocation_id": b, "amount": 151 * M, "date": "11/12/2018", "reference": "UNC 0102"},  # past what is left
        {"allocation_id": a, "amount": -5 * M, "date": "12/12/2018", "reference": "UNC 0103"},  # a reversal line
    ]
    r = send(province, fill(template, sheet))
    # The gateway's cells and finance's refusals of the other rows, in one answer; nothing written.
    assert problems(r) == {
        (7, "B", "invalid_amount"),
        (7, "D", "required"),
        (8, "D", "recorded_without_reference"),
        (9, "B", "exceeds_allocation"),
        (10, "B", "reversal_not_imported"),
    }
    assert any(e["message"].startswith("Dòng 7, cột B") for e in r.json()["errors"])
    assert (disbursed(province, a), disbursed(province, b)) == (0, 30 * M)

    mended = [*sheet[:2], {**sheet[4], "amount": 150 * M}]
    r = send(province, fill(template, mended))
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["recorded"], first["already_recorded"]) == (3, 0)
    assert (disbursed(province, a), disbursed(province, b)) == (150 * M, 200 * M)
    detail = province.ok(f"/allocations/{b}")
    assert {(d["reference"], d["amount"], d["date"]) for d in detail["disbursements"]} >= {
        ("1021", 20 * M, "2018-12-10"),
        ("UNC 0102", 150 * M, "2018-12-11"),
    }
    entries = clients["admin"].get("/audit", action="finance.import_disbursements", status=200).json()["items"]
    assert entries[0]["details"]["result_id"] == ",".join(str(x["id"]) for x in first["rows"])

    # Next week's statement holds this week's lines and one more: only that one is recorded.
    more = [*mended, {"allocation_id": a, "amount": 50 * M, "date": "14/12/2018", "reference": "UNC 0110"}]
    r = send(province, fill(template, more))
    assert r.status_code == 200, r.text
    assert (r.json()["recorded"], r.json()["already_recorded"]) == (1, 3)
    assert disbursed(province, a) == 200 * M
    # A line typed again with another amount is refused, not paid twice.
    assert problems(send(province, fill(template, [{**more[0], "amount": 151 * M}]))) == {
        (5, "B", "differs_from_recorded")
    }


def test_a_district_pays_only_from_its_own_allocations(
    clients: dict[str, Client], allocations: dict[str, Any]
) -> None:
    district = clients["district_910"]
    a, b = allocations["91"]["id"], allocations["910"]["id"]
    r = district.get("/disbursements/template.xlsx", plan_id=1, year=YEAR)
    assert r.status_code == 200, r.text
    lists = load_workbook(io.BytesIO(r.content))["Danh muc"]
    offered = {row[0] for row in lists.iter_rows(min_row=2, values_only=True)}
    assert b in offered and a not in offered
    rows = [{"allocation_id": a, "amount": 1 * M, "date": "20/12/2018", "reference": "UNC 0200"}]
    assert problems(send(district, fill(r.content, rows))) == {(5, "A", "unit_forbidden")}


def test_the_allocations_page_takes_the_filled_disbursement_template(
    stack: Stack, clients: dict[str, Client], allocations: dict[str, Any]
) -> None:
    name = "p-disburse-ketoan"
    stack.ytcs("user", "create", "--username", name, "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name)
    page = lxml.html.fromstring(b.get(f"/allocations?plan=1&year={YEAR}").text)
    assert page.xpath('//form[@id="disbursement-upload"]')
    href = page.xpath('//a[@id="disbursement-template-1"]/@href')[0]
    assert href.endswith(f"year={YEAR}")
    template = b.http.get(stack.url + href, timeout=30)
    assert template.status_code == 200, template.text
    row = {"allocation_id": allocations["91"]["id"], "amount": "10.000.000", "date": "28/12/2018",
           "reference": "UNC 0300"}  # fmt: skip
    bad = fill(template.content, [{**row, "date": "31/12/2018x"}])
    r = b.post("/disbursements/import", {"plan": "1", "year": str(YEAR)}, files={"file": ("giai-ngan.xlsx", bad)})
    assert r.status_code == 422, r.text
    refused = lxml.html.fromstring(r.text)
    box = " ".join(refused.xpath('//div[@class="errors"]')[0].text_content().split())
    assert "Dòng 5, cột C" in box
    # The page shown keeps the filters it was sent from; odd values are not filters.
    assert refused.xpath('//form[@id="disbursement-upload"]/input[@name="year"]/@value') == [str(YEAR)]
    for odd in ("0", "²⁰¹⁸", "2018; DROP TABLE allocations", "9" * 40):
        r = b.post("/disbursements/import", {"plan": odd, "year": odd}, files={"file": ("giai-ngan.xlsx", bad)})
        assert r.status_code == 422 and "Dòng 5, cột C" in r.text, odd
    before = disbursed(clients["province"], allocations["91"]["id"])
    good = fill(template.content, [row])
    r = b.post("/disbursements/import", {"plan": "1", "year": str(YEAR)}, files={"file": ("giai-ngan.xlsx", good)})
    assert r.status_code == 303 and r.headers["Location"] == f"/allocations?plan=1&year={YEAR}", r.text
    assert "1 lần chi mới được ghi" in b.get(r.headers["Location"]).text
    assert disbursed(clients["province"], allocations["91"]["id"]) == before + 10 * M
