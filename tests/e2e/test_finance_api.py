"""The finance endpoints end to end, through the HTTP gateway of the running system (`stack`).

The stack is shared by every e2e test: each test makes its own allocations and compares what changed.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
import requests

from services.common import clock
from tests.support.facilities import fresh_facility

M = 1_000_000


class Api:
    def __init__(self, stack, token: str) -> None:
        self.base, self.headers = stack.url, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params):
        return requests.get(self.base + path, headers=self.headers, params=params, timeout=30)

    def post(self, path: str, body, key: str | None = None, raw: str | None = None):
        headers = dict(self.headers)
        if key:
            headers["Idempotency-Key"] = key
        if raw is not None:
            headers["Content-Type"] = "application/json"
            return requests.post(self.base + path, data=raw, headers=headers, timeout=30)
        return requests.post(self.base + path, json=body, headers=headers, timeout=30)


@pytest.fixture(scope="module")
def finance(stack) -> Api:
    return Api(stack, stack.token("finance"))


@pytest.fixture(scope="module")
def bhxh(stack) -> Api:
    return Api(stack, stack.token("bhxh"))


def allocation(**overrides) -> dict:
    body = {
        "plan_id": 1,
        "item_code": "II.5",
        "source": "provincial_budget",
        "fiscal_year": 2022,
        "recipient_unit": "91",
        "amount": 900 * M,
        "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND",
        "decision_date": "2022-02-10",
    }
    return body | overrides


def created(r) -> dict:
    assert r.status_code == 201, r.text
    return r.json()


def refused(r, code: str, status: int = 422) -> dict:
    assert r.status_code == status, r.text
    err = r.json()["errors"][0]
    assert err["code"] == code, r.json()
    assert err["message"] and any(ch in err["message"] for ch in "ăâđêôơưạảấầẩậắằẳặẹẻẽếềểệỉịọỏốồổộớờởợụủứừửựỳỵỷỹ")
    return err


def test_allocations_three_levels_deep_with_disbursements_reversal_and_adjustments(finance):
    before = finance.get("/api/v1/units/31072/funding", year=2022).json()
    root = created(finance.post("/api/v1/allocations", allocation()))
    assert (root["allocated"], root["remaining"], root["parent_allocation_id"]) == (900 * M, 900 * M, None)
    district = created(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": root["id"],
                "recipient_unit": "910",
                "amount": 500 * M,
                "decision_no": "12/QĐ-UBND",
                "decision_date": "2022-03-01",
            },
        )
    )
    assert (district["plan_id"], district["item_code"], district["source"]) == (2, "II.5", "provincial_budget")
    station = created(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": district["id"],
                "recipient_unit": "31072",
                "amount": 300 * M,
                "decision_no": "5/QĐ-UBND",
                "decision_date": "2022-03-15",
            },
        )
    )
    # Vĩnh Thuận has 200 triệu left of its 500: a further 201 triệu is refused.
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": district["id"],
                "recipient_unit": "31074",
                "amount": 201 * M,
                "decision_no": "6/QĐ-UBND",
                "decision_date": "2022-03-15",
            },
        ),
        "exceeds_parent",
    )

    paid = created(
        finance.post(
            f"/api/v1/allocations/{station['id']}/disbursements",
            {"amount": 250 * M, "date": "2022-05-01", "reference": "UNC 01"},
        )
    )
    assert paid["allocation"]["remaining"] == 50 * M
    refused(
        finance.post(
            f"/api/v1/allocations/{station['id']}/disbursements",
            {"amount": 50 * M + 1, "date": "2022-05-02", "reference": "UNC 02"},
        ),
        "exceeds_allocation",
    )
    back = created(
        finance.post(
            f"/api/v1/disbursements/{paid['id']}/reversals",
            {"amount": 100 * M, "date": "2022-05-03", "reference": "hủy một phần UNC 01"},
        )
    )
    assert (back["amount"], back["reverses_id"], back["allocation"]["disbursed"]) == (-100 * M, paid["id"], 150 * M)
    refused(
        finance.post(f"/api/v1/disbursements/{paid['id']}/reversals", {"amount": 150 * M + 1, "date": "2022-05-04"}),
        "exceeds_disbursement",
    )

    up = created(
        finance.post(
            f"/api/v1/allocations/{station['id']}/adjustments",
            {"amount": 150 * M, "decision_no": "7/QĐ-UBND", "decision_date": "2022-06-01"},
        )
    )
    assert up["allocation"]["allocated"] == 450 * M
    refused(
        finance.post(
            f"/api/v1/allocations/{district['id']}/adjustments",
            {"amount": -(50 * M + 1), "decision_no": "8", "decision_date": "2022-06-02"},
        ),
        "below_used",
    )
    refused(
        finance.post(
            f"/api/v1/allocations/{station['id']}/adjustments",
            {"amount": 50 * M + 1, "decision_no": "9", "decision_date": "2022-06-02"},
        ),
        "exceeds_parent",
    )

    history = finance.get(f"/api/v1/allocations/{district['id']}").json()
    assert [c["id"] for c in history["sub_allocations"]] == [station["id"]]
    assert (history["allocated"], history["sub_allocated"], history["remaining"]) == (500 * M, 450 * M, 50 * M)
    station_view = finance.get(f"/api/v1/allocations/{station['id']}").json()
    assert [d["amount"] for d in station_view["disbursements"]] == [250 * M, -100 * M]
    assert [a["amount"] for a in station_view["adjustments"]] == [150 * M]

    after = finance.get("/api/v1/units/31072/funding", year=2022).json()
    got = after["by_source"]["provincial_budget"]
    had = before["by_source"].get("provincial_budget", {"allocated": 0, "disbursed": 0})
    assert (got["allocated"] - had["allocated"], got["disbursed"] - had["disbursed"]) == (450 * M, 150 * M)

    listed = finance.get("/api/v1/allocations", parent_id=district["id"]).json()
    assert listed["total"] == 1 and listed["items"][0]["disbursed"] == 150 * M


@pytest.mark.parametrize(
    ("overrides", "code", "field"),
    [
        ({"plan_id": 99}, "unknown_plan", "plan_id"),
        ({"item_code": "IX.9"}, "unknown_item", "item_code"),
        ({"source": "lottery"}, "unknown_source", "source"),
        ({"recipient_unit": "99999"}, "unknown_unit", "recipient_unit"),
        ({"amount": 0}, "amount_not_positive", "amount"),
        ({"amount": -5}, "amount_not_positive", "amount"),
        ({"fiscal_year": 2017}, "year_outside_plan", "fiscal_year"),
        ({"plan_id": 2, "fiscal_year": 2018, "recipient_unit": "910"}, "year_outside_plan", "fiscal_year"),
        ({"plan_id": 2, "recipient_unit": "899"}, "recipient_outside_plan", "recipient_unit"),
        ({"source": "bhyt_surplus_20", "fiscal_year": 2021, "use": "equipment"}, "fund_year_required", "fund_year"),
        (
            {"source": "bhyt_surplus_20", "fiscal_year": 2022, "fund_year": 2021, "use": "equipment"},
            "surplus_source_closed",
            "fund_year",
        ),
        (
            {"source": "bhyt_surplus_20", "fiscal_year": 2020, "fund_year": 2020, "use": "equipment"},
            "fund_year_not_before_fiscal_year",
            "fiscal_year",
        ),
        ({"source": "bhyt_surplus_20", "fiscal_year": 2021, "fund_year": 2020}, "surplus_use_required", "use"),
        ({"decision_no": " "}, "invalid_decision", "decision_no"),
        ({"decision_date": (clock.today() + timedelta(days=3)).isoformat()}, "invalid_decision", "decision_date"),
        ({"kind": "package_payment", "source": "bhyt_fund"}, "source_not_allowed_for_kind", "source"),
    ],
)
def test_allocation_refusals_have_named_codes(finance, overrides, code, field):
    err = refused(finance.post("/api/v1/allocations", allocation(**overrides)), code)
    assert err["field"] == field


def test_surplus_of_fund_year_2020_and_package_payments_are_accepted(finance):
    surplus = created(
        finance.post(
            "/api/v1/allocations",
            allocation(source="bhyt_surplus_20", fiscal_year=2021, fund_year=2020, use="equipment", item_code="II.5"),
        )
    )
    assert (surplus["source"], surplus["fund_year"], surplus["use"]) == ("bhyt_surplus_20", 2020, "equipment")
    passed = created(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": surplus["id"],
                "recipient_unit": "910",
                "amount": 1,
                "decision_no": "kd 1",
                "decision_date": "2021-04-01",
            },
        )
    )
    assert (passed["fund_year"], passed["plan_id"], passed["fiscal_year"]) == (2020, 2, 2021)
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": surplus["id"],
                "recipient_unit": "910",
                "amount": 1,
                "fund_year": 2019,
                "decision_no": "kd 2",
                "decision_date": "2021-04-01",
            },
        ),
        "sub_allocation_mismatch",
    )
    package = created(
        finance.post(
            "/api/v1/allocations",
            allocation(
                kind="package_payment", source="ntp_health_population", item_code="II.2.4", recipient_unit="910"
            ),
        )
    )
    assert package["kind"] == "package_payment"
    sub = created(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": package["id"],
                "recipient_unit": "31060",
                "amount": 100 * M,
                "decision_no": "khoán 1",
                "decision_date": "2022-04-01",
            },
        )
    )
    assert sub["kind"] == "package_payment"
    listed = finance.get("/api/v1/allocations", kind="package_payment", item_code="II.2").json()
    assert {package["id"], sub["id"]} <= {a["id"] for a in listed["items"]}


def test_sub_allocation_must_keep_source_and_go_below(finance):
    root = created(finance.post("/api/v1/allocations", allocation(recipient_unit="910")))
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": root["id"],
                "recipient_unit": "31060",
                "amount": 1,
                "source": "other",
                "decision_no": "1",
                "decision_date": "2022-03-01",
            },
        ),
        "sub_allocation_mismatch",
    )
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": root["id"],
                "recipient_unit": "899",
                "amount": 1,
                "decision_no": "1",
                "decision_date": "2022-03-01",
            },
        ),
        "not_below_parent",
    )
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": root["id"],
                "recipient_unit": "910",
                "amount": 1,
                "decision_no": "1",
                "decision_date": "2022-03-01",
            },
        ),
        "not_below_parent",
    )
    refused(
        finance.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": 10**9,
                "recipient_unit": "31060",
                "amount": 1,
                "decision_no": "1",
                "decision_date": "2022-03-01",
            },
        ),
        "unknown_allocation",
    )


def test_bad_bodies_are_422_never_500(finance):
    refused(finance.post("/api/v1/allocations", allocation(amount=1.5)), "invalid")
    r = finance.post("/api/v1/allocations", {"amount": 5})
    assert r.status_code == 422 and {e["code"] for e in r.json()["errors"]} == {"required"}
    refused(
        finance.post("/api/v1/allocations/999999999/disbursements", {"amount": 1, "date": "2022-01-01"}),
        "unknown_allocation",
        404,
    )


def test_a_whole_amount_written_with_a_point_is_that_amount_and_a_fraction_is_refused(finance):
    """JSON 148670257.0 (a spreadsheet's or pandas' whole number) is 148,670,257 đ, read as the exact decimal
    it spells; 148670257.5 is half a đồng too many; 1e1000000 is refused before any field turns it into an
    integer (that would take the worker tens of seconds)."""

    def written(amount: str) -> str:
        text = json.dumps(allocation()).replace(f'"amount": {900 * M}', f'"amount": {amount}')
        assert f'"amount": {amount}' in text
        return text

    made = created(finance.post("/api/v1/allocations", None, raw=written("148670257.0")))
    assert made["amount"] == 148_670_257
    assert finance.get(f"/api/v1/allocations/{made['id']}").json()["amount"] == 148_670_257
    assert created(finance.post("/api/v1/allocations", None, raw=written("1.5e8")))["amount"] == 150_000_000

    err = refused(finance.post("/api/v1/allocations", None, raw=written("148670257.5")), "invalid")
    assert err["field"] == "amount" and "số nguyên đồng" in err["message"]
    refused(finance.post("/api/v1/allocations", None, raw=written("1e20")), "invalid")
    refused(finance.post("/api/v1/allocations", None, raw=written("1e1000000")), "out_of_range")


def test_idempotency_key_writes_once(finance):
    body, key = allocation(amount=7 * M), uuid.uuid4().hex
    first = created(finance.post("/api/v1/allocations", body, key=key))
    again = finance.post("/api/v1/allocations", body, key=key)
    assert again.status_code == 201 and again.json()["id"] == first["id"]
    same = [
        a
        for a in finance.get("/api/v1/allocations", item_code="II.5", year=2022, per_page=500).json()["items"]
        if a["decision_no"] == body["decision_no"]
    ]
    assert len(same) == 1


def test_roles_and_units(stack, finance):
    viewer = Api(stack, stack.token("viewer"))
    refused(viewer.post("/api/v1/allocations", allocation()), "forbidden", 403)
    district_clerk = Api(stack, stack.token("finance", unit="910"))
    refused(district_clerk.post("/api/v1/allocations", allocation(recipient_unit="899")), "unit_forbidden", 403)
    mine = created(district_clerk.post("/api/v1/allocations", allocation(plan_id=2, recipient_unit="31060")))
    province = created(finance.post("/api/v1/allocations", allocation()))
    refused(
        district_clerk.post(f"/api/v1/allocations/{province['id']}/disbursements", {"amount": 1, "date": "2022-05-01"}),
        "unit_forbidden",
        403,
    )
    refused(
        district_clerk.post(
            "/api/v1/allocations",
            {
                "parent_allocation_id": province["id"],
                "recipient_unit": "910",
                "amount": 1,
                "decision_no": "1",
                "decision_date": "2022-03-01",
            },
        ),
        "unit_forbidden",
        403,
    )
    refused(district_clerk.get(f"/api/v1/allocations/{province['id']}"), "unit_forbidden", 403)
    refused(district_clerk.get("/api/v1/units/899/funding"), "unit_forbidden", 403)
    seen = district_clerk.get("/api/v1/allocations", per_page=500).json()["items"]
    assert mine["id"] in {a["id"] for a in seen} and province["id"] not in {a["id"] for a in seen}
    assert all(a["recipient_unit"] == "910" or a["recipient_unit"].startswith("31") for a in seen)


# --------------------------------------------------------------------------- capitation


def test_capitation_fund_advance_settlement(finance, bhxh):
    fac = fresh_facility()
    fund = created(
        finance.post(
            "/api/v1/capitation/funds",
            {"facility_code": fac, "period": "2024-Q2", "cards": 1000, "rate_per_card": 12_345, "coefficient": "1.05"},
        )
    )
    assert fund["fund"] == 12_962_250  # 1000 × 12 345 × 1.05
    assert fund["inputs"]["coefficient"] == "1.05" and fund["inputs"]["cards"] == 1000
    # A JSON number is read exactly too (never through a float); half up to the đồng.
    again = created(
        finance.post(
            "/api/v1/capitation/funds",
            None,
            raw=(
                f'{{"facility_code": "{fac}", "period": "2024-Q2", "cards": 3, "rate_per_card": 5, "coefficient": 1.1}}'
            ),
        )
    )
    assert again["fund"] == 17 and again["supersedes_id"] == fund["id"]  # 16.5 → 17
    groups = created(
        finance.post(
            "/api/v1/capitation/funds",
            {
                "facility_code": fac,
                "period": "2024-Q2",
                "coefficient": "0.98",
                "groups": [
                    {"group": "dưới 6 tuổi", "cards": 200, "rate_per_card": 20_000},
                    {"group": "còn lại", "cards": 800, "rate_per_card": 10_000},
                ],
            },
        )
    )
    assert groups["fund"] == 11_760_000 and groups["supersedes_id"] == again["id"]

    adv = created(
        bhxh.post(
            "/api/v1/capitation/advances",
            {"facility_code": fac, "period": "2024-Q2", "amount": 5_000_000, "date": "2024-04-05"},
        )
    )
    assert adv["amount"] == 5_000_000
    settled = created(bhxh.post("/api/v1/capitation/settlements", {"facility_code": fac, "period": "2024-Q2"}))
    assert (settled["fund"], settled["spend"], settled["balance"]) == (11_760_000, "0.00", 11_760_000)
    assert settled["to_pay"] == 11_760_000 - 5_000_000
    # A quarter is a provisional view (the surplus is settled by the year): no share passed to the stations.
    assert settled["provisional"] is True and settled["station_share"] is None

    status = bhxh.get("/api/v1/capitation", facility=fac, period="2024-Q2").json()
    assert status["fund"] == 11_760_000 and len(status["fund_history"]) == 2
    assert status["advanced"] == 5_000_000 and status["settlement"]["id"] == settled["id"]


def test_capitation_refusals_and_roles(finance, bhxh):
    refused(
        finance.post(
            "/api/v1/capitation/funds",
            {"facility_code": "A1001", "period": "2024-Q2", "cards": 1, "rate_per_card": 1, "coefficient": "1"},
        ),
        "invalid_facility",
    )
    refused(
        finance.post(
            "/api/v1/capitation/funds",
            {"facility_code": "91001", "period": "2024-13", "cards": 1, "rate_per_card": 1, "coefficient": "1"},
        ),
        "invalid_period",
    )
    refused(
        finance.post(
            "/api/v1/capitation/funds",
            None,
            raw=(
                '{"facility_code": "91001", "period": "2024-Q1", "cards": 1, "rate_per_card": 10.5, "coefficient": "1"}'
            ),
        ),
        "invalid",
    )
    refused(
        finance.post(
            "/api/v1/capitation/advances",
            {"facility_code": "91001", "period": "2024-Q1", "amount": 1, "date": "2024-01-05"},
        ),
        "forbidden",
        403,
    )
    refused(
        bhxh.post(
            "/api/v1/capitation/funds", {"facility_code": "91001", "period": "2024-Q1", "cards": 1, "rate_per_card": 1}
        ),
        "forbidden",
        403,
    )
    refused(
        bhxh.post(
            "/api/v1/capitation/advances",
            {"facility_code": "91001", "period": "2024-Q1", "amount": 0, "date": "2024-01-05"},
        ),
        "amount_not_positive",
    )
    refused(
        bhxh.post("/api/v1/capitation/settlements", {"facility_code": fresh_facility(), "period": "2024-Q1"}),
        "no_capitation_fund",
    )
