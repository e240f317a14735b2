"""Every entrypoint of the finance service (services/finance/service.py), called as nameko calls it.

`worker_factory` builds a worker of the real `Service` class. Its database dependency is the real
`DatabaseAccess` over a SQLite finance database (schema and plan catalog), so each entrypoint opens a real
unit of work or session; the relay is a function that counts its wake-ups, and the claims service on the
other end of the RPC is a small object answering a quarter's reconciliation. The rules behind each call
have their own tests (test_domain.py, test_handlers_properties.py, tests/integration/finance): here, each
entrypoint decodes its arguments, reaches its handler or view, commits, wakes the relay, and answers a dict.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, transaction
from services.common.errors import DomainError, NotFound
from services.common.messaging import DatabaseAccess
from services.finance.catalog_loader import sync_catalog
from services.finance.models import FinanceBase, Inbox, Outbox
from services.finance.service import Service
from tests.support.services import entrypoint_names

FACILITY = "91301"
DECISION = {"decision_no": "1/QĐ-UBND", "decision_date": "2024-01-05"}
ROOT = {
    "plan_id": 1,
    "item_code": "II.5",
    "source": "provincial_budget",
    "fiscal_year": 2024,
    "recipient_unit": "91",
    "amount": 900_000_000,
    **DECISION,
}


class Claims:
    """The claims service's side of `reconciliation`: the facility-quarter's claims, as finance receives them."""

    def __init__(self) -> None:
        self.asked: list[tuple[str, str]] = []

    def reconciliation(self, facility: str, period: str) -> dict[str, Any]:
        self.asked.append((facility, period))
        return {
            "claims": {
                "count": 3,
                "assessed": 3,
                "requested": "42500000.75",
                "approved": "41000000.40",
                "rejected": "0.00",
                "pending": "0.00",
                "by_payment_method": {
                    "fee_for_service": "10000000.50",
                    "capitation": "30000000.25",
                    "drg": "2500000.00",
                },
            }
        }


class Relay:
    """The outbox relay's wake-up, counted."""

    def __init__(self) -> None:
        self.wakes = 0

    def __call__(self) -> None:
        self.wakes += 1


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'finance.db'}")
    FinanceBase.metadata.create_all(engine)
    made = sessionmaker(engine, expire_on_commit=False)
    with transaction(made) as s:
        sync_catalog(s)
    yield made
    engine.dispose()


@pytest.fixture
def service(factory: sessionmaker[Session]) -> Service:
    return worker_factory(
        Service, db=DatabaseAccess(factory, "corr-test"), relay=Relay(), claims=Claims()
    )


def outbox_events(factory: sessionmaker[Session]) -> list[tuple[str, str | None]]:
    with transaction(factory) as s:
        return [(o.event_type, o.correlation_id) for o in s.scalars(select(Outbox).order_by(Outbox.id))]


# Every entrypoint this file calls; test_every_entrypoint_is_covered compares it with the service's.
COVERED = {
    "health", "list_plans", "get_plan", "plan_items", "list_sources",
    "create_allocation", "import_allocations", "check_allocation_import", "disburse", "reverse_disbursement",
    "import_disbursements", "check_disbursement_import",
    "adjust", "carry_over", "close_allocation", "reverse_year_end",
    "get_allocation", "get_disbursement", "list_allocations", "funding_status", "funding_tree", "funding_by_unit",
    "set_capitation_fund", "pay_advance", "settle_capitation", "advance_suggestion", "capitation_status",
    "capitation_year",
    "record_quarterly_report", "record_quarterly_result", "record_quarterly_payment", "quarter_schedules",
    "surplus_uses", "reported_facilities", "settlement_facilities", "overdue_steps", "on_capitation_spend_changed",
}  # fmt: skip


def test_every_entrypoint_is_covered():
    assert entrypoint_names(Service) == COVERED


def test_plan_entrypoints(service: Service):
    assert service.health() == {"status": "ok", "plans": len(service.list_plans())}
    plans = service.list_plans()
    assert [p["id"] for p in plans][:2] == [1, 2]
    assert service.get_plan(1) == plans[0]
    assert any(i["code"] == "II.5" for i in service.plan_items(1))
    with pytest.raises(NotFound):
        service.get_plan(999)
    assert {s["code"] for s in service.list_sources()} >= {"provincial_budget", "bhyt_surplus_20"}
    plans = {s["code"]: s["plans"] for s in service.list_sources()}
    assert (plans["provincial_budget"], plans["bhyt_surplus_20"], plans["district_budget"]) == ([1, 2], [1], [])


