"""A sheet of disbursements imported through the handler, on databases built by the migrations (SQLite and
PostgreSQL): recorded together or not at all, each refusal naming its row, and a payment the ledger already
holds (the sheet sent again, a voucher entered by hand, a payment entered without a voucher number, a sheet sent
twice at once) never recorded twice."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers
from services.finance.models import Disbursement, Outbox
from services.finance.unit_of_work import FinanceUnitOfWork
from tests.integration.finance.test_allocation_import import M, row, run
from tests.support.concurrency import at_once


def allocation(db: sessionmaker[Session], unit: str = "910", amount: int = 100 * M) -> int:
    """An allocation of the province plan for 2024 (`amount` to `unit`), as test_allocation_import's rows."""
    made = run(db, handlers.create_allocation, {k: v for k, v in row(0, unit, amount).items() if k != "row"})
    return int(made["id"])


def pay(n: int, allocation_id: int, reference: str, amount: int = 10 * M, on: str = "2024-03-05") -> dict[str, Any]:
    return {"row": n, "allocation_id": allocation_id, "reference": reference, "amount": amount, "date": on}


def payments(db: sessionmaker[Session]) -> tuple[int, int, int]:
    """(disbursements, Σ of them, events in the outbox) in the ledger."""
    with transaction(db) as s:
        return (
            s.scalar(select(func.count()).select_from(Disbursement)),
            int(s.scalar(select(func.coalesce(func.sum(Disbursement.amount), 0)))),
            s.scalar(select(func.count()).select_from(Outbox)),
        )


