"""Station projects' payments entered from a spreadsheet on the running system (`ytcs run`, real RabbitMQ): the
province's investment officer downloads the project payment template, copies the treasury's statement into it
(sources by code or by the name the list shows, amounts with dots, a return as a negative line), and uploads it. A
wrong cell refuses the whole sheet, named by row and column, with investment's refusals of the other rows in the
same answer; the mended statement is recorded; sent again with a line added, only that line is. Vĩnh Thuận's
officer is offered, and may pay, only the district's projects; the projects page does the same upload.

The tests register their own projects and read only them (other modules' projects may share the stack)."""

from __future__ import annotations

import io
import uuid
from typing import Any

import lxml.html
import pytest
from openpyxl import load_workbook

from tests.e2e.test_allocation_import import officers, problems
from tests.e2e.test_disbursement_import import XLSX, fill, post
from tests.e2e.test_indicators import Client
from tests.e2e.test_web_pages import PASSWORD, Browser
from tests.support.infra import Stack

M = 1_000_000
PB, NRD = "provincial_budget", "ntp_nrd"


@pytest.fixture(scope="module")
def clients(stack: Stack) -> dict[str, Client]:
    return officers(stack)


@pytest.fixture(scope="module")
def projects(clients: dict[str, Client]) -> dict[str, int]:
    """A renovation at the town of Vĩnh Thuận (31051) with 600 tr. of the province's capital and 200 tr. of the
    programme's, 50 tr. already paid by hand without a voucher; a new build elsewhere (30733) with 300 tr."""
    province = clients["province"]
    out = {}
    for name, station, sources in (("thi_tran", "31051", ((PB, 600), (NRD, 200))), ("other", "30733", ((PB, 300),))):
        body = {"station_code": station, "kind": "renovation", "title": f"Cải tạo Trạm Y tế {uuid.uuid4().hex[:6]}",
                "estimated_cost": 2_000 * M, "plan_id": 1, "item_code": "II.5"}  # fmt: skip
        pid = post(province, "/investment/projects", body)["id"]
        for source, amount in sources:
            capital = {"source": source, "fiscal_year": 2024, "amount": amount * M, "decision_no": "55/QĐ-UBND",
                       "decision_date": "2024-02-01"}  # fmt: skip
            post(province, f"/investment/projects/{pid}/capital", capital)
        out[name] = pid
    by_hand = {"source": PB, "amount": 50 * M, "date": "2024-05-03"}
    post(province, f"/investment/projects/{out['thi_tran']}/disbursements", by_hand)
    return out


def send(c: Client, data: bytes) -> Any:
    return c.upload("/investment/disbursements/import.xlsx", data)


def paid(c: Client, project_id: int) -> dict[str, int]:
    return {src: f["disbursed"] for src, f in c.ok(f"/investment/projects/{project_id}")["by_source"].items()}


def listed(template: bytes, project_ids: set[int]) -> dict[tuple[int, str], tuple[str, int]]:
    """The template's list of accounts for these projects: (project, source code) → (source name, left)."""
    rows = load_workbook(io.BytesIO(template))["Danh muc"].iter_rows(min_row=2, values_only=True)
    return {(r[0], r[4]): (r[5], r[8]) for r in rows if r[0] in project_ids}


