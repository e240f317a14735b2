"""Funding status through the running system: finance allocations and investment capital joined source by
source, the district plan rolled into the province plan, the tree in one call, unit scoping, BHYT capitation
figures beside item II.4, and the plan's targets next to the money.

The stack is shared by every e2e test: this one writes its own money (fiscal year 2023, district Vĩnh Thuận)
and compares what changed."""

from __future__ import annotations

import time
import uuid

import pytest
import requests

from tests.support.facilities import fresh_facility

M = 1_000_000
YEAR = 2023


class Api:
    def __init__(self, stack, token: str) -> None:
        self.base, self.headers = stack.url, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params):
        r = requests.get(self.base + path, headers=self.headers, params=params, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict) -> dict:
        r = requests.post(self.base + path, json=body, headers=self.headers, timeout=30)
        assert r.status_code == 201, r.text
        return r.json()


@pytest.fixture(scope="module")
def apis(stack):
    return {
        "finance": Api(stack, stack.token("finance")),
        "admin": Api(stack, stack.token("admin")),
        "viewer": Api(stack, stack.token("viewer")),
        "viewer_910": Api(stack, stack.token("viewer", "910")),
    }


def _decision() -> dict:
    return {"decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND", "decision_date": f"{YEAR}-02-10"}


def _pair(body: dict, source: str) -> tuple[int, int]:
    got = body["by_source"].get(source, {"allocated": 0, "disbursed": 0})
    return got["allocated"], got["disbursed"]


def _delta(after: dict, before: dict) -> tuple[int, int]:
    return after["allocated"] - before["allocated"], after["disbursed"] - before["disbursed"]


def test_funding_joins_finance_and_investment_and_rolls_the_district_into_the_province(apis):
    fin, viewer, scoped = apis["finance"], apis["viewer"], apis["viewer_910"]
    item = "/api/v1/plans/{plan}/items/II.5/funding"

    def snapshot():
        return {
            "p1": viewer.get(item.format(plan=1), year=YEAR),
            "p2": viewer.get(item.format(plan=2), year=YEAR),
            "p1_II": viewer.get("/api/v1/plans/1/items/II/funding", year=YEAR),
            "tree": viewer.get("/api/v1/plans/1/funding", year=YEAR),
            "p1_910": scoped.get(item.format(plan=1), year=YEAR),
        }

    before = snapshot()
    # Finance: the province's own allocation, and the district's (plan 34/KH-UBND), each partly paid out.
    province = fin.post(
        "/api/v1/allocations",
        {
            "plan_id": 1,
            "item_code": "II.5",
            "source": "provincial_budget",
            "fiscal_year": YEAR,
            "recipient_unit": "91",
            "amount": 500 * M,
            **_decision(),
        },
    )
    fin.post(
        f"/api/v1/allocations/{province['id']}/disbursements",
        {"amount": 200 * M, "date": f"{YEAR}-05-02", "reference": "UNC 1"},
    )
    district = fin.post(
        "/api/v1/allocations",
        {
            "plan_id": 2,
            "item_code": "II.5",
            "source": "ntp_health_population",
            "fiscal_year": YEAR,
            "recipient_unit": "910",
            "amount": 300 * M,
            **_decision(),
        },
    )
    fin.post(
        f"/api/v1/allocations/{district['id']}/disbursements",
        {"amount": 120 * M, "date": f"{YEAR}-06-02", "reference": "UNC 2"},
    )
    # Investment: a station project of the district plan with capital from the NRD programme, partly paid.
    project = fin.post(
        "/api/v1/investment/projects",
        {
            "station_code": "31064",
            "kind": "upgrade",
            "title": f"Nâng cấp Trạm Y tế {uuid.uuid4().hex[:6]}",
            "estimated_cost": 2_000 * M,
            "plan_id": 2,
            "item_code": "II.5",
        },
    )
    fin.post(
        f"/api/v1/investment/projects/{project['id']}/capital",
        {"source": "ntp_nrd", "fiscal_year": YEAR, "amount": 800 * M, **_decision()},
    )
    fin.post(
        f"/api/v1/investment/projects/{project['id']}/disbursements",
        {"source": "ntp_nrd", "amount": 300 * M, "date": f"{YEAR}-09-15", "reference": "KB 3"},
    )
    after = snapshot()

    for body in after.values():
        assert body["partial"] is False and set(body["parts"].values()) <= {"ok", "not_applicable"}, body
    # The district plan: its own allocation + the project's capital, source by source.
    assert _delta(after["p2"], before["p2"]) == (1_100 * M, 420 * M)
    assert _pair(after["p2"], "ntp_nrd")[0] - _pair(before["p2"], "ntp_nrd")[0] == 800 * M
    assert _pair(after["p2"], "ntp_health_population")[1] - _pair(before["p2"], "ntp_health_population")[1] == 120 * M
    assert (
        after["p2"]["streams"]["investment"]["allocated"] - before["p2"]["streams"]["investment"]["allocated"]
    ) == 800 * M
    # The province plan includes the district plan's item, each đồng once.
    assert _delta(after["p1"], before["p1"]) == (1_600 * M, 620 * M)
    assert _delta(after["p1_II"], before["p1_II"]) == (1_600 * M, 620 * M)
    year_key = str(YEAR)
    assert (
        after["p1"]["by_year"][year_key]["allocated"]
        - before["p1"]["by_year"].get(year_key, {"allocated": 0})["allocated"]
    ) == 1_600 * M
    # The tree says the same in one call, and its total adds the top-level items.
    rows_before = {r["code"]: r for r in before["tree"]["items"]}
    rows_after = {r["code"]: r for r in after["tree"]["items"]}
    assert _delta(rows_after["II.5"], rows_before["II.5"]) == (1_600 * M, 620 * M)
    assert _delta(after["tree"]["total"], before["tree"]["total"]) == (1_600 * M, 620 * M)
    assert rows_after["II.5"]["allocated"] == after["p1"]["allocated"]
    # A Vĩnh Thuận user sees Vĩnh Thuận's money only (not the province's own 500 M).
    assert after["p1_910"]["unit"] == "910"
    assert _delta(after["p1_910"], before["p1_910"]) == (1_100 * M, 420 * M)


