"""The year end still to decide, end to end: an ended year's allocation holding money no carry-over or close has
decided is listed by `GET /api/v1/allocations?year_end_due=true` with the sum, the home page of a person who records
the year end says so with a link to that list, and once the money is decided the notice is gone.

The stack is shared: this module's money goes to 30742 (Phường Vĩnh Bảo in 2023, Phường Rạch Giá since 07/2025),
which no other module uses, and its people are bound to that ward, so the counts are this module's own."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_finance_api import Api, created
from tests.e2e.test_web_pages import Browser

M = 1_000_000
UNIT = "30742"
PASSWORD = "mật-khẩu-đủ-dài-year-end-due"


@pytest.fixture(scope="module")
def finance(stack) -> Api:
    return Api(stack, stack.token("finance"))


def person(stack, name: str, role: str) -> Browser:
    stack.ytcs("user", "create", "--username", name, "--role", role, "--unit", UNIT, stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name, PASSWORD)
    return b


def notice(page: str) -> str | None:
    start = page.find('id="year-end-due"')
    return page[start : page.find("</p>", start)] if start >= 0 else None


def test_the_year_end_still_to_decide_is_listed_and_told(stack, finance):
    a = created(finance.post("/api/v1/allocations", {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2023, "recipient_unit": UNIT,
        "amount": 60 * M, "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND", "decision_date": "2023-02-10",
    }))  # fmt: skip
    created(finance.post(f"/api/v1/allocations/{a['id']}/disbursements", {"amount": 10 * M, "date": "2023-05-02"}))

    # 60 given, 10 paid in 2023, nothing decided: 50 still to carry over or close.
    r = finance.get("/api/v1/allocations", year_end_due="true", unit=UNIT)
    assert r.status_code == 200, r.text
    assert [(i["id"], i["remaining"]) for i in r.json()["items"]] == [(a["id"], 50 * M)]
    assert (r.json()["total"], r.json()["remaining_total"]) == (1, 50 * M)

    officer = person(stack, "ye-due-ketoan", "finance")
    told = notice(officer.get("/").text)
    assert told is not None and "1 khoản phân bổ" in told and "50.000.000" in told, told
    listed = officer.get(f"/allocations?year_end=1&unit={UNIT}")
    assert listed.status_code == 200 and f'href="/allocations/{a["id"]}"' in listed.text
    assert 'id="year-end-total"' in listed.text and "50.000.000" in listed.text
    assert 'id="year-end-filter" checked' in listed.text
    # A viewer of the same ward records nothing at the year end: no notice.
    assert notice(person(stack, "ye-due-xem", "viewer").get("/").text) is None

    # Closed: decided, so neither listed nor told.
    created(finance.post(f"/api/v1/allocations/{a['id']}/close", {
        "amount": 50 * M, "date": "2024-01-10", "decision_no": "7/QĐ-STC", "decision_date": "2024-01-10",
    }))  # fmt: skip
    after = finance.get("/api/v1/allocations", year_end_due="true", unit=UNIT).json()
    assert (after["items"], after["total"], after["remaining_total"]) == ([], 0, 0)
    assert notice(officer.get("/").text) is None
