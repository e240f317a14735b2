"""Units by date through the running system: money, projects, facilities and scopes name a unit in force on
their date, and a unit's funding for a year counts its predecessors' money of that year.

Vĩnh Bình Bắc (31060) and Vĩnh Bình Nam (31063) became part of Xã Vĩnh Bình (31064, reusing Bình Minh's code)
on 01/7/2025 (NQ 1654/NQ-UBTVQH15). The stack is shared by the e2e tests, so every figure is compared as the
change this test made, each change computed by hand below.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import requests

from tests.support.infra import Stack

M = 1_000_000


class Api:
    def __init__(self, stack: Stack, token: str) -> None:
        self.base, self.headers = stack.url + "/api/v1", {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.base + path, headers=self.headers, params=params, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> requests.Response:
        return requests.post(self.base + path, json=body, headers=self.headers, timeout=30)

    def ok(self, path: str, **params: Any) -> dict[str, Any]:
        r = self.get(path, **params)
        assert r.status_code == 200, r.text
        return r.json()

    def created(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        r = self.post(path, body)
        assert r.status_code == 201, r.text
        return r.json()


def not_in_force(r: requests.Response, successor: str, field: str) -> dict[str, Any]:
    assert r.status_code == 422, r.text
    [err] = r.json()["errors"]
    assert (err["code"], err["successor"], err["field"]) == ("unit_not_in_force", successor, field), err
    assert f"(mã {successor})" in err["message"] and "kế thừa" in err["message"]
    return err


def allocation(unit: str, year: int, amount: int, day: str) -> dict[str, Any]:
    return {
        "plan_id": 1,
        "item_code": "II.5",
        "source": "provincial_budget",
        "fiscal_year": year,
        "recipient_unit": unit,
        "amount": amount,
        "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND",
        "decision_date": day,
    }


def project(station: str, day: str) -> dict[str, Any]:
    return {
        "station_code": station,
        "kind": "renovation",
        "title": f"Cải tạo Trạm Y tế {uuid.uuid4().hex[:6]}",
        "estimated_cost": 900 * M,
        "plan_id": 1,
        "item_code": "II.5",
        "decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND",
        "decision_date": day,
    }


def shares(answer: dict[str, Any]) -> dict[str, tuple[int, int]]:
    return {u["code"]: (u["allocated"], u["disbursed"]) for u in answer["by_unit"]}


@pytest.fixture(scope="module")
def api(stack: Stack) -> Api:
    return Api(stack, stack.token("finance"))


def test_a_merged_commune_is_refused_after_1_july_2025_and_its_money_counts_for_its_successor(
    stack: Stack, api: Api
) -> None:
    before = api.ok("/units/31064/funding", year=2025)
    assert (before["name"], before["level"], before["as_of"]) == ("Xã Vĩnh Bình", "commune", "2025-12-31")
    before_2024_new = api.ok("/units/31064/funding", year=2024, as_of="2025-07-01")
    before_2024_old = api.ok("/units/31064/funding", year=2024)
    before_31060_2024 = api.ok("/units/31060/funding", year=2024)

    # Finance: Vĩnh Bình Bắc is paid before the merger, refused after it (allocation and payment alike).
    a1 = api.created("/allocations", allocation("31060", 2025, 300 * M, "2025-03-10"))
    api.created(f"/allocations/{a1['id']}/disbursements", {"amount": 120 * M, "date": "2025-05-20"})
    not_in_force(api.post("/allocations", allocation("31060", 2025, 1 * M, "2025-08-01")), "31064", "recipient_unit")
    not_in_force(
        api.post(f"/allocations/{a1['id']}/disbursements", {"amount": 1 * M, "date": "2025-08-01"}), "31064", "date"
    )
    api.created("/allocations", allocation("31063", 2025, 50 * M, "2025-02-01"))
    a2 = api.created("/allocations", allocation("31064", 2025, 500 * M, "2025-08-01"))
    api.created(f"/allocations/{a2['id']}/disbursements", {"amount": 200 * M, "date": "2025-09-01"})
    api.created("/allocations", allocation("31060", 2024, 40 * M, "2024-05-02"))
    # The district level ended on 30/6/2025: its money after that goes to the province's units.
    not_in_force(api.post("/allocations", allocation("910", 2025, 1 * M, "2025-08-01")), "91", "recipient_unit")

    # Investment: a project at Vĩnh Bình Bắc decided after the merger is refused the same way.
    not_in_force(api.post("/investment/projects", project("31060", "2025-08-01")), "31064", "station_code")
    pid = api.created("/investment/projects", project("31060", "2025-04-01"))["id"]
    capital = {"source": "provincial_budget", "fiscal_year": 2025, "amount": 80 * M,
               "decision_no": "80/QĐ-UBND", "decision_date": "2025-04-15"}
    api.created(f"/investment/projects/{pid}/capital", capital)
    api.created(f"/investment/projects/{pid}/disbursements",
                {"source": "provincial_budget", "amount": 30 * M, "date": "2025-05-10"})

    # Xã Vĩnh Bình's 2025 funding: its own money and its predecessors' of 2025, before the merger too.
    # allocated 300 + 50 + 500 (finance) + 80 (capital) = 930 M; disbursed 120 + 200 + 30 (project) = 350 M.
    after = api.ok("/units/31064/funding", year=2025)
    assert (after["allocated"] - before["allocated"], after["disbursed"] - before["disbursed"]) == (930 * M, 350 * M)
    parts = {k: (after["parts"][k]["allocated"] - before["parts"][k]["allocated"],
                 after["parts"][k]["disbursed"] - before["parts"][k]["disbursed"]) for k in ("finance", "investment")}
    assert parts == {"finance": (850 * M, 320 * M), "investment": (80 * M, 30 * M)}
    got, had = shares(after), shares(before)
    # Each share where the services place it: finance by recipient; investment's capital of 2025 at the unit
    # in force at the year's end (31064), its payment of 10/5/2025 at the station paid that day (31060).
    assert {c: (got[c][0] - had[c][0], got[c][1] - had[c][1]) for c in got} == {
        "31064": (500 * M + 80 * M, 200 * M),
        "31060": (300 * M, 120 * M + 30 * M),
        "31063": (50 * M, 0),
    }
    assert [u["code"] for u in after["by_unit"]] == ["31064", "31060", "31063"]
    assert next(u for u in after["by_unit"] if u["code"] == "31060")["valid_to"] == "2025-06-30"
    src = after["by_source"]["provincial_budget"]
    had_src = before["by_source"].get("provincial_budget", {"allocated": 0, "disbursed": 0})
    assert (src["allocated"] - had_src["allocated"], src["disbursed"] - had_src["disbursed"]) == (930 * M, 350 * M)

    # Vĩnh Bình Bắc has no funding of its own in 2025 (it ended): the answer names its successor.
    not_in_force(api.get("/units/31060/funding", year=2025), "31064", "code")

    # 2024 in the old units: Bình Minh (31064) never had Vĩnh Bình Bắc's 40 M; in the new units it does.
    old = api.ok("/units/31064/funding", year=2024)
    new = api.ok("/units/31064/funding", year=2024, as_of="2025-07-01")
    assert old["allocated"] - before_2024_old["allocated"] == 0 and old["name"] == "Xã Bình Minh"
    assert new["allocated"] - before_2024_new["allocated"] == 40 * M and new["name"] == "Xã Vĩnh Bình"
    assert api.ok("/units/31060/funding", year=2024)["allocated"] - before_31060_2024["allocated"] == 40 * M
    # A year is seen in the units of its end or later, never earlier ones.
    r = api.get("/units/31064/funding", year=2025, as_of="2025-06-30")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "as_of"


def test_reused_code_31051_is_resolved_by_date(api: Api) -> None:
    # 31051 was Thị trấn Vĩnh Thuận until 30/6/2025 and is Xã Vĩnh Phong (with Phong Đông 31074) since.
    before = api.ok("/units/31051/funding", year=2025)
    api.created("/allocations", allocation("31051", 2025, 7 * M, "2025-03-01"))  # the town
    api.created("/allocations", allocation("31074", 2025, 11 * M, "2025-03-01"))  # Phong Đông, before
    not_in_force(api.post("/allocations", allocation("31074", 2025, 1 * M, "2025-07-01")), "31051", "recipient_unit")
    api.created("/allocations", allocation("31051", 2025, 13 * M, "2025-07-01"))  # Xã Vĩnh Phong
    after = api.ok("/units/31051/funding", year=2025)
    assert after["name"] == "Xã Vĩnh Phong"
    assert after["allocated"] - before["allocated"] == 31 * M  # 7 + 11 + 13
    assert api.ok("/units/31051/funding", year=2024)["name"] == "Thị trấn Vĩnh Thuận"


def test_facilities_and_scopes_name_a_unit_in_force_today(stack: Stack) -> None:
    admin = Api(stack, stack.token("admin"))
    r = admin.post("/facilities", {"code": "91160", "name": "Trạm Y tế xã Vĩnh Bình Bắc", "unit": "31060"})
    not_in_force(r, "31064", "unit")
    # A scope on a commune that ended is refused, naming its successor; a former district stays a territory.
    with pytest.raises(RuntimeError, match="unit_not_in_force|31064"):  # as the command a person runs says it
        stack.ytcs("token", "create", "--name", "xa-cu", "--role", "viewer", "--unit", "31060")
    scoped = Api(stack, stack.token("viewer", "910"))
    assert scoped.ok("/units/31064/funding", year=2025)["unit"] == "31064"  # a station continuing Vĩnh Thuận
    assert scoped.get("/units/899/funding", year=2024).status_code == 403
