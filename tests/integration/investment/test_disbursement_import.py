"""A treasury statement of project payments imported through investment's handler, on databases built by the
migrations (SQLite and PostgreSQL): recorded together or not at all, each refusal naming its row, a payment
investment already holds never recorded twice, and a payment recorded wrong undone the way investment undoes one
(a negative payment with its voucher)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.investment import handlers, views
from services.investment.models import Outbox, ProjectDisbursement
from services.investment.unit_of_work import InvestmentUnitOfWork
from tests.integration.investment.test_linked_capital import M, capital, command, project, read
from tests.support.concurrency import at_once

PB, NRD = "provincial_budget", "ntp_nrd"


def funded(db: sessionmaker[Session], station: str = "31063") -> int:
    """A project with 600 million of the province's capital and 200 of the programme's for 2024."""
    pid = project(db, station)
    capital(db, pid, PB, 2024, 600 * M)
    capital(db, pid, NRD, 2024, 200 * M)
    return pid


def pay(
    n: int, pid: int, reference: str, amount: int = 100 * M, on: str = "2024-05-06", source: str = PB
) -> dict[str, Any]:
    return {"row": n, "project_id": pid, "source": source, "reference": reference, "amount": amount, "date": on}


def send(db: sessionmaker[Session], rows: list[dict[str, Any]]) -> dict[str, Any]:
    return command(db, handlers.import_disbursements, {"rows": rows}, "ke-toan")


def refusals(db: sessionmaker[Session], rows: list[dict[str, Any]]) -> list[tuple[int, str, str]]:
    with pytest.raises(DomainError) as exc:
        send(db, rows)
    return sorted((e["row"], e["code"], e["field"]) for e in exc.value.errors)


def ledger(db: sessionmaker[Session]) -> tuple[int, int, int]:
    """(disbursement rows, Σ of them, project_disbursed events in the outbox)."""
    with transaction(db) as s:
        return (
            s.scalar(select(func.count()).select_from(ProjectDisbursement)),
            int(s.scalar(select(func.coalesce(func.sum(ProjectDisbursement.amount), 0)))),
            s.scalar(select(func.count()).select_from(Outbox).where(Outbox.event_type == "project_disbursed")),
        )


def test_a_statement_sent_again_records_only_its_new_lines(db):
    a, b = funded(db), funded(db, "31051")
    sheet = [
        pay(5, a, "UNC 0012"),
        pay(6, a, "UNC 0012", 50 * M, source=NRD),  # one voucher paying from two sources: two payments
        pay(7, b, "UNC 0012", 30 * M),
        pay(8, a, "GNT 0003", -20 * M),  # money returned to the treasury, with its own voucher
    ]
    first = send(db, sheet)
    assert (first["recorded"], first["already_recorded"]) == (4, 0)
    assert ledger(db) == (4, 160 * M, 4)

    # Sent again with a line added, the voucher numbers typed another way.
    again = send(db, [pay(5, a, " unc  0012 "), *sheet[1:], pay(9, b, "UNC 0020", 1 * M)])
    assert [(r["row"], r["status"]) for r in again["rows"]] == [
        (5, "already_recorded"),
        (6, "already_recorded"),
        (7, "already_recorded"),
        (8, "already_recorded"),
        (9, "recorded"),
    ]
    assert [r["id"] for r in again["rows"][:4]] == [r["id"] for r in first["rows"]]
    assert ledger(db) == (5, 161 * M, 5)
    with transaction(db) as s:
        assert set(s.scalars(select(ProjectDisbursement.recorded_by))) == {"ke-toan"}

    # The accounts the template lists: each project's sources, with what they were given and have paid.
    listed = read(db, views.capital_by_source, "31063")
    assert [(r["project_id"], r["source"], r["capital"], r["disbursed"]) for r in listed] == [
        (a, NRD, 200 * M, 50 * M),
        (a, PB, 600 * M, 80 * M),
    ]


def test_a_payment_recorded_wrong_is_undone_with_its_voucher_and_the_statement_sent_again(db):
    a = funded(db)
    by_hand = command(
        db, handlers.disburse, a, {"source": PB, "amount": 120 * M, "date": "2024-05-06", "reference": "UNC 0012"}, "x"
    )
    mended = [pay(5, a, "unc 0012"), pay(6, a, "UNC 0013", 1 * M)]
    with pytest.raises(DomainError) as exc:
        send(db, mended)
    (refusal,) = exc.value.errors
    assert (refusal["row"], refusal["code"], refusal["field"]) == (5, "differs_from_recorded", "amount")
    assert f"lần giải ngân số {by_hand['id']}" in refusal["message"]
    assert "cùng số chứng từ UNC 0012" in refusal["message"]  # how investment undoes it, its number as recorded
    assert ledger(db)[:2] == (1, 120 * M)  # row 6 was good, and is not recorded either

    # Undone as the refusal says: a negative payment of the same source, year and voucher.
    command(
        db, handlers.disburse, a, {"source": PB, "amount": -120 * M, "date": "2024-05-20", "reference": "UNC 0012"}, "x"
    )
    assert [r["status"] for r in send(db, mended)["rows"]] == ["recorded", "recorded"]
    assert ledger(db)[:2] == (4, 101 * M)
    assert send(db, mended)["already_recorded"] == 2
    # The old line does not pay the undone 120 anew: the voucher now stands for the 100 paid.
    assert refusals(db, [pay(5, a, "UNC 0012", 120 * M)]) == [(5, "differs_from_recorded", "amount")]


def test_a_payment_undone_in_full_is_not_paid_again_and_a_return_is_a_line_of_its_own(db):
    a = funded(db)
    sheet = [pay(5, a, "UNC 0012", 100 * M), pay(6, a, "UNC 0012", 100 * M)]  # one voucher paying twice
    send(db, sheet)
    for _ in sheet:  # both undone, each with the voucher's number
        command(
            db,
            handlers.disburse,
            a,
            {"source": PB, "amount": -100 * M, "date": "2024-05-07", "reference": "UNC 0012"},
            "x",
        )
    assert send(db, sheet)["already_recorded"] == 2
    assert ledger(db)[:2] == (4, 0)
    # A return larger than any payment of its voucher is money of its own (thu hồi), matched as such.
    send(db, [pay(5, a, "UNC 0020", 300 * M)])
    back = [pay(5, a, "UNC 0020", 300 * M), pay(6, a, "UNC 0012", -150 * M)]
    assert [r["status"] for r in send(db, back)["rows"]] == ["already_recorded", "recorded"]
    assert send(db, back)["already_recorded"] == 2
    assert ledger(db)[:2] == (6, 150 * M)


def test_a_negative_payment_undoes_the_payment_of_its_size_under_its_voucher(db):
    a = funded(db)
    send(db, [pay(5, a, "UNC 0030", 100 * M), pay(6, a, "UNC 0030", 30 * M)])
    # The 30 was typed wrong (35 was paid): undone by a negative 30 with the voucher, which is that payment's
    # undoing, not a part of the 100's, so the mended statement pays the 35.
    command(
        db, handlers.disburse, a, {"source": PB, "amount": -30 * M, "date": "2024-05-07", "reference": "UNC 0030"}, "x"
    )
    mended = [pay(5, a, "UNC 0030", 100 * M), pay(6, a, "UNC 0030", 35 * M)]
    assert [r["status"] for r in send(db, mended)["rows"]] == ["already_recorded", "recorded"]
    assert ledger(db)[:2] == (4, 135 * M)


def test_voucher_numbers_start_again_each_year(db):
    a = funded(db)
    capital(db, a, PB, 2025, 100 * M)
    send(db, [pay(5, a, "UNC 0001", 100 * M)])
    next_year = pay(5, a, "UNC 0001", 40 * M, on="2025-02-01")
    assert send(db, [next_year])["recorded"] == 1
    assert send(db, [pay(5, a, "UNC 0001", 100 * M), {**next_year, "row": 6}])["already_recorded"] == 2
    assert ledger(db)[:2] == (2, 140 * M)


def test_a_payment_recorded_without_a_voucher_number_is_not_paid_again(db):
    a = funded(db)
    blind = command(db, handlers.disburse, a, {"source": PB, "amount": 100 * M, "date": "2024-05-06"}, "x")
    with pytest.raises(DomainError) as exc:
        send(db, [pay(5, a, "UNC 0012"), pay(6, a, "UNC 0013", 3 * M)])
    (refusal,) = exc.value.errors
    assert (refusal["row"], refusal["code"], refusal["field"]) == (5, "recorded_without_reference", "reference")
    assert f"lần giải ngân số {blind['id']}" in refusal["message"] and "không ghi số chứng từ" in refusal["message"]
    # From the other source it is another payment.
    assert send(db, [pay(5, a, "UNC 0012", source=NRD)])["recorded"] == 1
    # Undone (a negative payment without a voucher), it stands in no line's way.
    command(db, handlers.disburse, a, {"source": PB, "amount": -100 * M, "date": "2024-05-08"}, "x")
    assert send(db, [pay(5, a, "UNC 0012")])["recorded"] == 1
    assert ledger(db)[:2] == (4, 200 * M)


def test_every_refused_row_is_named_in_sheet_order_and_nothing_is_written(db):
    a = funded(db)
    bad = [
        pay(5, a, "UNC 1", 500 * M),
        pay(6, a, "UNC 2", 150 * M),  # 500 + 150 pass the 600 given: the row above has paid its part
        pay(7, 999_999, "UNC 3"),
        pay(8, a, "UNC 4", 0),
        pay(9, a, "UNC 5", source="lottery"),
        pay(10, a, "UNC 6", -300 * M, source=NRD),  # nothing paid from that source to return
    ]
    assert refusals(db, bad) == [
        (6, "exceeds_capital", "amount"),
        (7, "unknown_project", "project_id"),
        (8, "invalid_amount", "amount"),
        (9, "unknown_source", "source"),
        (10, "reversal_exceeds_disbursed", "amount"),
    ]
    assert ledger(db) == (0, 0, 0)


def test_the_same_statement_sent_at_once_by_several_writers_is_recorded_once(db):
    a, b = funded(db), funded(db, "31051")
    sheet = [pay(5, b, "UNC 1"), pay(6, a, "UNC 1"), pay(7, a, "UNC 2", source=NRD)]
    answers = at_once(6, lambda: send(db, sheet))
    assert sorted(x["recorded"] for x in answers) == [0, 0, 0, 0, 0, 3]
    assert ledger(db) == (3, 300 * M, 3)


def test_a_check_names_the_same_refusals_and_keeps_nothing(db):
    a = funded(db)

    def checked(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:  # investment's check_disbursement_import
        return InvestmentUnitOfWork(db).refusals(handlers.import_disbursements, {"rows": rows}, "x")

    assert [(e["row"], e["code"]) for e in checked([pay(5, a, "UNC 1"), pay(6, a, "UNC 2", 550 * M)])] == [
        (6, "exceeds_capital")
    ]
    assert checked([pay(5, a, "UNC 1")]) == []
    assert ledger(db) == (0, 0, 0)
    send(db, [pay(5, a, "UNC 1")])
    assert [e["code"] for e in checked([pay(5, a, "UNC 1", 1 * M)])] == ["differs_from_recorded"]
    assert ledger(db) == (1, 100 * M, 1)