def test_ledger_writes_commit_publish_and_wake_the_relay(service: Service, factory: sessionmaker[Session]):
    root = service.create_allocation(ROOT)
    assert (root["allocated"], root["remaining"]) == (900_000_000, 900_000_000)
    child = service.create_allocation(
        {"parent_allocation_id": root["id"], "recipient_unit": "910", "amount": 300_000_000, **DECISION}
    )
    assert (child["plan_id"], child["item_code"]) == (2, "II.5")  # the district plan holding the recipient
    paid = service.disburse(child["id"], {"amount": 120_000_000, "date": "2024-04-01", "reference": "UNC 1"})
    assert paid["allocation"]["remaining"] == 180_000_000
    undone = service.reverse_disbursement(paid["id"], {"amount": 20_000_000, "date": "2024-04-02"})
    assert (undone["amount"], undone["reverses_id"]) == (-20_000_000, paid["id"])
    adjusted = service.adjust(root["id"], {"amount": -100_000_000, **DECISION})
    assert adjusted["allocation"]["remaining"] == 500_000_000
    assert service.relay.wakes == 5
    assert outbox_events(factory) == [
        ("allocation_made", "corr-test"),
        ("sub_allocation_made", "corr-test"),
        ("disbursed", "corr-test"),
        ("disbursed", "corr-test"),
        ("adjusted", "corr-test"),
    ]

    detail = service.get_allocation(root["id"])
    assert [c["id"] for c in detail["sub_allocations"]] == [child["id"]]
    assert detail["remaining"] == adjusted["allocation"]["remaining"]
    assert service.get_disbursement(paid["id"])["reversed"] == 20_000_000
    listed = service.list_allocations({"plan_id": 2}, 1, 10)
    assert (listed["total"], listed["items"][0]["id"]) == (1, child["id"])
    # By the recipient's level: what the template offers a sub-allocation to come from (province, districts).
    by_level = {lv: [a["id"] for a in service.list_allocations({"level": lv}, 1, 10)["items"]]
                for lv in ("province", "district", "commune")}  # fmt: skip
    assert by_level == {"province": [root["id"]], "district": [child["id"]], "commune": []}

    # By the decision's number as recorded, spaces around it aside: not a part of it, not another number.
    def by_decision(number: str) -> list[int]:
        return [a["id"] for a in service.list_allocations({"decision_no": number}, 1, 10)["items"]]

    assert by_decision(" 1/QĐ-UBND ") == [root["id"], child["id"]]
    assert by_decision("1/QĐ") == [] and by_decision("2/QĐ-UBND") == []
    assert service.funding_status(1, "II.5", 2024)["allocated"] == 800_000_000
    assert service.funding_tree(1, 2024)["items"]["II.5"]["disbursed"] == 100_000_000
    assert service.funding_by_unit("910", 2024)["allocated"] == 300_000_000
    station = service.create_allocation(
        {"parent_allocation_id": child["id"], "recipient_unit": "31051", "amount": 10_000_000, **DECISION}
    )
    assert [a["id"] for a in service.list_allocations({"level": "commune"}, 1, 10)["items"]] == [station["id"]]


def test_import_entrypoint_records_a_sheet_once_and_names_a_bad_row(
    service: Service, factory: sessionmaker[Session]
):
    sheet = {"rows": [{"row": 5, **ROOT}, {"row": 6, **ROOT, "recipient_unit": "911"}]}
    out = service.import_allocations(sheet)
    assert (out["recorded"], out["already_recorded"], service.relay.wakes) == (2, 0, 1)
    assert service.import_allocations(sheet)["already_recorded"] == 2
    with pytest.raises(DomainError) as exc:  # a float amount from a direct caller: named by its path
        service.import_allocations({"rows": [{"row": 5, **ROOT, "amount": 1.5}]})
    assert [e["field"] for e in exc.value.errors] == ["rows.0.amount"]
    assert [e for e, _ in outbox_events(factory)] == ["allocation_made", "allocation_made"]
    bad = {"rows": [{"row": 7, **ROOT, "recipient_unit": "912"}, {"row": 8, **ROOT, "item_code": "IX.9"}]}
    wakes = service.relay.wakes
    assert [(e["row"], e["code"]) for e in service.check_allocation_import(bad)] == [(8, "unknown_item")]
    assert len(outbox_events(factory)) == 2 and service.relay.wakes == wakes  # the check kept nothing


