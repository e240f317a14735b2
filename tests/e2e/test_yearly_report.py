"""The yearly report through the running system: the Word document (GET /api/v1/plans/{id}/report.docx) opened
with python-docx, its target table and money figures equal to the API's own answers (targets, funding) and to
the money this test recorded; the unit's own sections written, read back and printed; who has reported under
the province plan, on time or late after 30/11, the roll-up, the late-report metric, and unit scoping.

The stack is shared: this module's money and reports are Huyện An Minh (909) in 2021, which no other test uses."""

from __future__ import annotations

import io
import os
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import requests
from docx import Document
from openpyxl import load_workbook

DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
DISTRICT, YEAR = "909", 2021
STATION = "31021"  # Xã Thuận Hoà, An Minh


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="module")
def tokens(stack: Any) -> dict[str, str]:
    return {
        "finance": stack.token("finance"),
        "district": stack.token("finance", DISTRICT),
        "other_district": stack.token("finance", "903"),
        "viewer": stack.token("viewer"),
    }


def call(stack: Any, token: str, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, stack.url + path, headers=auth(token), timeout=60, **kw)


def ok(r: requests.Response, status: int = 200) -> Any:
    assert r.status_code == status, r.text
    return r.json()


@pytest.fixture(scope="module")
def money(stack: Any, tokens: dict[str, str]) -> None:
    fin = tokens["finance"]
    decision = {"decision_no": "21/QĐ-UBND", "decision_date": f"{YEAR}-03-01"}
    a = ok(
        call(
            stack,
            fin,
            "POST",
            "/api/v1/allocations",
            json={
                "plan_id": 1,
                "item_code": "II.3",
                "source": "provincial_budget",
                "fiscal_year": YEAR,
                "recipient_unit": DISTRICT,
                "amount": 480_000_000,
                **decision,
            },
        ),
        201,
    )
    b = ok(
        call(
            stack,
            fin,
            "POST",
            "/api/v1/allocations",
            json={
                "plan_id": 1,
                "item_code": "II.2.4",
                "source": "ntp_health_population",
                "fiscal_year": YEAR,
                "recipient_unit": DISTRICT,
                "amount": 130_000_000,
                **decision,
            },
        ),
        201,
    )
    for alloc, amount in ((a, 123_456_000), (b, 45_000_000)):
        ok(
            call(
                stack,
                fin,
                "POST",
                f"/api/v1/allocations/{alloc['id']}/disbursements",
                json={"amount": amount, "date": f"{YEAR}-08-01", "reference": f"UNC 909-{amount}"},
            ),
            201,
        )


@pytest.fixture(scope="module")
def project(stack: Any, tokens: dict[str, str]) -> dict[str, Any]:
    """A station project of An Minh with capital and a disbursement in the year (the investment stream)."""
    fin = tokens["finance"]
    body = {"station_code": STATION, "kind": "upgrade", "title": "Nâng cấp Trạm Y tế xã Thuận Hoà",
            "estimated_cost": 900_000_000, "plan_id": 1, "item_code": "II.5"}  # fmt: skip
    made = ok(call(stack, fin, "POST", "/api/v1/investment/projects", json=body), 201)
    capital = {"source": "provincial_budget", "fiscal_year": YEAR, "amount": 300_000_000,
               "decision_no": "55/QĐ-UBND", "decision_date": f"{YEAR}-04-01"}  # fmt: skip
    ok(call(stack, fin, "POST", f"/api/v1/investment/projects/{made['id']}/capital", json=capital), 201)
    paid = {"source": "provincial_budget", "amount": 120_000_000, "date": f"{YEAR}-09-15", "reference": "KB-909"}
    ok(call(stack, fin, "POST", f"/api/v1/investment/projects/{made['id']}/disbursements", json=paid), 201)
    return made


def digits(text: str) -> int:
    return int(re.sub(r"[^0-9]", "", text))


