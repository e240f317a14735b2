"""The year end still to decide, end to end, as it stands after the 2025 merger: an allocation of 2023 to Phường
An Bình (30751), which became part of Phường Rạch Giá (30742) on 01/7/2025, still holds money no carry-over or
close has decided. `GET /api/v1/allocations?year_end_due=true` lists it with the sum; the home page of a Rạch Giá
finance officer says so with a link to that list; Rạch Giá's station page lists it; the officer opens the
allocation (the merged ward's records are Rạch Giá's now, docs/domain.md §7) and closes it from its page, and the
notice is gone. An officer of another commune may not open it.

The stack is shared: no other module uses Rạch Giá or its wards, so the counts are this module's own."""

from __future__ import annotations

import uuid

import pytest

from tests.e2e.test_finance_api import Api, created
from tests.e2e.test_web_pages import Browser

M = 1_000_000
WARD, MERGED_INTO = "30751", "30742"
PASSWORD = "mật-khẩu-đủ-dài-year-end-due"


@pytest.fixture(scope="module")
def finance(stack) -> Api:
    return Api(stack, stack.token("finance"))


def person(stack, name: str, role: str, unit: str = MERGED_INTO) -> Browser:
    stack.ytcs("user", "create", "--username", name, "--role", role, "--unit", unit, stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name, PASSWORD)
    return b


def notice(page: str) -> str | None:
    start = page.find('id="year-end-due"')
    return page[start : page.find("</p>", start)] if start >= 0 else None


def test_the_year_end_still_to_decide_is_listed_told_and_settled_by_the_successor(stack, finance):
    decision = f"{uuid.uuid4().hex[:6]}/QĐ-UBND"
    a = created(finance.post("/api/v1/allocations", {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2023, "recipient_unit": WARD,
        "amount": 60 * M, "decision_no": decision, "decision_date": "2023-02-10",
    }))  # fmt: skip
    created(finance.post(f"/api/v1/allocations/{a['id']}/disbursements", {"amount": 10 * M, "date": "2023-05-02"}))

    # 60 given, 10 paid in 2023, nothing decided: 50 still to carry over or close, now Rạch Giá's to decide.
    r = finance.get("/api/v1/allocations", year_end_due="true", unit=MERGED_INTO)
    assert r.status_code == 200, r.text
    assert [(i["id"], i["recipient_unit"], i["remaining"]) for i in r.json()["items"]] == [(a["id"], WARD, 50 * M)]
    assert (r.json()["total"], r.json()["remaining_total"]) == (1, 50 * M)

    officer = person(stack, "ye-due-ketoan", "finance")
    told = notice(officer.get("/").text)
    assert told is not None and "1 khoản phân bổ" in told and "Phường Rạch Giá" in told and "50.000.000" in told
    listed = officer.get(f"/allocations?year_end=1&unit={MERGED_INTO}")
    assert listed.status_code == 200 and f'href="/allocations/{a["id"]}"' in listed.text
    assert 'id="year-end-total"' in listed.text and "50.000.000" in listed.text
    assert 'id="year-end-filter" checked' in listed.text
    # Found by its decision's number too, on the page and in the API.
    found = officer.get("/allocations", params={"decision_no": f" {decision} "})
    assert f'href="/allocations/{a["id"]}"' in found.text and f'value="{decision}"' in found.text
    assert [i["id"] for i in finance.get("/api/v1/allocations", decision_no=decision).json()["items"]] == [a["id"]]
    # A viewer of the same ward records nothing at the year end: no notice. An officer of Xã Vĩnh Bình, which
    # An Bình did not join, may not open the allocation.
    assert notice(person(stack, "ye-due-xem", "viewer").get("/").text) is None
    assert person(stack, "ye-due-khac", "finance", "31064").get(f"/allocations/{a['id']}").status_code == 403

    # Rạch Giá's station page lists the merged ward's allocation in its history, marked with the ward's code.
    station = officer.get(f"/stations/{MERGED_INTO}")
    assert station.status_code == 200 and 'id="merged-allocations"' in station.text
    assert f'{a["id"]}</a> <small class="muted merged">← {WARD}</small>' in station.text

    # The Rạch Giá officer closes the 50 from the allocation's page: decided, so neither listed nor told.
    page = officer.get(f"/allocations/{a['id']}")
    assert page.status_code == 200 and 'id="close-form"' in page.text
    form = {"amount": "50.000.000", "date": "2024-01-10", "decision_no": "7/QĐ-UBND", "decision_date": "2024-01-10"}
    r = officer.post(f"/allocations/{a['id']}/close", form)
    assert r.status_code == 303, r.text[:500]
    assert finance.get(f"/api/v1/allocations/{a['id']}").json()["closed"] == 50 * M
    after = finance.get("/api/v1/allocations", year_end_due="true", unit=MERGED_INTO).json()
    assert (after["items"], after["total"], after["remaining_total"]) == ([], 0, 0)
    assert notice(officer.get("/").text) is None
