"""The year end still to decide (`list_allocations(year_end_due=True)`), on databases built by the migrations
(SQLite and PostgreSQL): the allocations of a year already over that still hold money no carry-over or close has
decided, each with what it holds, and the sum. Today is set to 06/12/2024, inside the plans' period (2018–2025),
so that a year not yet over has allocations too; every figure is worked by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.common import clock
from services.common.db import transaction
from services.finance import handlers, views
from services.finance.unit_of_work import FinanceUnitOfWork

M = 1_000_000
NOW = 2024
PAST = 2022  # its year end and the next year are both over


@pytest.fixture(autouse=True)
def in_december(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(clock, "today", lambda: date(NOW, 12, 6))


def run(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with FinanceUnitOfWork(db) as uow:
        return fn(uow, *args)


def due(db: sessionmaker[Session], **filters: Any) -> dict[str, Any]:
    with transaction(db) as s:
        return views.list_allocations(s, year_end_due=True, **filters)


def allocation(db: sessionmaker[Session], year: int, unit: str, amount: int, **more: Any) -> int:
    body = {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": year,
            "recipient_unit": unit, "amount": amount, "decision_no": f"{unit}/QĐ-UBND",
            "decision_date": f"{year}-01-05"} | more  # fmt: skip
    return run(db, handlers.create_allocation, body)["id"]


def year_end(amount: int) -> dict[str, Any]:
    on = f"{PAST + 1}-01-10"
    return {"amount": amount, "date": on, "decision_no": "05/QĐ-STC", "decision_date": on}


def test_only_money_of_an_ended_year_not_yet_decided_is_due(finance_db):
    db = finance_db
    # The province: 1 000 given, 400 passed to Vĩnh Thuận, 300 paid: it holds 300, of which it carries 200 over.
    root = allocation(db, PAST, "91", 1_000 * M)
    child = run(db, handlers.create_allocation, {"parent_allocation_id": root, "recipient_unit": "910",
                                                 "amount": 400 * M, "decision_no": "9/QĐ", "decision_date":
                                                 f"{PAST}-02-01"})["id"]  # fmt: skip
    run(db, handlers.disburse, root, {"amount": 300 * M, "date": f"{PAST}-06-01"})
    run(db, handlers.carry_over, root, year_end(200 * M))
    # Vĩnh Thuận paid 100 of its 400 and decided nothing: 300 still to decide.
    run(db, handlers.disburse, child, {"amount": 100 * M, "date": f"{PAST}-09-01"})
    # A district allocation paid in full, and one whose rest was closed: nothing to decide.
    paid = allocation(db, PAST, "911", 50 * M)
    run(db, handlers.disburse, paid, {"amount": 50 * M, "date": f"{PAST}-10-01"})
    closed = allocation(db, PAST, "912", 70 * M)
    run(db, handlers.close_allocation, closed, year_end(70 * M))
    # This year's money is not due: its year is not over.
    allocation(db, NOW, "910", 500 * M)

    answer = due(db)
    assert [(a["id"], a["remaining"]) for a in answer["items"]] == [(root, 100 * M), (child, 300 * M)]
    assert (answer["total"], answer["remaining_total"]) == (2, 400 * M)

    # Within Vĩnh Thuận only its own; a page holds what it asks for, the total and sum stay the whole list's.
    assert [a["id"] for a in due(db, unit="910")["items"]] == [child]
    page = due(db, page=2, per_page=1)
    assert [a["id"] for a in page["items"]] == [child]
    assert (page["total"], page["remaining_total"]) == (2, 400 * M)

    # Once decided it leaves the list: the province closes its 100, Vĩnh Thuận carries its 300 over.
    run(db, handlers.close_allocation, root, year_end(100 * M))
    run(db, handlers.carry_over, child, year_end(300 * M))
    assert due(db) == {"items": [], "page": 1, "per_page": 50, "total": 0, "remaining_total": 0}
    # Without the filter the list is as ever, with no sum.
    with transaction(db) as s:
        assert "remaining_total" not in views.list_allocations(s)
