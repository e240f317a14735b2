"""A sheet of allocations imported through the handler, on databases built by the migrations (SQLite and
PostgreSQL): recorded together or not at all, each refusal naming its row, and a row the ledger already holds
(the sheet sent again, a row entered by hand, a sheet sent twice at once) never recorded twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers
from services.finance.models import Allocation, Outbox
from services.finance.unit_of_work import FinanceUnitOfWork
from tests.support.concurrency import at_once

M = 1_000_000


def row(n: int, unit: str = "910", amount: int = 100 * M, **kw: Any) -> dict[str, Any]:
    return {
        "row": n,
        "plan_id": 1,
        "item_code": "II.5",
        "source": "provincial_budget",
        "fiscal_year": 2024,
        "recipient_unit": unit,
        "amount": amount,
        "decision_no": "15/QĐ-UBND",
        "decision_date": "2024-01-10",
        **kw,
    }


def run(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with FinanceUnitOfWork(db) as uow:
        return fn(uow, *args)


def refusals(db: sessionmaker[Session], rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    with pytest.raises(DomainError) as exc:
        run(db, handlers.import_allocations, {"rows": rows})
    return [(e["row"], e["code"], e["field"]) for e in exc.value.errors]


def counts(db: sessionmaker[Session]) -> tuple[int, int]:
    """(allocations, outbox events) in the ledger."""
    with transaction(db) as s:
        return (
            s.scalar(select(func.count()).select_from(Allocation)),
            s.scalar(select(func.count()).select_from(Outbox)),
        )


def test_a_sheet_sent_again_records_only_its_new_rows(finance_db):
    db = finance_db
    # Rows 6 and 7 are alike: one decision giving Vĩnh Thuận the same sum twice is two allocations.
    sheet = [row(5, "911"), row(6), row(7), row(8, "912", 250 * M, note="đợt 1")]
    first = run(db, handlers.import_allocations, {"rows": sheet})
    assert (first["recorded"], first["already_recorded"]) == (4, 0)
    assert [r["status"] for r in first["rows"]] == ["recorded"] * 4
    assert counts(db) == (4, 4)  # each allocation announced, as create_allocation announces it

    # The same sheet with a row added, and a note changed (a note does not make another allocation).
    sheet[3] = row(8, "912", 250 * M, note="đợt 1, đã sửa ghi chú")
    again = run(db, handlers.import_allocations, {"rows": [*sheet, row(9, "913")]})
    assert (again["recorded"], again["already_recorded"]) == (1, 4)
    assert [(r["row"], r["id"], r["status"]) for r in again["rows"][:4]] == [
        (r["row"], r["id"], "already_recorded") for r in first["rows"]
    ]
    assert counts(db) == (5, 5)

    # A third alike row is a third allocation.
    third = run(db, handlers.import_allocations, {"rows": [row(6), row(7), row(10)]})
    assert [r["status"] for r in third["rows"]] == ["already_recorded", "already_recorded", "recorded"]
    assert counts(db) == (6, 6)


def test_a_row_entered_by_hand_is_found_and_a_changed_amount_is_refused(finance_db):
    db = finance_db
    by_hand = {k: v for k, v in row(0, "911").items() if k != "row"}
    made = run(db, handlers.create_allocation, by_hand)
    out = run(db, handlers.import_allocations, {"rows": [row(5, "911"), row(6)]})
    assert [(r["id"], r["status"]) for r in out["rows"]][0] == (made["id"], "already_recorded")
    assert counts(db) == (2, 2)

    # The sheet now says 120 where 100 was recorded: recording it would count the money twice.
    with pytest.raises(DomainError) as exc:
        run(db, handlers.import_allocations, {"rows": [row(5, "911", 120 * M), row(6), row(7, "912")]})
    (refusal,) = exc.value.errors
    assert (refusal["row"], refusal["code"], refusal["field"]) == (5, "differs_from_recorded", "amount")
    assert f"phân bổ số {made['id']}" in refusal["message"] and "100.000.000" in refusal["message"]
    assert counts(db) == (2, 2)  # row 7 was good, and is not recorded either


def test_every_refused_row_is_named_and_nothing_is_written(finance_db):
    db = finance_db
    bad = [
        row(5),
        row(6, item_code="IX.99"),
        row(7, amount=0),
        row(8, source="bhyt_fund"),  # the plan's section III names no BHYT fund
        row(9, "912"),
        row(10, parent_allocation_id=999_999),
    ]
    assert sorted(refusals(db, bad)) == [
        (6, "unknown_item", "item_code"),
        (7, "amount_not_positive", "amount"),
        (8, "source_not_in_plan", "source"),
        (10, "unknown_allocation", "parent_allocation_id"),
    ]
    assert counts(db) == (0, 0)


def test_sub_allocations_in_a_sheet_see_what_the_rows_above_passed_down(finance_db):
    db = finance_db
    parent = run(db, handlers.create_allocation, {k: v for k, v in row(0, "91").items() if k != "row"})
    down = {"parent_allocation_id": parent["id"], "decision_no": "20/QĐ-STC", "decision_date": "2024-02-01"}
    rows = [
        {"row": 5, "recipient_unit": "910", "amount": 60 * M, **down},
        {"row": 6, "recipient_unit": "911", "amount": 41 * M, **down},  # 40 left of the 100
    ]
    assert refusals(db, rows) == [(6, "exceeds_parent", "amount")]
    rows[1]["amount"] = 40 * M
    out = run(db, handlers.import_allocations, {"rows": rows})
    assert out["recorded"] == 2
    with transaction(db) as s:
        children = s.scalars(select(Allocation).where(Allocation.parent_id == parent["id"])).all()
    # Taken from the parent: the district plan 34/KH-UBND for Vĩnh Thuận (910), as create_allocation does.
    assert sorted((c.recipient_unit, c.amount, c.item_code, c.fiscal_year) for c in children) == [
        ("910", 60 * M, "II.5", 2024),
        ("911", 40 * M, "II.5", 2024),
    ]
    # Sent again, nothing more is passed down (nor refused as exceeding the parent).
    assert run(db, handlers.import_allocations, {"rows": rows})["already_recorded"] == 2


def test_the_same_sheet_sent_at_once_by_several_writers_is_recorded_once(finance_db):
    db = finance_db
    sheet = [row(5, "910"), row(6, "911"), row(7, "912")]
    answers = at_once(6, lambda: run(db, handlers.import_allocations, {"rows": sheet}))
    assert sorted(x["recorded"] for x in answers) == [0, 0, 0, 0, 0, 3]
    assert counts(db) == (3, 3)


def test_a_check_names_the_same_refusals_and_keeps_nothing(finance_db):
    db = finance_db

    def checked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # finance's check_allocation_import
        return FinanceUnitOfWork(db).refusals(handlers.import_allocations, {"rows": rows})

    bad = [row(5), row(6, item_code="IX.99"), row(7, "912")]
    assert [(e["row"], e["code"]) for e in checked(bad)] == [(6, "unknown_item")]
    assert checked([row(5), row(7, "912")]) == []
    assert counts(db) == (0, 0)  # neither the good rows nor their events were kept
    run(db, handlers.import_allocations, {"rows": [row(5)]})
    # Against what is recorded: a changed amount is named as the import would name it.
    assert [e["code"] for e in checked([row(5, amount=1)])] == ["differs_from_recorded"]
    assert counts(db) == (1, 1)
