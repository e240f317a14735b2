"""Capitation money as BHXH applies the law (issue 16), through the running system: a facility's Q2 claims
(capitation and fee-for-service lines mixed) → its quarterly report → the Q3 advance to the đồng and its due
date in working days → BHXH's result and the payment dates; a year of capitation with a surplus and with a
deficit; the 20% surplus of fund year 2020 spent in 2021 accepted and of fund year 2021 refused, in finance and
investment alike. Expected figures are computed here from the XML lines and the dates by hand."""

from __future__ import annotations

import time
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
import requests
from lxml import etree

from tests.e2e.test_claims_api import auth, make_file, send

FACILITY = "91216"  # a facility of its own (the stack is shared between test modules)


@pytest.fixture(scope="module")
def tokens(stack):
    return {role: stack.token(role) for role in ("admin", "finance", "bhxh", "viewer")}


def post(stack, token: str, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.post(stack.url + "/api/v1" + path, json=body, headers=auth(token), timeout=60)


def get(stack, token: str, path: str, **params: Any) -> dict[str, Any]:
    r = requests.get(stack.url + "/api/v1" + path, params=params, headers=auth(token), timeout=60)
    assert r.status_code == 200, r.text
    return r.json()


def lines_by_method(data: bytes) -> tuple[dict[str, Decimal], Decimal]:
    """Σ line T_BHTT by MA_PTTT over every claim of the file, and Σ XML1 T_BHTT, read from the XML itself.
    The generator wraps each table base64-encoded in FILEHOSO/NOIDUNGFILE."""
    import base64

    by = {"1": Decimal(0), "2": Decimal(0), "3": Decimal(0)}
    total = Decimal(0)
    root = etree.fromstring(data)
    for f in root.iter("FILEHOSO"):
        kind = f.findtext("LOAIHOSO").strip()
        body = etree.fromstring(base64.b64decode(f.findtext("NOIDUNGFILE").strip()))
        if kind == "XML1":
            total += Decimal(body.findtext(".//T_BHTT").strip())
        elif kind in ("XML2", "XML3"):
            for line in body.iter("CHI_TIET_THUOC", "CHI_TIET_DVKT"):
                by[line.findtext("MA_PTTT").strip()] += Decimal(line.findtext("T_BHTT").strip())
    return by, total


def test_a_quarter_from_claims_to_report_advance_result_and_payment(stack, tokens):
    bhxh, viewer = tokens["bhxh"], tokens["viewer"]
    data, summary = make_file(FACILITY, records=12, year=2024, months=[4, 5, 6], seed=16)
    st = send(stack, bhxh, data)
    assert st["records"]["accepted"] == 12, st["errors"]
    by, total = lines_by_method(data)
    assert by["1"] > 0 and by["2"] > 0, "the quarter must mix fee-for-service and capitation lines"
    assert total == by["1"] + by["2"] + by["3"] == summary.totals[(FACILITY, "2024-Q2")].t_bhtt

    # Only BHXH records a report, and not before the quarter has ended.
    body = {"facility_code": FACILITY, "period": "2024-Q2", "received_date": "2024-07-10"}
    assert post(stack, viewer, "/capitation/reports", body).status_code == 403
    early = post(stack, bhxh, "/capitation/reports", body | {"received_date": "2024-06-30"})
    assert early.status_code == 422 and early.json()["errors"][0]["code"] == "report_before_quarter_end"

    r = post(stack, bhxh, "/capitation/reports", body)
    assert r.status_code == 201, r.text
    report = r.json()
    advance = int((total * Decimal("0.80")).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert report["total"] == f"{total:.2f}"
    assert report["by_method"] == {"fee_for_service": f"{by['1']:.2f}", "capitation": f"{by['2']:.2f}", "drg": "0.00"}
    # Received Wednesday 10/7/2024: 5 working days are Thu 11, Fri 12, Mon 15, Tue 16, Wed 17.
    assert report["advance"] == {"period": "2024-Q3", "amount": advance, "due": "2024-07-17", "share": "0.80"}
    assert report["result_due"] == "2024-08-09"  # 30 days after 10/7

    # More claims of Q2 arriving later do not change the report: it is kept as it was on that date.
    late, _ = make_file(FACILITY, records=3, year=2024, months=[6], seed=99)
    send(stack, bhxh, late)

    suggestion = get(stack, viewer, "/capitation/advances/suggestion", facility=FACILITY, period="2024-Q3")
    assert (suggestion["suggested"], suggestion["due"], suggestion["previous_period"]) == (
        advance,
        "2024-07-17",
        "2024-Q2",
    )
    assert suggestion["previous_total"] == f"{total:.2f}"

    # The Q2 advance (from Q1's report, paid earlier) and BHXH's assessment of two claims.
    assert (
        post(
            stack,
            bhxh,
            "/capitation/advances",
            {"facility_code": FACILITY, "period": "2024-Q2", "amount": 1_000_000, "date": "2024-04-08"},
        ).status_code
        == 201
    )
    claims = get(stack, bhxh, "/claims", facility=FACILITY, period="2024-Q2", status="accepted", per_page=100)["items"]
    a, b = claims[0], claims[1]
    cut = Decimal(b["t_bhtt"]) - Decimal("1000.40")
    ok = post(
        stack,
        bhxh,
        "/claims/assessments",
        {
            "facility_code": FACILITY,
            "items": [
                {"ma_lk": a["ma_lk"], "approved_amount": a["t_bhtt"]},
                {"ma_lk": b["ma_lk"], "approved_amount": str(cut), "reason_code": "so_luong_vuot"},
            ],
        },
    )
    assert ok.status_code == 201, ok.text
    approved = Decimal(a["t_bhtt"]) + cut

    r = post(
        stack,
        bhxh,
        "/capitation/results",
        {"facility_code": FACILITY, "period": "2024-Q2", "result_date": "2024-08-05", "reference": "TB-88"},
    )
    assert r.status_code == 201, r.text
    result = r.json()
    approved_vnd = int(approved.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert (result["approved"], result["approved_vnd"], result["advanced"]) == (
        f"{approved:.2f}",
        approved_vnd,
        1_000_000,
    )
    assert result["to_pay"] == approved_vnd - 1_000_000
    assert result["payment_due"] == "2024-08-15"  # 10 days after 5/8

    owed = result["to_pay"]
    kind = "payment" if owed > 0 else "refund"
    too_much = post(
        stack,
        bhxh,
        "/capitation/payments",
        {"facility_code": FACILITY, "period": "2024-Q2", "kind": kind, "amount": abs(owed) + 1, "date": "2024-08-14"},
    )
    assert too_much.status_code == 422 and too_much.json()["errors"][0]["code"] == "exceeds_result"
    paid = post(
        stack,
        bhxh,
        "/capitation/payments",
        {"facility_code": FACILITY, "period": "2024-Q2", "kind": kind, "amount": abs(owed), "date": "2024-08-20"},
    )
    assert paid.status_code == 201, paid.text

    # The reconciliation keeps its contract fields and adds the quarter's dated steps.
    rec = get(stack, viewer, "/reconciliation", facility=FACILITY, period="2024-Q2")
    assert {"claims", "capitation", "payments"} <= set(rec)
    steps = rec["settlement"]["steps"]
    assert steps["report"] == {"due": "2024-07-15", "date": "2024-07-10", "late": False, "overdue": False}
    # No Q3 advance recorded: overdue since 17/7.
    assert steps["advance"]["due"] == "2024-07-17" and steps["advance"]["overdue"] is True
    assert steps["result"] == {"due": "2024-08-09", "date": "2024-08-05", "late": False, "overdue": False}
    assert steps["payment"]["due"] == "2024-08-15" and steps["payment"]["date"] == "2024-08-20"
    assert steps["payment"]["late"] is True and steps["payment"]["settled"] == abs(owed)
    assert {"facility_code": FACILITY, "step": "advance"} in [
        {"facility_code": o["facility_code"], "step": o["step"]} for o in rec["overdue"]
    ]


def test_first_contract_gets_80_percent_of_its_notified_fund_and_owes_its_quarterly_report(stack, tokens):
    facility = "91217"
    r = post(
        stack,
        tokens["finance"],
        "/capitation/funds",
        {"facility_code": facility, "period": "2024-Q1", "cards": 1000, "rate_per_card": 12_345, "coefficient": "1"},
    )
    assert r.status_code == 201, r.text
    s = get(stack, tokens["viewer"], "/capitation/advances/suggestion", facility=facility, period="2024-Q1")
    assert s["suggested"] == 9_876_000 and "thông báo" in s["basis"]  # 80% of 12 345 000

    # Contracted for Q1 2024 and no report recorded: the quarter's reconciliation over every facility names the
    # report as overdue since 15/4/2024 (the first 15 days of Q2, Luật BHYT Điều 32 k2).
    rec = get(stack, tokens["viewer"], "/reconciliation", period="2024-Q1")
    assert {"facility_code": facility, "step": "report", "due": "2024-04-15", "date": None, "late": False,
            "overdue": True} in rec["overdue"]  # fmt: skip


def wait_for_finance_spend(stack, token: str, facility: str, period: str, spend: Decimal) -> None:
    """Claims reports the capitation spend to finance by event: wait until finance holds the same level."""
    deadline = time.monotonic() + 30
    while get(stack, token, "/capitation", facility=facility, period=period)["spend"] != f"{spend:.2f}":
        assert time.monotonic() < deadline, "finance never received claims' capitation spend"
        time.sleep(0.3)


def _year_fund(stack, token: str, facility: str, cards: int) -> dict[str, Any]:
    r = post(
        stack,
        token,
        "/capitation/funds",
        {
            "facility_code": facility,
            "period": "2024",
            "cards": cards,
            "rate_per_card": 10_000,
            "coefficient": "1.05",
            "decision_no": "15/TB-BHXH",
            "decision_date": "2024-01-20",
        },
    )
    assert r.status_code == 201, r.text
    return r.json()


def test_a_year_of_capitation_with_a_surplus_and_with_a_deficit(stack, tokens):
    finance, bhxh = tokens["finance"], tokens["bhxh"]
    # The surplus facility: its Q2 claims (the first test's) against an annual fund larger than their spend.
    rec = get(stack, bhxh, "/reconciliation", facility=FACILITY, period="2024-Q2")
    spend = Decimal(rec["capitation"]["spend"])
    wait_for_finance_spend(stack, bhxh, FACILITY, "2024-Q2", spend)
    fund = _year_fund(stack, finance, FACILITY, 100_000)
    assert fund["fund"] == 1_050_000_000 and fund["inputs"]["decision"] == {
        "number": "15/TB-BHXH",
        "date": "2024-01-20",
    }
    assert fund["period"] == "2024" and fund["inputs"]["provisional"] is False

    # The year is final: its surplus needs the stations' share and its decision — there is no default.
    missing = post(stack, bhxh, "/capitation/settlements", {"facility_code": FACILITY, "period": "2024"})
    assert missing.status_code == 422
    assert {e["code"] for e in missing.json()["errors"]} == {"station_share_required", "invalid_decision"}
    r = post(
        stack,
        bhxh,
        "/capitation/settlements",
        {
            "facility_code": FACILITY,
            "period": "2024",
            "station_share_rate": "0.25",
            "station_share_decision_no": "7/QĐ-TTYT",
            "station_share_decision_date": "2025-01-15",
        },
    )
    assert r.status_code == 201, r.text
    year = r.json()
    spend_vnd = int(spend.quantize(Decimal(1), rounding=ROUND_HALF_UP))
    surplus = 1_050_000_000 - spend_vnd
    assert (year["provisional"], year["fund"], year["spend_vnd"], year["surplus"]) == (
        False,
        1_050_000_000,
        spend_vnd,
        surplus,
    )
    assert year["station_share"] == int(
        (Decimal(surplus) * Decimal("0.25")).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )
    assert year["station_share_decision"] == {"number": "7/QĐ-TTYT", "date": "2025-01-15"}

    # The deficit facility: spend above a small fund; the facility bears it, nothing passes to stations.
    small = "91218"
    data, _ = make_file(small, records=6, year=2024, months=[7, 8, 9], seed=21)
    send(stack, bhxh, data)
    q3 = get(stack, bhxh, "/reconciliation", facility=small, period="2024-Q3")
    wait_for_finance_spend(stack, bhxh, small, "2024-Q3", Decimal(q3["capitation"]["spend"]))
    q3_spend = int(Decimal(q3["capitation"]["spend"]).quantize(Decimal(1), rounding=ROUND_HALF_UP))
    assert q3_spend > 10_500
    _year_fund(stack, finance, small, 1)  # 10 500 đ
    r = post(stack, bhxh, "/capitation/settlements", {"facility_code": small, "period": "2024"})
    assert r.status_code == 201, r.text
    d = r.json()
    assert (d["balance"], d["deficit"], d["surplus"], d["station_share"]) == (
        10_500 - q3_spend,
        q3_spend - 10_500,
        0,
        0,
    )


def test_the_20_percent_surplus_rule_is_the_same_in_finance_and_investment(stack, tokens):
    finance = tokens["finance"]

    def equipment_2020() -> dict[str, Any]:
        report = get(stack, tokens["viewer"], "/surplus")
        assert [u["order"] for u in report["uses"] if u["order"]] == sorted(
            u["order"] for u in report["uses"] if u["order"]
        )
        [use] = [u for u in report["uses"] if u["use"] == "equipment"] or [{"fund_years": []}]
        return next((y for y in use["fund_years"] if y["fund_year"] == 2020), {"allocated": 0, "project_capital": 0})

    before = equipment_2020()
    base = {
        "plan_id": 1,
        "item_code": "II.5",
        "source": "bhyt_surplus_20",
        "recipient_unit": "91",
        "amount": 300_000_000,
        "decision_no": "45/QĐ-UBND",
        "decision_date": "2021-11-02",
        "use": "equipment",
    }
    ok = post(stack, finance, "/allocations", base | {"fiscal_year": 2021, "fund_year": 2020})
    assert ok.status_code == 201, ok.text
    assert (ok.json()["fund_year"], ok.json()["use"]) == (2020, "equipment")
    no = post(stack, finance, "/allocations", base | {"fiscal_year": 2022, "fund_year": 2021})
    assert no.status_code == 422 and [e["code"] for e in no.json()["errors"]] == ["surplus_source_closed"]

    project = post(
        stack,
        finance,
        "/investment/projects",
        {
            "station_code": "30760",
            "kind": "equipment",
            "title": "Trang thiết bị TYT (20% kết dư quỹ 2020)",
            "estimated_cost": 900_000_000,
            "plan_id": 1,
            "item_code": "II.5",
        },
    )
    assert project.status_code == 201, project.text
    pid = project.json()["id"]
    cap = {
        "source": "bhyt_surplus_20",
        "amount": 200_000_000,
        "decision_no": "46/QĐ-UBND",
        "decision_date": "2021-11-05",
        "use": "equipment",
    }
    ok = post(stack, finance, f"/investment/projects/{pid}/capital", cap | {"fiscal_year": 2021, "fund_year": 2020})
    assert ok.status_code == 201, ok.text
    assert (ok.json()["fund_year"], ok.json()["use"]) == (2020, "equipment")
    no = post(stack, finance, f"/investment/projects/{pid}/capital", cap | {"fiscal_year": 2022, "fund_year": 2021})
    assert no.status_code == 422 and [e["code"] for e in no.json()["errors"]] == ["surplus_source_closed"]

    # The uses report: both services' money of fund year 2020 under "equipment" (3rd of the four legal uses);
    # unused since 01/10/2022 (12 months after the review), so flagged.
    after = equipment_2020()
    assert after["allocated"] - before["allocated"] == 300_000_000
    assert after["project_capital"] - before["project_capital"] == 200_000_000
    assert after["expires_on"] == "2022-10-01" and after["expired_unused"] is True