def test_the_province_imports_a_treasury_statement_of_project_payments(
    clients: dict[str, Client], projects: dict[str, int]
) -> None:
    province, viewer = clients["province"], clients["viewer"]
    a, b = projects["thi_tran"], projects["other"]
    r = province.get("/investment/disbursements/template.xlsx")
    assert r.status_code == 200 and r.headers["Content-Type"] == XLSX, r.text
    template = r.content
    accounts = listed(template, {a, b})
    assert {k: left for k, (_name, left) in accounts.items()} == {(a, NRD): 200 * M, (a, PB): 550 * M, (b, PB): 300 * M}
    assert viewer.get("/investment/disbursements/template.xlsx").status_code == 403

    nrd_name = accounts[(a, NRD)][0]
    statement = [
        {"project_id": a, "source": PB, "amount": "100.000.000", "date": "06/05/2024", "reference": "UNC 0501"},
        {"project_id": str(a), "source": nrd_name, "amount": 20 * M, "date": "07/05/2024", "reference": 503},
        {"project_id": a, "source": PB, "amount": 50 * M, "date": "03/05/2024", "reference": "UNC 0502"},  # by hand?
        {"project_id": b, "source": PB, "amount": 301 * M, "date": "08/05/2024", "reference": "UNC 0504"},
        {"project_id": a, "source": NRD, "amount": "1,5", "date": "09/05/2024"},  # two ways to read, no voucher
    ]
    r = send(province, fill(template, statement))
    # The gateway's cells and investment's refusals of the other rows, in one answer; nothing written.
    assert problems(r) == {
        (7, "E", "recorded_without_reference"),
        (8, "C", "exceeds_capital"),
        (9, "C", "invalid_amount"),
        (9, "E", "required"),
    }
    assert paid(province, a) == {NRD: 0, PB: 50 * M}

    mended = [*statement[:2], {**statement[3], "amount": 300 * M}]
    r = send(province, fill(template, mended))
    assert r.status_code == 200, r.text
    first = r.json()
    assert (first["recorded"], first["already_recorded"]) == (3, 0)
    assert (paid(province, a), paid(province, b)) == ({NRD: 20 * M, PB: 150 * M}, {PB: 300 * M})
    detail = province.ok(f"/investment/projects/{a}")
    assert {(d["reference"], d["source"], d["amount"]) for d in detail["disbursements"]} >= {
        ("503", NRD, 20 * M),
        ("UNC 0501", PB, 100 * M),
    }
    entries = clients["admin"].get("/audit", action="investment.import_disbursements", status=200).json()["items"]
    assert entries[0]["details"]["result_id"] == ",".join(str(x["id"]) for x in first["rows"])

    # Next week's statement holds this week's lines and a return: only the return is recorded.
    more = [*mended, {"project_id": a, "source": PB, "amount": "-10.000.000", "date": "15/05/2024",
                      "reference": "GNT 0001"}]  # fmt: skip
    r = send(province, fill(template, more))
    assert r.status_code == 200, r.text
    assert (r.json()["recorded"], r.json()["already_recorded"]) == (1, 3)
    assert paid(province, a) == {NRD: 20 * M, PB: 140 * M}
    # A line typed again with another amount is refused, not paid twice.
    assert problems(send(province, fill(template, [{**more[0], "amount": 101 * M}]))) == {
        (5, "C", "differs_from_recorded")
    }


def test_a_district_pays_only_its_own_projects(clients: dict[str, Client], projects: dict[str, int]) -> None:
    district = clients["district_910"]
    a, b = projects["thi_tran"], projects["other"]
    r = district.get("/investment/disbursements/template.xlsx")
    assert r.status_code == 200, r.text
    assert {p for p, _src in listed(r.content, {a, b})} == {a}
    assert district.get("/investment/disbursements/template.xlsx", unit="911").status_code == 403
    rows = [{"project_id": b, "source": PB, "amount": 1 * M, "date": "20/05/2024", "reference": "UNC 0600"}]
    assert problems(send(district, fill(r.content, rows))) == {(5, "A", "unit_forbidden")}


def test_the_projects_page_takes_the_filled_template(
    stack: Stack, clients: dict[str, Client], projects: dict[str, int]
) -> None:
    name = "p-project-pay"
    stack.ytcs("user", "create", "--username", name, "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name)
    page = lxml.html.fromstring(b.get("/investment?unit=910").text)
    assert page.xpath('//form[@id="project-disbursement-upload"]/input[@name="unit"]/@value') == ["910"]
    href = page.xpath('//a[@id="project-disbursement-template"]/@href')[0]
    template = b.http.get(stack.url + href, timeout=30)
    assert template.status_code == 200, template.text
    assert {p for p, _src in listed(template.content, set(projects.values()))} == {projects["thi_tran"]}
    row = {"project_id": projects["thi_tran"], "source": NRD, "amount": "5.000.000", "date": "28/05/2024",
           "reference": "UNC 0700"}  # fmt: skip
    bad = fill(template.content, [{**row, "date": "31/05/2024x"}])
    r = b.post("/investment/disbursements/import", {"unit": "910"}, files={"file": ("giai-ngan.xlsx", bad)})
    assert r.status_code == 422, r.text
    refused = lxml.html.fromstring(r.text)
    assert "Dòng 5, cột D" in " ".join(refused.xpath('//div[@class="errors"]')[0].text_content().split())
    assert refused.xpath('//form[@id="project-disbursement-upload"]/input[@name="unit"]/@value') == ["910"]
    before = paid(clients["province"], projects["thi_tran"])[NRD]
    good = fill(template.content, [row])
    r = b.post("/investment/disbursements/import", {"unit": "910"}, files={"file": ("giai-ngan.xlsx", good)})
    assert r.status_code == 303 and r.headers["Location"] == "/investment?unit=910", r.text
    assert "1 lần chi mới được ghi" in b.get(r.headers["Location"]).text
    assert paid(clients["province"], projects["thi_tran"])[NRD] == before + 5 * M