def refusals(db: sessionmaker[Session], rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    with pytest.raises(DomainError) as exc:
        run(db, handlers.import_disbursements, {"rows": rows})
    return sorted((e["row"], e["code"], e["field"]) for e in exc.value.errors)


def test_a_sheet_sent_again_records_only_its_new_payments(finance_db):
    db = finance_db
    a, b = allocation(db), allocation(db, "911")
    sheet = [pay(5, a, "UNC 0012"), pay(6, a, "UNC 0013", 20 * M), pay(7, b, "UNC 0012", 5 * M)]
    first = run(db, handlers.import_disbursements, {"rows": sheet})
    assert (first["recorded"], first["already_recorded"]) == (3, 0)
    assert payments(db) == (3, 35 * M, 2 + 3)  # two allocations and three payments announced

    # Sent again with a row added, the voucher numbers typed another way (spaces and case are not a voucher).
    again = run(
        db,
        handlers.import_disbursements,
        {"rows": [pay(5, a, " unc  0012 "), *sheet[1:], pay(8, b, "UNC 0020", 1 * M)]},
    )
    assert [(r["row"], r["status"]) for r in again["rows"]] == [
        (5, "already_recorded"),
        (6, "already_recorded"),
        (7, "already_recorded"),
        (8, "recorded"),
    ]
    assert [r["id"] for r in again["rows"][:3]] == [r["id"] for r in first["rows"]]
    assert payments(db) == (4, 36 * M, 6)

    # One voucher paying an allocation twice (two rows alike) is two payments, recorded once each.
    twice = [pay(9, b, "UNC 0030", 2 * M), pay(10, b, "UNC 0030", 2 * M)]
    assert run(db, handlers.import_disbursements, {"rows": twice})["recorded"] == 2
    assert run(db, handlers.import_disbursements, {"rows": twice})["already_recorded"] == 2
    assert payments(db) == (6, 40 * M, 8)


def test_a_voucher_entered_by_hand_is_found_and_a_changed_payment_is_refused(finance_db):
    db = finance_db
    a = allocation(db)
    by_hand = run(db, handlers.disburse, a, {"amount": 10 * M, "date": "2024-03-05", "reference": "UNC 0012"})
    out = run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0012")]})
    assert out["rows"] == [{"row": 5, "id": by_hand["id"], "status": "already_recorded"}]

    # The sheet now says 12 where 10 was paid, or another day: recording it would count the money twice.
    with pytest.raises(DomainError) as exc:
        run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0012", 12 * M), pay(6, a, "UNC 0013")]})
    (refusal,) = exc.value.errors
    assert (refusal["row"], refusal["code"], refusal["field"]) == (5, "differs_from_recorded", "amount")
    assert f"lần giải ngân số {by_hand['id']}" in refusal["message"] and "10.000.000" in refusal["message"]
    assert refusals(db, [pay(5, a, "UNC 0012", on="2024-03-06")]) == [(5, "differs_from_recorded", "date")]
    assert payments(db)[:2] == (1, 10 * M)  # row 6 was good, and is not recorded either

    # Reversed in part, the payment is still the voucher's.
    run(db, handlers.reverse_disbursement, by_hand["id"], {"amount": 1 * M, "date": "2024-03-20"})
    assert run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0012")]})["already_recorded"] == 1


def test_a_payment_recorded_wrong_is_mended_by_reversing_it_and_sending_the_sheet_again(finance_db):
    db = finance_db
    a = allocation(db)
    typo = run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0012", 12 * M)]})["rows"][0]["id"]
    mended = [pay(5, a, "UNC 0012", 10 * M), pay(6, a, "UNC 0013", 1 * M)]
    assert refusals(db, mended) == [(5, "differs_from_recorded", "amount")]
    run(db, handlers.reverse_disbursement, typo, {"date": "2024-03-20", "reference": "hủy UNC 0012"})
    out = run(db, handlers.import_disbursements, {"rows": mended})
    assert [r["status"] for r in out["rows"]] == ["recorded", "recorded"]
    assert payments(db)[:2] == (4, 11 * M)  # 12 paid, 12 taken back, 10 and 1 paid
    assert run(db, handlers.import_disbursements, {"rows": mended})["already_recorded"] == 2
    # The old sheet sent again does not pay the reversed 12 anew: the voucher now stands for the 10 paid.
    assert refusals(db, [pay(5, a, "UNC 0012", 12 * M)]) == [(5, "differs_from_recorded", "amount")]
    assert payments(db)[:2] == (4, 11 * M)


def test_a_payment_reversed_in_full_is_not_paid_again_by_its_sheet(finance_db):
    db = finance_db
    a = allocation(db)
    sheet = [pay(5, a, "UNC 0012"), pay(6, a, "UNC 0012")]  # one voucher paying twice
    first = [r["id"] for r in run(db, handlers.import_disbursements, {"rows": sheet})["rows"]]
    for paid in first:  # the treasury returned both
        run(db, handlers.reverse_disbursement, paid, {"date": "2024-03-20"})
    again = run(db, handlers.import_disbursements, {"rows": sheet})
    assert [(r["id"], r["status"]) for r in again["rows"]] == [(i, "already_recorded") for i in first]
    assert payments(db)[:2] == (4, 0)


def test_voucher_numbers_start_again_each_year(finance_db):
    db = finance_db
    a = allocation(db)
    run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0001", 60 * M)]})
    decision = {"decision_no": "90/QĐ-UBND", "decision_date": "2025-01-05"}
    run(db, handlers.carry_over, a, {"amount": 40 * M, "date": "2024-12-31", **decision})
    # The next year's first voucher of the carried-over money has the number of the year before's: 2025's
    # statement alone is a new payment, not the 2024 one with another date and amount.
    next_year = pay(5, a, "UNC 0001", 15 * M, on="2025-02-01")
    assert run(db, handlers.import_disbursements, {"rows": [next_year]})["recorded"] == 1
    sheet = [pay(5, a, "UNC 0001", 60 * M), {**next_year, "row": 6}]
    assert run(db, handlers.import_disbursements, {"rows": sheet})["already_recorded"] == 2
    assert payments(db)[:2] == (2, 75 * M)


def test_a_sheets_rows_draw_on_the_carried_over_money_the_rows_above_left(finance_db):
    db = finance_db
    a = allocation(db)
    run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0001", 60 * M)]})
    decision = {"decision_no": "91/QĐ-UBND", "decision_date": "2025-01-05"}
    run(db, handlers.carry_over, a, {"amount": 40 * M, "date": "2024-12-31", **decision})
    # 2025's payments draw only on the 40 carried over: the second row finds 10 left after the first.
    sheet = [pay(5, a, "UNC 0001", 30 * M, on="2025-02-01"), pay(6, a, "UNC 0002", 15 * M, on="2025-02-02")]
    assert refusals(db, sheet) == [(6, "exceeds_carried_over", "amount")]
    sheet[1]["amount"] = 10 * M
    assert run(db, handlers.import_disbursements, {"rows": sheet})["recorded"] == 2
    assert payments(db)[:2] == (3, 100 * M)


def test_a_payment_recorded_without_a_voucher_number_is_not_paid_again(finance_db):
    db = finance_db
    a = allocation(db)
    blind = run(db, handlers.disburse, a, {"amount": 10 * M, "date": "2024-03-05"})
    with pytest.raises(DomainError) as exc:
        run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 0012"), pay(6, a, "UNC 0013", 3 * M)]})
    (refusal,) = exc.value.errors
    assert (refusal["row"], refusal["code"], refusal["field"]) == (5, "recorded_without_reference", "reference")
    assert f"lần giải ngân số {blind['id']}" in refusal["message"]
    assert payments(db)[:2] == (1, 10 * M)

    # Another day, or another sum, is another payment; so is a second payment alike past the one recorded.
    out = run(
        db,
        handlers.import_disbursements,
        {"rows": [pay(6, a, "UNC 0013", 3 * M), pay(7, a, "UNC 0014", on="2024-03-06")]},
    )
    assert out["recorded"] == 2
    assert refusals(db, [pay(8, a, "UNC 0015"), pay(9, a, "UNC 0016")]) == [
        (8, "recorded_without_reference", "reference")
    ]
    # Reversed in full, the payment without a voucher stands in no row's way: it is recorded again with one.
    run(db, handlers.reverse_disbursement, blind["id"], {"date": "2024-03-07"})
    assert run(db, handlers.import_disbursements, {"rows": [pay(8, a, "UNC 0015")]})["recorded"] == 1


def test_every_refused_row_is_named_in_sheet_order_and_nothing_is_written(finance_db):
    db = finance_db
    a, b = allocation(db), allocation(db, "911", 30 * M)
    bad = [
        pay(5, a, "UNC 1", 60 * M),
        pay(6, a, "UNC 2", 50 * M),  # 60 + 50 pass the 100 allocated: the row above has paid its part
        pay(7, 999_999, "UNC 3"),
        pay(8, b, "UNC 4", 0),
        pay(9, b, "UNC 5", 30 * M),
        pay(10, b, "UNC 6"),  # row 9 paid all 30 of b
    ]
    assert refusals(db, bad) == [
        (6, "exceeds_allocation", "amount"),
        (7, "unknown_allocation", "allocation_id"),
        (8, "amount_not_positive", "amount"),
        (10, "exceeds_allocation", "amount"),
    ]
    assert payments(db) == (0, 0, 2)


def test_the_same_sheet_sent_at_once_by_several_writers_is_recorded_once(finance_db):
    db = finance_db
    a, b = allocation(db), allocation(db, "911")
    sheet = [pay(5, a, "UNC 1"), pay(6, b, "UNC 1"), pay(7, a, "UNC 2")]
    answers = at_once(6, lambda: run(db, handlers.import_disbursements, {"rows": sheet}))
    assert sorted(x["recorded"] for x in answers) == [0, 0, 0, 0, 0, 3]
    assert payments(db) == (3, 30 * M, 5)


def test_a_check_names_the_same_refusals_and_keeps_nothing(finance_db):
    db = finance_db
    a = allocation(db)

    def checked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # finance's check_disbursement_import
        return FinanceUnitOfWork(db).refusals(handlers.import_disbursements, {"rows": rows})

    assert [(e["row"], e["code"]) for e in checked([pay(5, a, "UNC 1"), pay(6, a, "UNC 2", 95 * M)])] == [
        (6, "exceeds_allocation")
    ]
    assert checked([pay(5, a, "UNC 1")]) == []
    assert payments(db) == (0, 0, 1)
    run(db, handlers.import_disbursements, {"rows": [pay(5, a, "UNC 1")]})
    assert [e["code"] for e in checked([pay(5, a, "UNC 1", 1 * M)])] == ["differs_from_recorded"]
    assert payments(db) == (1, 10 * M, 2)
