"""Project capital funded by a finance allocation, through the running system (issue 16): the capital names the
II.5 allocation whose money it is (`funded_by_allocation`), the gateway checks the link against finance, and the
item's funding counts that money once and shows how much is linked.

The stack is shared by every e2e test: this one writes its own money (fiscal year 2022, district Vĩnh Thuận,
station 31063) and compares what changed."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import lxml.html
import pytest
import requests
from filelock import FileLock

from services.gateway.guards import STRIPES
from tests.e2e.test_web_pages import PASSWORD, Browser

M = 1_000_000
YEAR = 2022
ITEM = "/api/v1/plans/{plan}/items/II.5/funding"


class Api:
    def __init__(self, stack, token: str) -> None:
        self.base, self.headers = stack.url, {"Authorization": f"Bearer {token}"}

    def get(self, path: str, **params):
        r = requests.get(self.base + path, headers=self.headers, params=params, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def post(self, path: str, body: dict, status: int = 201) -> dict:
        r = requests.post(self.base + path, json=body, headers=self.headers, timeout=30)
        assert r.status_code == status, r.text
        return r.json()


@pytest.fixture(scope="module")
def apis(stack):
    return {"finance": Api(stack, stack.token("finance")), "viewer": Api(stack, stack.token("viewer"))}


def _decision() -> dict:
    return {"decision_no": f"{uuid.uuid4().hex[:6]}/QĐ-UBND", "decision_date": f"{YEAR}-02-10"}


def _allocated(body: dict, *path: str) -> int:
    for key in path:
        body = body.get(key, {})
    return body.get("allocated", 0) if isinstance(body, dict) else 0


def test_capital_funded_by_a_II5_allocation_is_counted_once_and_shown_as_linked(apis):
    fin, viewer = apis["finance"], apis["viewer"]

    def snapshot() -> dict:
        tree = viewer.get("/api/v1/plans/1/funding", year=YEAR)
        return {
            "district": viewer.get(ITEM.format(plan=2), year=YEAR),
            "province": viewer.get(ITEM.format(plan=1), year=YEAR),
            "district_910": viewer.get(ITEM.format(plan=2), year=YEAR, unit="910"),
            "commune": viewer.get(ITEM.format(plan=2), year=YEAR, unit="31063"),
            "tree_II.5": next(r for r in tree["items"] if r["code"] == "II.5"),
            "tree_total": tree["total"],
        }

    before = snapshot()
    allocation = fin.post(
        "/api/v1/allocations",
        {
            "plan_id": 2,
            "item_code": "II.5",
            "source": "ntp_nrd",
            "fiscal_year": YEAR,
            "recipient_unit": "910",
            "amount": 1_000 * M,
            **_decision(),
        },
    )
    project = fin.post(
        "/api/v1/investment/projects",
        {
            "station_code": "31063",
            "kind": "renovation",
            "title": f"Cải tạo Trạm Y tế {uuid.uuid4().hex[:6]}",
            "estimated_cost": 2_000 * M,
            "plan_id": 2,
            "item_code": "II.5",
        },
    )
    capital_path = f"/api/v1/investment/projects/{project['id']}/capital"
    linked = {"source": "ntp_nrd", "fiscal_year": YEAR, "funded_by_allocation": allocation["id"], **_decision()}
    answer = fin.post(capital_path, {**linked, "amount": 600 * M})
    assert answer["funded_by_allocation"] == allocation["id"] and answer["project"]["capital"] == 600 * M
    after = snapshot()

    for name in ("district", "province", "district_910", "commune"):
        assert after[name]["partial"] is False, after[name]
    district, was = after["district"], before["district"]
    # 1 000 000 000 allocated, not 1 600 000 000: the project's 600 000 000 is the allocation's money.
    assert district["allocated"] - was["allocated"] == 1_000 * M
    assert district["linked_capital"] - was["linked_capital"] == 600 * M
    assert _allocated(district, "streams", "finance") - _allocated(was, "streams", "finance") == 1_000 * M
    assert _allocated(district, "streams", "investment") - _allocated(was, "streams", "investment") == 600 * M
    assert _allocated(district, "by_source", "ntp_nrd") - _allocated(was, "by_source", "ntp_nrd") == 1_000 * M
    assert _allocated(district, "by_year", str(YEAR)) - _allocated(was, "by_year", str(YEAR)) == 1_000 * M
    # The province plan rolls the district plan in, the tree and its total say the same, and so does the district.
    for name in ("province", "district_910", "tree_II.5", "tree_total"):
        assert after[name]["allocated"] - before[name]["allocated"] == 1_000 * M, name
        assert after[name]["linked_capital"] - before[name]["linked_capital"] == 600 * M, name
    # The commune's own view: finance's money went to the district (910), so the capital is counted there alone.
    commune, was = after["commune"], before["commune"]
    assert commune["allocated"] - was["allocated"] == 600 * M
    assert commune["linked_capital"] - was["linked_capital"] == 0

    # The gateway checks the link against finance before investment records it.
    def refused(body: dict) -> tuple[str, str]:
        err = fin.post(capital_path, body, status=422)["errors"][0]
        return err["code"], err["field"]

    assert refused({**linked, "amount": 400 * M + 1}) == ("exceeds_allocation", "funded_by_allocation")
    assert refused({**linked, "source": "provincial_budget", "amount": M}) == (
        "allocation_other_source",
        "funded_by_allocation",
    )
    assert refused({**linked, "fiscal_year": YEAR + 1, "amount": M}) == (
        "allocation_other_year",
        "funded_by_allocation",
    )
    assert refused({**linked, "funded_by_allocation": 9_000_000_000, "amount": M}) == (
        "unknown_allocation",
        "funded_by_allocation",
    )
    # Exactly the room left is accepted: the allocation's whole money is now the project's, still counted once.
    fin.post(capital_path, {**linked, "amount": 400 * M})
    final = viewer.get(ITEM.format(plan=2), year=YEAR)
    assert final["allocated"] - before["district"]["allocated"] == 1_000 * M
    assert final["linked_capital"] - before["district"]["linked_capital"] == 1_000 * M


def _allocation_and_project(fin: Api, amount: int) -> tuple[dict, dict]:
    """A district II.5 allocation of `amount` and a renovation project at station 31063 of the same item, unlinked."""
    allocation = fin.post(
        "/api/v1/allocations",
        {"plan_id": 2, "item_code": "II.5", "source": "ntp_nrd", "fiscal_year": YEAR, "recipient_unit": "910",
         "amount": amount, **_decision()},
    )
    project = fin.post(
        "/api/v1/investment/projects",
        {"station_code": "31063", "kind": "renovation", "title": f"Cải tạo Trạm Y tế {uuid.uuid4().hex[:6]}",
         "estimated_cost": 2_000 * M, "plan_id": 2, "item_code": "II.5"},
    )
    return allocation, project


def test_finance_keeps_the_capital_linked_to_an_allocation_covered(stack, apis):
    """The other side of the link: an allocation is not reduced, nor passes money down, below the project capital
    that names it; the gateway asks investment for that capital and finance refuses (`below_linked_capital`). The
    allocation's page shows that capital, and the refusal next to the form."""
    fin = apis["finance"]
    allocation, project = _allocation_and_project(fin, 1_000 * M)
    capital_path = f"/api/v1/investment/projects/{project['id']}/capital"
    linked = {"source": "ntp_nrd", "fiscal_year": YEAR, "funded_by_allocation": allocation["id"], **_decision()}
    fin.post(capital_path, {**linked, "amount": 600 * M})
    adjust = f"/api/v1/allocations/{allocation['id']}/adjustments"

    def refused(path: str, body: dict) -> str:
        err = fin.post(path, {**body, **_decision()}, status=422)["errors"][0]
        assert err["field"] == "amount", err
        return err["code"]

    # Down: to exactly the capital, not a đồng below.
    assert refused(adjust, {"amount": -400 * M - 1}) == "below_linked_capital"
    fin.post(adjust, {"amount": -400 * M, **_decision()})
    # Passing money down to the commune: the 600 000 000 the allocation keeps are the project's.
    sub = {"parent_allocation_id": allocation["id"], "recipient_unit": "31063"}
    assert refused("/api/v1/allocations", {**sub, "amount": 1}) == "below_linked_capital"
    # The project gives 100 000 000 back: that much may go down, and no more.
    fin.post(capital_path, {**linked, "amount": -100 * M})
    child = fin.post("/api/v1/allocations", {**sub, "amount": 100 * M, **_decision()})
    # Up, the sub-allocation's increase comes out of its parent: refused for the same capital.
    assert refused(f"/api/v1/allocations/{child['id']}/adjustments", {"amount": 1}) == "below_linked_capital"
    assert fin.get(f"/api/v1/allocations/{allocation['id']}")["allocated"] == 600 * M

    name = f"lk-ketoan-{uuid.uuid4().hex[:6]}"
    stack.ytcs("user", "create", "--username", name, "--role", "finance", stdin=PASSWORD + "\n")
    b = Browser(stack.url)
    b.login(name)
    page = f"/allocations/{allocation['id']}"
    doc = lxml.html.fromstring(b.get(page).text)
    assert doc.xpath('string(//*[@id="linked-capital"])').strip() == "500.000.000\xa0đ"  # as the pages write money
    r = b.post(f"{page}/adjustments", {"amount": "-1", "decision_no": "ĐC 9/QĐ", "decision_date": f"{YEAR}-03-01"})
    assert r.status_code == 422 and "vốn giao cho dự án đầu tư" in r.text
    # An allocation no project names shows no such card.
    assert "linked-capital" not in b.get(f"/allocations/{child['id']}").text