def test_disbursement_import_entrypoints_record_once_and_check_without_keeping(
    service: Service, factory: sessionmaker[Session]
):
    root = service.create_allocation(ROOT)
    sheet = {"rows": [{"row": 5, "allocation_id": root["id"], "amount": 1_000_000, "date": "2024-03-05",
                       "reference": "UNC 1"}]}  # fmt: skip
    out = service.import_disbursements(sheet)
    assert (out["recorded"], out["already_recorded"]) == (1, 0)
    assert service.import_disbursements(sheet)["already_recorded"] == 1
    with pytest.raises(DomainError) as exc:  # the voucher number is what a payment is matched by: required
        service.import_disbursements({"rows": [{**sheet["rows"][0], "reference": None}]})
    assert [e["field"] for e in exc.value.errors] == ["rows.0.reference"]
    with pytest.raises(DomainError) as exc:  # nor blank, which would match no voucher
        service.import_disbursements({"rows": [{**sheet["rows"][0], "reference": "  "}]})
    assert [(e["field"], e["message"]) for e in exc.value.errors] == [
        ("rows.0.reference", "Số chứng từ không được để trống.")
    ]
    assert [e for e, _ in outbox_events(factory)] == ["allocation_made", "disbursed"]
    wakes = service.relay.wakes
    bad = {"rows": [{**sheet["rows"][0], "row": 6, "reference": "UNC 2", "amount": 10**12}]}
    assert [(e["row"], e["code"]) for e in service.check_disbursement_import(bad)] == [(6, "exceeds_allocation")]
    assert [(e["row"], e["code"]) for e in service.check_disbursement_import({**bad, "rows": sheet["rows"]})] == []
    assert len(outbox_events(factory)) == 2 and service.relay.wakes == wakes  # the check kept nothing


def test_year_end_entrypoints(service: Service, factory: sessionmaker[Session]):
    # A 2024 allocation of 900 tr., 600 tr. paid in 2024: 300 tr. held on 31/12/2024.
    root = service.create_allocation(ROOT)
    service.disburse(root["id"], {"amount": 600_000_000, "date": "2024-10-01"})
    record = {"date": "2025-01-15", "decision_no": "12/QĐ-STC", "decision_date": "2025-01-15"}
    carried = service.carry_over(root["id"], record | {"amount": 200_000_000}, "ketoan")
    assert (carried["kind"], carried["recorded_by"], carried["allocation"]["carried_over"]) == (
        "carry_over",
        "ketoan",
        200_000_000,
    )
    closed = service.close_allocation(root["id"], record | {"amount": 100_000_000})
    assert (closed["kind"], closed["allocation"]["remaining"], closed["allocation"]["closed"]) == (
        "close",
        0,
        100_000_000,
    )
    with pytest.raises(DomainError) as exc:
        service.close_allocation(root["id"], record | {"amount": 1})
    assert exc.value.errors[0]["code"] == "exceeds_undisbursed"
    undone = service.reverse_year_end(closed["id"], record | {"amount": 10_000_000}, "ketoan")
    assert (undone["amount"], undone["allocation"]["remaining"]) == (-10_000_000, 10_000_000)
    assert service.funding_status(1, "II.5", 2025)["carried_over_in"] == 200_000_000
    assert [r["kind"] for r in service.get_allocation(root["id"])["year_end"]] == ["carry_over", "close", "close"]
    assert service.relay.wakes == 5
    assert [e for e, _ in outbox_events(factory)][-3:] == [
        "allocation_carried_over",
        "allocation_closed",
        "allocation_year_end_reversed",
    ]


def test_a_refused_command_writes_nothing_and_names_its_fields(service: Service, factory: sessionmaker[Session]):
    # The contract schema's refusal is a DomainError listing each field (never a raw ValidationError).
    with pytest.raises(DomainError) as exc:
        service.create_allocation({"plan_id": "x", "amount": 1.5})
    fields = {e["field"] for e in exc.value.errors}
    assert {"plan_id", "amount"} <= fields and exc.value.status == 422
    with pytest.raises(DomainError) as exc:
        service.create_allocation(ROOT | {"amount": 0})
    assert exc.value.errors[0]["code"] == "amount_not_positive"
    with pytest.raises(NotFound):
        service.disburse(12345, {"amount": 1, "date": "2024-04-01"})
    assert outbox_events(factory) == [] and service.relay.wakes == 0


