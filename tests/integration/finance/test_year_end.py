"""The budget year end through the handlers, on databases built by the migrations (SQLite and PostgreSQL):
carry-over and close of a past year's allocations, next-year payments drawing on the carried money, the
funding answers showing it apart from `allocated`, and the kept answers following the new records.
Every figure worked by hand in the comments."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers, views
from services.finance.models import Outbox
from services.finance.unit_of_work import FinanceUnitOfWork

M = 1_000_000
DECISION = {"decision_no": "1/QĐ-UBND", "decision_date": "2024-01-05"}


def run(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with FinanceUnitOfWork(db) as uow:
        return fn(uow, *args)


def read(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with transaction(db) as s:
        return fn(s, *args)


def refused(db: sessionmaker[Session], fn: Any, *args: Any) -> tuple[str, str]:
    with pytest.raises(DomainError) as exc:
        run(db, fn, *args)
    return exc.value.errors[0]["code"], exc.value.errors[0]["field"]


def year_end(amount: int, on: str, number: str = "05/QĐ-STC") -> dict[str, Any]:
    return {"amount": amount, "date": on, "decision_no": number, "decision_date": on}


def test_carry_over_and_close_of_a_year(finance_db):
    db = finance_db
    root = run(db, handlers.create_allocation, {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget",
                                                "fiscal_year": 2024, "recipient_unit": "91", "amount": 1_000 * M,
                                                **DECISION})  # fmt: skip
    child = run(db, handlers.create_allocation,
                {"parent_allocation_id": root["id"], "recipient_unit": "910", "amount": 400 * M, **DECISION})
    run(db, handlers.disburse, root["id"], {"amount": 300 * M, "date": "2024-06-01"})
    run(db, handlers.disburse, child["id"], {"amount": 100 * M, "date": "2024-09-01"})
    # On 31/12/2024 the province holds 1 000 − 400 passed down − 300 paid = 300; Vĩnh Thuận 400 − 100 = 300.
    # The province cannot carry over what Vĩnh Thuận holds.
    assert refused(db, handlers.carry_over, root["id"], year_end(300 * M + 1, "2025-01-10")) == (
        "exceeds_undisbursed",
        "amount",
    )
    carried = run(db, handlers.carry_over, root["id"], year_end(200 * M, "2025-01-10"), "ketoan.stc")
    assert (carried["kind"], carried["amount"], carried["recorded_by"]) == ("carry_over", 200 * M, "ketoan.stc")
    assert (carried["allocation"]["carried_over"], carried["allocation"]["remaining"]) == (200 * M, 100 * M)
    closed = run(db, handlers.close_allocation, root["id"], year_end(100 * M, "2025-02-15"))
    assert (closed["allocation"]["closed"], closed["allocation"]["remaining"]) == (100 * M, 0)
    assert refused(db, handlers.close_allocation, root["id"], year_end(1, "2025-02-16"))[0] == "exceeds_undisbursed"
    run(db, handlers.carry_over, child["id"], year_end(250 * M, "2025-01-12"))
    run(db, handlers.close_allocation, child["id"], year_end(50 * M, "2025-01-12"))

    # 2025: the province pays 150 of its 200 carried; 51 more is refused (50 left); nothing of 2024 is left.
    paid = run(db, handlers.disburse, root["id"], {"amount": 150 * M, "date": "2025-03-01"})
    assert (paid["allocation"]["carried_over_left"], paid["allocation"]["remaining"]) == (50 * M, 0)
    assert refused(db, handlers.disburse, root["id"], {"amount": 50 * M + 1, "date": "2025-03-02"}) == (
        "exceeds_carried_over",
        "amount",
    )
    assert refused(db, handlers.disburse, root["id"], {"amount": 1, "date": "2024-12-30"})[0] == "exceeds_allocation"
    assert refused(db, handlers.disburse, root["id"], {"amount": 1, "date": "2026-01-02"})[0] == "carried_over_expired"

    # 2024 for the province plan's II.5: allocated 1 000 as before; paid 300 + 100 in 2024 and 150 in 2025 of the
    # carried money = 550; carried to 2025 200 + 250 = 450; closed 100 + 50 = 150.
    s2024 = read(db, views.funding_status, 1, "II.5", 2024)
    assert (s2024["allocated"], s2024["disbursed"]) == (1_000 * M, 550 * M)
    assert (s2024["carried_over_in"], s2024["carried_over_out"], s2024["closed"]) == (0, 450 * M, 150 * M)
    # 2025: nothing allocated, 450 brought in apart (never in `allocated`).
    s2025 = read(db, views.funding_status, 1, "II.5", 2025)
    assert (s2025["allocated"], s2025["carried_over_in"], s2025["carried_over_out"]) == (0, 450 * M, 0)
    assert s2025["year_end_by_year"] == {
        "2025": {"carried_over_in": 450 * M, "carried_over_out": 0, "closed": 0}
    }
    # All years: by year, the 2024 money out and the 2025 money in.
    every = read(db, views.funding_status, 1, "II")
    assert every["allocated"] == 1_000 * M
    assert every["year_end_by_year"] == {
        "2024": {"carried_over_in": 0, "carried_over_out": 450 * M, "closed": 150 * M},
        "2025": {"carried_over_in": 450 * M, "carried_over_out": 0, "closed": 0},
    }
    # Vĩnh Thuận's own: its plan, its unit, the tree.
    district = read(db, views.funding_status, 2, "II.5", 2025)
    assert (district["carried_over_in"], district["allocated"]) == (250 * M, 0)
    assert read(db, views.funding_tree, 1, 2024, "910")["items"]["II"]["closed"] == 50 * M
    unit = read(db, views.funding_by_unit, "910", 2025)
    assert (unit["allocated"], unit["carried_over_in"]) == (0, 250 * M)
    assert read(db, views.funding_by_unit, "91", 2024)["carried_over_out"] == 450 * M

    detail = read(db, views.allocation_detail, root["id"])
    assert [(r["kind"], r["amount"]) for r in detail["year_end"]] == [("carry_over", 200 * M), ("close", 100 * M)]
    assert (detail["carried_over"], detail["carried_over_left"], detail["closed"]) == (200 * M, 50 * M, 100 * M)
    with transaction(db) as s:
        kinds = [o.event_type for o in s.scalars(select(Outbox).order_by(Outbox.id))]
    assert kinds[-5:] == ["allocation_carried_over", "allocation_closed", "allocation_carried_over",
                          "allocation_closed", "disbursed"]  # fmt: skip


def test_payments_of_the_next_year_before_the_carry_over(finance_db):
    db = finance_db
    a = run(db, handlers.create_allocation, {"plan_id": 2, "item_code": "II.2", "source": "ntp_health_population",
                                             "fiscal_year": 2023, "recipient_unit": "910", "amount": 500 * M,
                                             **DECISION | {"decision_date": "2023-01-05"}})  # fmt: skip
    run(db, handlers.disburse, a["id"], {"amount": 200 * M, "date": "2023-05-01"})
    # Paid in January 2024 before the year end was recorded: 300 held on 31/12, 80 of it already spent.
    run(db, handlers.disburse, a["id"], {"amount": 80 * M, "date": "2024-01-20"})
    # Closing cannot take the 80 paid; a carry-over covers it.
    assert refused(db, handlers.close_allocation, a["id"], year_end(220 * M + 1, "2024-01-31"))[0] == (
        "exceeds_undisbursed"
    )
    after = run(db, handlers.carry_over, a["id"], year_end(100 * M, "2024-01-31"))["allocation"]
    # 100 carried, 80 of it paid: 20 left to pay in 2024; 200 of 2023 undecided.
    assert (after["carried_over_left"], after["remaining"]) == (20 * M, 200 * M)
    run(db, handlers.close_allocation, a["id"], year_end(200 * M, "2024-02-01"))
    assert read(db, views.allocation_detail, a["id"])["remaining"] == 0


def test_a_record_is_corrected_by_a_reversal(finance_db):
    db = finance_db
    a = run(db, handlers.create_allocation, {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget",
                                             "fiscal_year": 2024, "recipient_unit": "91", "amount": 100 * M,
                                             **DECISION})  # fmt: skip
    carried = run(db, handlers.carry_over, a["id"], year_end(100 * M, "2025-01-10"))
    run(db, handlers.disburse, a["id"], {"amount": 30 * M, "date": "2025-02-01"})
    # 70 of the 100 carried is unpaid: only that much can be undone.
    assert refused(db, handlers.reverse_year_end, carried["id"], year_end(70 * M + 1, "2025-02-02")) == (
        "carried_over_paid",
        "amount",
    )
    undone = run(db, handlers.reverse_year_end, carried["id"], year_end(40 * M, "2025-02-02"), "ketoan")
    assert (undone["amount"], undone["reverses_id"], undone["kind"]) == (-40 * M, carried["id"], "carry_over")
    # 60 carried (30 paid, 30 left), 40 of 2024 undecided again: closed, then the close undone in full.
    assert (undone["allocation"]["carried_over"], undone["allocation"]["remaining"]) == (60 * M, 40 * M)
    closed = run(db, handlers.close_allocation, a["id"], year_end(40 * M, "2025-02-03"))
    back = run(db, handlers.reverse_year_end, closed["id"], {k: v for k, v in year_end(0, "2025-02-04").items()
                                                             if k != "amount"})  # fmt: skip
    assert (back["amount"], back["allocation"]["closed"], back["allocation"]["remaining"]) == (-40 * M, 0, 40 * M)
    assert refused(db, handlers.reverse_year_end, closed["id"], year_end(1, "2025-02-05"))[0] == "already_reversed"
    assert refused(db, handlers.reverse_year_end, back["id"], year_end(1, "2025-02-05"))[0] == "not_reversible"
    s2025 = read(db, views.funding_status, 1, "II.5", 2025)
    assert (s2025["carried_over_in"], s2025["allocated"]) == (60 * M, 0)
    assert read(db, views.funding_status, 1, "II.5", 2024)["closed"] == 0
    with transaction(db) as s:
        kinds = [o.event_type for o in s.scalars(select(Outbox).order_by(Outbox.id))]
    assert kinds.count("allocation_year_end_reversed") == 2


def test_refusals_of_the_year_end(finance_db):
    db = finance_db
    current = run(db, handlers.create_allocation, {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget",
                                                   "fiscal_year": 2025, "recipient_unit": "91", "amount": 10 * M,
                                                   **DECISION})  # fmt: skip
    # (A year still running, `year_not_ended`, is proved in the domain tests: the plans end in 2025.)
    assert refused(db, handlers.carry_over, current["id"], year_end(1, "2025-12-30")) == ("before_year_end", "date")
    with pytest.raises(DomainError) as exc:
        run(db, handlers.close_allocation, current["id"], {"amount": 1.5, "date": "x"})
    assert {"amount", "date", "decision_no", "decision_date"} <= {e["field"] for e in exc.value.errors}


def test_a_root_allocation_names_a_source_of_its_plans_section_iii(finance_db):
    # The district plan 34/KH-UBND seeks the province's support; it names no district budget and no 20% surplus.
    body = {"plan_id": 2, "item_code": "II.5", "fiscal_year": 2024, "recipient_unit": "910", "amount": M, **DECISION}
    assert refused(finance_db, handlers.create_allocation, body | {"source": "district_budget"}) == (
        "source_not_in_plan",
        "source",
    )
    assert refused(finance_db, handlers.create_allocation, body | {"plan_id": 1, "source": "bhyt_fund"})[0] == (
        "source_not_in_plan"
    )
    assert run(finance_db, handlers.create_allocation, body | {"source": "ntp_nrd"})["source"] == "ntp_nrd"


def test_kept_funding_answers_follow_year_end_records(finance_db):
    db = finance_db
    a = run(db, handlers.create_allocation, {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget",
                                             "fiscal_year": 2024, "recipient_unit": "91", "amount": 70 * M,
                                             **DECISION})  # fmt: skip
    assert read(db, views.funding_status_kept, 1, "II.5", 2025, None)["carried_over_in"] == 0
    assert read(db, views.funding_tree_kept, 1, 2024, None)["items"]["II.5"]["closed"] == 0
    run(db, handlers.carry_over, a["id"], year_end(30 * M, "2025-01-03"))
    run(db, handlers.close_allocation, a["id"], year_end(40 * M, "2025-01-03"))
    assert read(db, views.funding_status_kept, 1, "II.5", 2025, None)["carried_over_in"] == 30 * M
    assert read(db, views.funding_tree_kept, 1, 2024, None)["items"]["II.5"]["closed"] == 40 * M