def test_word_report_equals_the_api_and_keeps_the_unit_sections(
    stack: Any, tokens: dict[str, str], money: None, project: dict[str, Any]
) -> None:
    district, viewer = tokens["district"], tokens["viewer"]
    path = f"/api/v1/units/{DISTRICT}/report-sections/{YEAR}"
    # The unit's own sections: empty, written, rewritten (a new version, the old one kept), read back.
    assert ok(call(stack, district, "GET", path))["history"] == []
    first = {"shortcomings": "Hai trạm chưa có bác sỹ.\nThiếu trang thiết bị.", "proposals": "Bổ sung biên chế."}
    assert ok(call(stack, district, "PUT", path, json=first))["created"] is True
    assert ok(call(stack, district, "PUT", path, json=first))["created"] is False  # the same text: no version
    second = {**first, "proposals": "Bổ sung 2 bác sỹ cho trạm y tế xã Đông Hưng."}
    ok(call(stack, district, "PUT", path, json=second))
    got = ok(call(stack, viewer, "GET", path))
    assert (got["shortcomings"], got["proposals"]) == (second["shortcomings"], second["proposals"])
    assert [v["proposals"] for v in got["history"]] == [second["proposals"], first["proposals"]]
    assert call(stack, tokens["other_district"], "PUT", path, json=first).status_code == 403
    assert call(stack, viewer, "PUT", path, json=first).status_code == 403

    r = call(stack, viewer, "GET", "/api/v1/plans/1/report.docx", params={"year": YEAR, "unit": DISTRICT})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"] == DOCX and ".docx" in r.headers["Content-Disposition"]
    if os.environ.get("YTCS_REPORT_DOCX"):  # kept for the docs' picture (docs/web.md), never needed by the test
        Path(os.environ["YTCS_REPORT_DOCX"]).write_bytes(r.content)
    doc = Document(io.BytesIO(r.content))
    text = "\n".join(p.text for p in doc.paragraphs)
    head = "\n".join(c.text for row in doc.tables[0].rows for c in row.cells)
    assert "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM" in head and "Độc lập - Tự do - Hạnh phúc" in head
    assert "TRUNG TÂM Y TẾ HUYỆN AN MINH" in head and "Số:" in head and "/BC-TTYT" in head
    assert f"V/v báo cáo kết quả thực hiện Kế hoạch 158/KH-UBND năm {YEAR}" in head
    assert re.search(r"An Minh, ngày \d\d tháng \d\d năm \d{4}", head)
    for line in ("Hai trạm chưa có bác sỹ.", "Thiếu trang thiết bị.", second["proposals"]):
        assert line in text
    assert first["proposals"] not in text  # only the current version is printed
    sign = "\n".join(c.text for c in doc.tables[-1].rows[0].cells)
    assert "GIÁM ĐỐC" in sign and "Nơi nhận:" in sign

    # Targets: one row per target of the API's answer, in its order, with its actual, ratio and verdict.
    targets = ok(call(stack, viewer, "GET", "/api/v1/plans/1/targets", params={"year": YEAR, "unit": DISTRICT}))
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:3] == ["STT", "Mục", "Chỉ tiêu"])
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(targets["items"]) > 0
    for row, want in zip(rows, targets["items"], strict=True):
        assert row[1] == want["item_code"] and row[2] == want["indicator"]
        assert row[4] == ("–" if want["actual"] is None else want["actual"].replace(".", ","))
        verdict = {True: "Đạt", False: "Không đạt", None: "Chưa có số liệu"}[want["met"]]
        assert row[6] == verdict
        if want["numerator"] is not None:
            assert row[5] == f"{want['numerator']}/{want['denominator']}"

    # Money: every item with money and every source under it equal the funding tree, and what was recorded.
    funding = ok(call(stack, viewer, "GET", "/api/v1/plans/1/funding", params={"year": YEAR, "unit": DISTRICT}))
    table = next(t for t in doc.tables if t.rows[0].cells[0].text == "Mã mục")
    printed: dict[tuple[str, str], tuple[int, int]] = {}
    code = ""
    for row in table.rows[1:]:
        cells = [c.text for c in row.cells]
        code = cells[0] or code
        key = (code if cells[1] != "TỔNG CỘNG" else "TOTAL", cells[2])
        printed[key] = (digits(cells[3]), digits(cells[4]))
    with_money = [i for i in funding["items"] if i["allocated"] or i["disbursed"]]
    assert {k[0] for k in printed} == {i["code"] for i in with_money} | {"TOTAL"}
    for item in with_money:
        assert printed[(item["code"], "Cộng các nguồn")] == (item["allocated"], item["disbursed"])
    assert printed[("TOTAL", "")] == (funding["total"]["allocated"], funding["total"]["disbursed"])
    assert printed[("II.3", "Cộng các nguồn")] == (480_000_000, 123_456_000)
    assert printed[("II.3", "Ngân sách tỉnh")] == (480_000_000, 123_456_000)
    assert printed[("II.2.4", "Cộng các nguồn")] == (130_000_000, 45_000_000)
    assert printed[("II.5", "Cộng các nguồn")] == (300_000_000, 120_000_000)  # the project's capital
    assert funding["total"]["allocated"] == 910_000_000 and funding["total"]["disbursed"] == 288_456_000

    # Station investment: the projects of the unit as the investment API lists them.
    listed = ok(call(stack, viewer, "GET", "/api/v1/investment/projects", params={"unit": DISTRICT}))["items"]
    table = next(t for t in doc.tables if [c.text for c in t.rows[0].cells][:3] == ["STT", "Trạm y tế", "Công trình"])
    rows = [[c.text for c in row.cells] for row in table.rows[1:]]
    assert len(rows) == len(listed) + 1 and any(r[2] == project["title"] for r in rows)
    for row, want in zip(rows, listed, strict=False):
        assert (row[2], digits(row[4]), digits(row[5])) == (want["title"], want["capital"], want["disbursed"])
    assert rows[-1][1] == "TỔNG CỘNG"
    assert (digits(rows[-1][4]), digits(rows[-1][5])) == (
        sum(p["capital"] for p in listed),
        sum(p["disbursed"] for p in listed),
    )
    assert any(t.rows[0].cells[0].text == "Quý" and len(t.rows) == 5 for t in doc.tables)  # BHYT, four quarters

    # The Excel workbook's targets sheet: the same rows as the API.
    xlsx = call(stack, viewer, "GET", "/api/v1/plans/1/report.xlsx", params={"year": YEAR, "unit": DISTRICT})
    assert xlsx.status_code == 200, xlsx.text
    ws = load_workbook(io.BytesIO(xlsx.content))["Chỉ tiêu"]
    sheet = [r for r in ws.iter_rows(values_only=True) if isinstance(r[0], int)]
    assert len(sheet) == len(targets["items"])
    for got, want in zip(sheet, targets["items"], strict=True):
        assert (got[1], got[2]) == (want["item_code"], want["indicator"])
        assert got[4] == (None if want["actual"] is None else Decimal(want["actual"]))
        assert (got[5], got[6]) == (want["numerator"], want["denominator"])
        assert got[7] == {True: "Đạt", False: "Không đạt", None: "Chưa có số liệu"}[want["met"]]

    # A district user is held to their own district's report.
    r = call(
        stack, tokens["other_district"], "GET", "/api/v1/plans/1/report.docx", params={"year": YEAR, "unit": DISTRICT}
    )
    assert r.status_code == 403


