"""The budget year end in the gateway without a broker: the carry-over, close and reversal writes check the
caller's unit before finance is asked and pass who recorded them; the year-end forms are offered only for a past
year's allocation still holding money; the joined funding figures carry the year-end money apart, once."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from flask import Flask, g

from services.common.errors import DomainError
from services.gateway.accounts import Principal
from services.gateway.application import access, figures, finance
from tests.unit.gateway.test_application import FakeRpc

DISTRICT, OTHER_DISTRICT = "910", "899"
CMD = {"amount": 5, "date": date(2024, 1, 15), "decision_no": "1/QĐ", "decision_date": date(2024, 1, 10), "note": None}


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> FakeRpc:
    rpc = FakeRpc()
    for module in (access, finance):
        monkeypatch.setattr(module, "rpc", rpc)
    return rpc


def as_(unit: str | None) -> Any:
    ctx = Flask(__name__).test_request_context("/")
    ctx.push()
    g.principal = Principal(name="user:ketoan", role="finance", unit=unit, kind="session")
    return ctx


@pytest.mark.parametrize("write, method", [(finance.carry_over, "carry_over"),
                                           (finance.close_allocation, "close_allocation")])  # fmt: skip
def test_a_year_end_write_checks_the_unit_then_passes_the_decision_and_who(fake, write, method):
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": DISTRICT}
    ctx = as_(DISTRICT)
    try:
        write(12, dict(CMD))
    finally:
        ctx.pop()
    assert fake.methods() == ["finance.get_allocation", f"finance.{method}"]
    _, _, args = fake.calls[-1]
    assert args[0] == 12 and args[2] == "user:ketoan"
    assert args[1]["date"] == "2024-01-15" and args[1]["amount"] == 5  # dumped by YearEndCommandV1

    fake.calls.clear()
    fake.answers[("finance", "get_allocation")] = {"recipient_unit": OTHER_DISTRICT}
    ctx = as_(DISTRICT)
    try:
        with pytest.raises(DomainError) as refused:
            write(12, dict(CMD))
    finally:
        ctx.pop()
    assert refused.value.status == 403 and fake.methods() == ["finance.get_allocation"]


def test_a_scoped_reversal_finds_its_record_among_the_units_allocations(fake):
    fake.answers[("finance", "list_allocations")] = {
        "items": [{"id": 3, "carried_over": 0, "closed": 0}, {"id": 4, "carried_over": 9, "closed": 0}],
        "total": 2,
    }
    fake.answers[("finance", "get_allocation")] = {"id": 4, "year_end": [{"id": 77}]}
    ctx = as_(DISTRICT)
    try:
        finance.reverse_year_end(77, dict(CMD))
        with pytest.raises(DomainError) as refused:
            finance.reverse_year_end(78, dict(CMD))
    finally:
        ctx.pop()
    assert refused.value.status == 403
    # Allocation 3 holds no year-end money: never looked into.
    assert [a for _, m, a in fake.calls if m == "get_allocation"] == [(4,), (4,)]
    assert fake.methods().count("finance.reverse_year_end") == 1


def test_an_unscoped_reversal_goes_straight_to_finance(fake):
    ctx = as_(None)
    try:
        finance.reverse_year_end(77, dict(CMD))
    finally:
        ctx.pop()
    assert fake.methods() == ["finance.reverse_year_end"]


def test_the_year_end_forms_only_for_a_past_year_still_holding_money():
    today = date(2024, 3, 1)
    assert finance.year_end_open({"fiscal_year": 2023, "remaining": 1}, today)
    assert not finance.year_end_open({"fiscal_year": 2023, "remaining": 0}, today)
    assert not finance.year_end_open({"fiscal_year": 2024, "remaining": 100}, today)


def test_joined_figures_carry_the_year_end_apart_and_once():
    fin = {"allocated": 500, "disbursed": 300, "carried_over_in": 0, "carried_over_out": 180, "closed": 120,
           "year_end_by_year": {"2023": {"carried_over_in": 0, "carried_over_out": 180, "closed": 120},
                                "2024": {"carried_over_in": 180, "carried_over_out": 0, "closed": 0}}}  # fmt: skip
    inv = {"allocated": 70, "disbursed": 10, "by_source": {}, "by_year": {}}  # investment knows no year end
    total = figures.add([figures.normalise(fin), figures.normalise(inv)])
    assert (total["allocated"], total["disbursed"]) == (570, 310)
    assert (total["carried_over_in"], total["carried_over_out"], total["closed"]) == (0, 180, 120)
    assert total["year_end_by_year"]["2024"]["carried_over_in"] == 180
    linked = figures.count_once(total, {}, [])
    assert linked["closed"] == 120 and linked["year_end_by_year"] == total["year_end_by_year"]
    # A parent the service did not report shows its sub-items' year end too.
    mapped = {"II.5.1": figures.normalise(fin)}
    figures.complete_tree([("II", None), ("II.5", "II"), ("II.5.1", "II.5")], mapped)
    assert mapped["II"]["carried_over_out"] == 180 and mapped["II"]["year_end_by_year"]["2023"]["closed"] == 120
    assert figures.normalise({"allocated": 1})["carried_over_in"] == 0


def test_the_year_end_by_item_and_source_counts_each_allocation_once():
    rows = [
        {"item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2023, "carried_over": 180, "closed": 120},
        {"item_code": "II.5.1", "source": "ntp_nrd", "fiscal_year": 2024, "carried_over": 7, "closed": 0},
        {"item_code": "II.50", "source": "ntp_nrd", "fiscal_year": 2024, "carried_over": 99, "closed": 0},
        {"item_code": "II.5", "source": "oda_aid", "fiscal_year": 2024, "carried_over": 0, "closed": 0},
    ]
    by = figures.year_end_by_source(rows, ["II", "II.5", "II.5.1"], 2024)
    assert by["II.5"] == {
        "ntp_nrd": {"carried_over_in": 0, "carried_over_out": 7, "closed": 0},
        "provincial_budget": {"carried_over_in": 180, "carried_over_out": 0, "closed": 0},
    }
    assert by["II"]["ntp_nrd"]["carried_over_out"] == 7 + 99  # II.50 lies under II, not under II.5
    assert "provincial_budget" not in by["II.5.1"]
    whole = figures.year_end_by_source(rows, ["II.5"], None)
    assert whole["II.5"]["provincial_budget"] == {"carried_over_in": 180, "carried_over_out": 180, "closed": 120}


def test_year_end_allocations_asks_the_plan_and_the_plans_applying_it_for_both_years(fake):
    fake.answers[("finance", "list_allocations")] = {
        "items": [{"id": 1, "carried_over": 5, "closed": 0}, {"id": 2, "carried_over": 0, "closed": 0}],
        "total": 2,
    }
    out = finance.year_end_allocations(1, 2024, "910")
    asked = [(a[0]["plan_id"], a[0]["year"], a[0]["unit"]) for _, m, a in fake.calls if m == "list_allocations"]
    assert asked == [(1, 2023, "910"), (1, 2024, "910"), (2, 2023, "910"), (2, 2024, "910")]
    assert [a["id"] for a in out] == [1, 1, 1, 1]