def test_item_II4_carries_bhyt_capitation_beside_the_money(apis):
    admin, fin, viewer = apis["admin"], apis["finance"], apis["viewer"]
    code = None
    for _ in range(20):  # a facility code of this test's own
        candidate = fresh_facility()
        r = requests.post(
            admin.base + "/api/v1/facilities",
            headers=admin.headers,
            timeout=30,
            json={"code": candidate, "name": "Trạm Y tế thử nghiệm", "unit": "31069"},
        )
        if r.status_code == 201:
            code = candidate
            break
    assert code is not None
    before = viewer.get("/api/v1/plans/2/items/II.4/funding", year=YEAR)
    assert before["parts"]["claims"] == "ok" and before["bhyt"]["unit"] == "910"
    fund = fin.post(
        "/api/v1/capitation/funds",
        {"facility_code": code, "period": f"{YEAR}-Q2", "cards": 1000, "rate_per_card": 45_000, "coefficient": "1.00"},
    )
    assert int(str(fund["fund"]).split(".")[0]) == 45 * M
    deadline = time.monotonic() + 30
    while True:  # finance → event → claims' projection
        after = viewer.get("/api/v1/plans/2/items/II.4/funding", year=YEAR)
        grown = float(after["bhyt"]["fund"]) - float(before["bhyt"]["fund"])
        if grown == 45 * M or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert grown == 45 * M
    assert after["bhyt"]["facilities"] >= 1 and after["bhyt"]["facilities"] == before["bhyt"]["facilities"]
    # Capitation is shown beside the plan's money, never added into it.
    assert after["allocated"] == before["allocated"] and after["disbursed"] == before["disbursed"]
    tree = viewer.get("/api/v1/plans/2/funding", year=YEAR)
    rows = {r["code"]: r for r in tree["items"]}
    assert rows["II.4"]["bhyt"] == after["bhyt"] and rows["II"]["bhyt"] == after["bhyt"]
    assert rows["II.5"]["bhyt"] is None


def test_targets_next_to_money(apis):
    # A year nobody reports indicator facts for in the e2e tests (test_indicators.py measures 2024 and 2025).
    body = apis["viewer"].get("/api/v1/plans/2/targets", year=YEAR)
    assert body["partial"] is False
    rows = {(r["item_code"], r["key"]): r for r in body["items"]}
    eligible = rows[("I.2.b", "stations_bhyt_eligible")]
    assert eligible["target"] == 100 and eligible["source"] == "register"
    assert eligible["actual"] is not None and eligible["denominator"] >= 1
    assert eligible["money"]["items"] == ["II.5"]
    funded = apis["viewer"].get("/api/v1/plans/2/items/II.5/funding")
    assert eligible["money"]["allocated"] <= funded["allocated"]  # the target's year only vs all years
    doctors = rows[("I.2.b", "doctors_family_medicine_trained")]
    assert doctors["actual"] is None and doctors["source"] is None and doctors["money"]["items"] == ["II.3"]


def test_a_scoped_user_cannot_ask_about_another_district(apis):
    r = requests.get(
        apis["viewer_910"].base + "/api/v1/plans/1/funding",
        params={"unit": "899"},
        headers=apis["viewer_910"].headers,
        timeout=30,
    )
    assert r.status_code == 403 and r.json()["errors"][0]["code"] == "unit_forbidden"