def test_a_command_waits_for_the_allocations_guard_and_is_refused_unwritten_past_its_wait(stack, apis):
    """The running gateway holds a guard per allocation while it asks one service and records in the other
    (services/gateway/guards.py). Here the guard is held from outside, as a command stuck in flight would hold
    it: a reduction and a link to that allocation both wait, then are answered 503 `allocation_busy`, and
    nothing is written; once it is free, both go through."""
    fin = apis["finance"]
    allocation, project = _allocation_and_project(fin, 500 * M)
    reduce = (f"/api/v1/allocations/{allocation['id']}/adjustments", {"amount": -100 * M})
    link = (
        f"/api/v1/investment/projects/{project['id']}/capital",
        {"source": "ntp_nrd", "fiscal_year": YEAR, "funded_by_allocation": allocation["id"], "amount": 100 * M},
    )

    def send(path: str, body: dict) -> requests.Response:
        return requests.post(fin.base + path, json={**body, **_decision()}, headers=fin.headers, timeout=60)

    lock = FileLock(stack.var / "locks" / f"allocation-{allocation['id'] % STRIPES:02d}.lock", thread_local=False)
    with lock, ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(lambda c: send(*c), [reduce, link]))
    for r in answers:
        assert r.status_code == 503, r.text
        assert r.json()["errors"][0]["code"] == "allocation_busy" and "thử lại" in r.json()["errors"][0]["message"]
        assert r.headers["Retry-After"] == "2"
    assert fin.get(f"/api/v1/allocations/{allocation['id']}")["allocated"] == 500 * M
    assert fin.get(f"/api/v1/investment/projects/{project['id']}")["capital"] == 0
    assert send(*reduce).status_code == 201 and send(*link).status_code == 201
    assert fin.get(f"/api/v1/allocations/{allocation['id']}")["allocated"] == 400 * M
    assert fin.get(f"/api/v1/investment/projects/{project['id']}")["capital"] == 100 * M