def test_who_has_reported_and_who_is_late(
    stack: Any, tokens: dict[str, str], money: None, project: dict[str, Any]
) -> None:
    fin, district = tokens["finance"], tokens["district"]
    before = ok(call(stack, fin, "GET", "/api/v1/plans/1/reports", params={"year": YEAR}))
    assert before["deadline"] == f"{YEAR}-11-30"
    assert before["rollup"]["expected"] == 15 and before["rollup"]["reported"] == 0
    assert before["rollup"]["overdue"] == 15  # 30/11/2021 has passed: every missing report is late

    on_time = {
        "unit": DISTRICT,
        "year": YEAR,
        "submitted_on": f"{YEAR}-11-30",
        "document": "88/BC-TTYT",
        "file_name": "bao-cao-2021.pdf",
    }
    late = {"unit": "903", "year": YEAR, "submitted_on": f"{YEAR}-12-01", "document": "12/BC-TTYT"}
    sub = ok(call(stack, district, "POST", "/api/v1/plans/1/reports", json=on_time), 201)
    assert sub["late"] is False and sub["file_name"] == "bao-cao-2021.pdf"
    # A district may only report for itself; a viewer not at all; a commune is not a reporting unit of plan 158.
    assert call(stack, district, "POST", "/api/v1/plans/1/reports", json=late).status_code == 403
    assert call(stack, tokens["viewer"], "POST", "/api/v1/plans/1/reports", json=late).status_code == 403
    bad = call(stack, fin, "POST", "/api/v1/plans/1/reports", json={**late, "unit": "31108"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["code"] == "not_reporting_unit"
    assert ok(call(stack, tokens["other_district"], "POST", "/api/v1/plans/1/reports", json=late), 201)["late"] is True
    future = call(stack, fin, "POST", "/api/v1/plans/1/reports", json={**late, "submitted_on": "2099-01-01"})
    assert future.status_code == 422

    after = ok(call(stack, fin, "GET", "/api/v1/plans/1/reports", params={"year": YEAR}))
    by_unit = {u["unit"]: u for u in after["units"]}
    assert by_unit[DISTRICT]["status"] == "on_time" and by_unit[DISTRICT]["submission"]["document"] == "88/BC-TTYT"
    assert by_unit["903"]["status"] == "late" and by_unit["903"]["late"] is True
    assert by_unit["910"]["status"] == "overdue" and by_unit["910"]["submission"] is None
    # The roll-up's money: An Minh's year (the allocations and the project above), reported; Hòn Đất none.
    assert by_unit[DISTRICT]["money"] == {"allocated": 910_000_000, "disbursed": 288_456_000}
    money = after["rollup"].pop("money")
    assert money["reported_allocated"] == 910_000_000 + by_unit["903"]["money"]["allocated"]
    assert money["allocated"] == sum(u["money"]["allocated"] for u in after["units"])
    assert after["rollup"] == {
        "expected": 15,
        "reported": 2,
        "on_time": 1,
        "late": 1,
        "overdue": 13,
        "pending": 0,
        "late_total": 14,
    }
    # A district user sees its own district only.
    mine = ok(call(stack, district, "GET", "/api/v1/plans/1/reports", params={"year": YEAR}))
    assert [u["unit"] for u in mine["units"]] == [DISTRICT]
    assert mine["rollup"]["money"]["reported_allocated"] == 910_000_000

    metrics = requests.get(stack.url + "/metrics", timeout=30).text
    line = next(
        m
        for m in metrics.splitlines()
        if m.startswith("ytcs_yearly_reports_late{") and 'year="2021"' in m and "158/KH-UBND" in m
    )
    assert float(line.rsplit(" ", 1)[1]) == 14


def test_pages_record_a_submission_and_the_unit_sections(stack: Any) -> None:
    """A district officer (Vĩnh Thuận, plan 34/KH-UBND) writes the sections and records the report sent, on
    the pages (cookie session, CSRF); the plan page shows it and links the Word document."""
    password = "mat-khau-bao-cao-2021"
    stack.ytcs(
        "user", "create", "--username", "yearly-910", "--role", "finance", "--unit", "910", stdin=password + "\n"
    )
    http = requests.Session()
    http.headers.update({"Accept": "text/html"})
    csrf = re.compile(r'name="csrf_token" value="([^"]+)"')

    def get(path: str) -> requests.Response:
        r = http.get(stack.url + path, timeout=60)
        assert r.status_code == 200, r.text[:500]
        return r

    def post(path: str, data: dict[str, str], token: str) -> requests.Response:
        return http.post(stack.url + path, data={**data, "csrf_token": token}, timeout=60, allow_redirects=False)

    token = csrf.search(get("/login").text).group(1)
    assert post("/login", {"username": "yearly-910", "password": password, "next": "/"}, token).status_code == 303

    page = get(f"/reports/sections?unit=910&year={YEAR}")
    assert "Tồn tại, hạn chế" in page.text and "Kiến nghị, đề xuất" in page.text
    r = post(
        "/reports/sections",
        {
            "unit": "910",
            "year": str(YEAR),
            "shortcomings": "Trạm Vĩnh Bình Bắc xuống cấp.",
            "proposals": "Nâng cấp trạm.",
        },
        csrf.search(page.text).group(1),
    )
    assert r.status_code == 303, r.text[:500]
    page = get(r.headers["Location"])
    assert "Trạm Vĩnh Bình Bắc xuống cấp." in page.text and "sections-history" in page.text
    # Another district's sections are out of reach.
    assert http.get(stack.url + f"/reports/sections?unit=903&year={YEAR}", timeout=60).status_code == 403

    page = get(f"/reports?plan=2&year={YEAR}")  # plan 34/KH-UBND: the district health centre reports
    assert 'id="unit-910"' in page.text and "Quá hạn, chưa gửi" in page.text
    token = csrf.search(page.text).group(1)
    refused = post("/reports/submissions", {"plan_id": "2", "year": str(YEAR), "unit": "910", "document": "x"}, token)
    assert refused.status_code == 422 and "Ngày gửi" in refused.text  # the form again, naming the missing date
    r = post(
        "/reports/submissions",
        {
            "plan_id": "2",
            "year": str(YEAR),
            "unit": "910",
            "submitted_on": f"{YEAR}-11-29",
            "document": "41/BC-TTYT",
            "file_name": "bc-34-2021.docx",
        },
        token,
    )
    assert r.status_code == 303, r.text[:500]
    page = get(r.headers["Location"])
    assert "41/BC-TTYT" in page.text and "bc-34-2021.docx" in page.text and "Đúng hạn" in page.text
    assert f"/api/v1/plans/2/report.docx?year={YEAR}&amp;unit=910" in page.text
    # The Word document of the district plan carries the sections typed on the page.
    docx = http.get(stack.url + f"/api/v1/plans/2/report.docx?year={YEAR}&unit=910", timeout=60)
    assert docx.status_code == 200, docx.text[:500]
    text = "\n".join(p.text for p in Document(io.BytesIO(docx.content)).paragraphs)
    assert "Trạm Vĩnh Bình Bắc xuống cấp." in text and "Nâng cấp trạm." in text