def test_capitation_entrypoints(service: Service, factory: sessionmaker[Session]):
    fund = service.set_capitation_fund(
        {"facility_code": FACILITY, "period": "2024-Q1", "cards": 100, "rate_per_card": 11_000, "coefficient": "1"}
    )
    assert fund["fund"] == 1_100_000
    with pytest.raises(DomainError) as exc:  # a list of groups past any facility's is refused by name
        group = {"cards": 1, "rate_per_card": 1}
        service.set_capitation_fund(
            {"facility_code": FACILITY, "period": "2024-Q2", "groups": [{**group, "group": str(i)} for i in range(51)]}
        )
    assert [e["field"] for e in exc.value.errors] == ["groups"]
    advance = service.pay_advance(
        {"facility_code": FACILITY, "period": "2024-Q1", "amount": 500_000, "date": "2024-02-01"}
    )
    assert (advance["advanced"], advance["suggested"]) == (500_000, 880_000)  # first contract: 80% of the fund
    envelope = {
        "event_id": "e-1",
        "event_type": "capitation_spend_changed",
        "occurred_at": "2024-04-02T08:00:00+07:00",
        "data": {"facility_code": FACILITY, "period": "2024-Q1", "spend": "1000000.50", "claims": 3},
    }
    assert service.on_capitation_spend_changed(envelope) is True
    assert service.on_capitation_spend_changed(envelope) is False  # a redelivery: the inbox has it
    with transaction(factory) as s:
        assert s.scalar(select(func.count()).select_from(Inbox)) == 1
    status = service.capitation_status(FACILITY, "2024-Q1")
    assert (status["fund"], status["advanced"], status["spend"], status["balance"]) == (
        1_100_000,
        500_000,
        "1000000.50",
        "99999.50",
    )
    # Spend 1 000 000,50 đ is 1 000 001 whole đồng against a fund of 1 100 000.
    settled = service.settle_capitation({"facility_code": FACILITY, "period": "2024-Q1"})
    assert (settled["provisional"], settled["balance"], settled["spend_reported"]) == (True, 99_999, True)
    # The year: no annual fund nor final settlement yet; Q1's provisional figures.
    year = service.capitation_year(FACILITY, 2024)
    assert (year["fund_record"], year["settlement"], year["advanced"]) == (None, None, 500_000)
    assert year["quarters"][0] == {
        "period": "2024-Q1",
        "fund": 1_100_000,
        "spend": "1000000.50",
        "advanced": 500_000,
        "balance": "99999.50",
    }
    with pytest.raises(DomainError) as exc:
        service.capitation_year(FACILITY, "2024-Q1")
    assert exc.value.errors[0]["code"] == "invalid_year"
    suggestion = service.advance_suggestion(FACILITY, "2024-Q2")
    assert suggestion["previous_period"] == "2024-Q1" and suggestion["report"] is None


def test_quarter_entrypoints_ask_claims_for_the_figures(service: Service):
    with pytest.raises(DomainError) as exc:
        service.record_quarterly_report({"facility_code": "bad", "period": "2024-Q2", "received_date": "2024-07-12"})
    assert exc.value.errors[0]["code"] == "invalid_facility"
    assert service.claims.asked == []  # a malformed facility is refused before claims is asked

    body = {"facility_code": FACILITY, "period": "2024-Q2"}
    report = service.record_quarterly_report(body | {"received_date": "2024-07-12"}, "bhxh.officer")
    assert report["advance"]["amount"] == 34_000_001
    result = service.record_quarterly_result(body | {"result_date": "2024-08-12"})
    assert result["to_pay"] == 41_000_000
    assert service.claims.asked == [(FACILITY, "2024-Q2"), (FACILITY, "2024-Q2")]
    payment = service.record_quarterly_payment(body | {"kind": "payment", "amount": 41_000_000, "date": "2024-08-20"})
    assert payment["left"] == 0
    [schedule] = service.quarter_schedules("2024-Q2", [FACILITY])
    assert schedule["steps"]["payment"]["settled"] == 41_000_000
    assert service.reported_facilities("2024-Q2") == [FACILITY]
    assert [service.settlement_facilities(q) for q in ("2024-Q1", "2024-Q2")] == [[], [FACILITY]]
    # The Q3 advance the report gives (due 19/7/2024) was never paid: past due today, for the facility's scope only.
    assert [(o["quarter"], o["step"], o["period"]) for o in service.overdue_steps(None)] == [
        ("2024-Q2", "advance", "2024-Q3")
    ]
    assert service.overdue_steps([FACILITY]) == service.overdue_steps(None) and service.overdue_steps(["91999"]) == []


def test_surplus_uses(service: Service):
    service.create_allocation(
        ROOT | {"source": "bhyt_surplus_20", "fiscal_year": 2021, "fund_year": 2020, "use": "equipment"}
    )
    assert service.surplus_uses() == [
        {"fund_year": 2020, "use": "equipment", "allocated": 900_000_000, "disbursed": 0}
    ]
