"""A quarter's settlement in the finance ledger (SQLite and PostgreSQL): the report kept with the advance it
gives, the result against the quarter's advances, an excess advance refunded and offset, the dates and what is
overdue; a quarter 4 report from 01/7/2025 gives BHXH 60 days. Figures by hand."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from services.common import clock
from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers, views
from services.finance.unit_of_work import FinanceUnitOfWork
from services.finance.views import capitation as capitation_views

FACILITY = "91301"


def claims_answer(requested: str, approved: str, ffs: str, cap: str, drg: str, assessed: int = 3) -> dict[str, Any]:
    """The claims service's reconciliation of a facility-quarter, as finance receives it by RPC."""
    return {
        "claims": {
            "count": 3,
            "assessed": assessed,
            "requested": requested,
            "approved": approved,
            "rejected": "0.00",
            "pending": "0.00",
            "by_payment_method": {"fee_for_service": ffs, "capitation": cap, "drg": drg},
        }
    }


def run(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with FinanceUnitOfWork(db) as uow:
        return fn(uow, *args)


def read(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with transaction(db) as s:
        return fn(s, *args)


def refused(db: sessionmaker[Session], fn: Any, *args: Any) -> str:
    with pytest.raises(DomainError) as exc:
        run(db, fn, *args)
    return exc.value.errors[0]["code"]


def test_report_advance_result_refund_and_offset(finance_db):
    db = finance_db
    # Q2 2024: 10 000 000,50 đ fee for service + 30 000 000,25 capitation + 2 500 000,00 DRG = 42 500 000,75 đ.
    figures = claims_answer("42500000.75", "41000000.40", "10000000.50", "30000000.25", "2500000.00")
    report = run(
        db,
        handlers.record_report,
        {"facility_code": FACILITY, "period": "2024-Q2", "received_date": "2024-07-12"},
        figures,
    )
    assert report["total"] == "42500000.75"
    # 80% of 42 500 000,75 = 34 000 000,60 → 34 000 001 đ. Received Fri 12/7: Mon 15 … Fri 19/7.
    assert report["advance"] == {"period": "2024-Q3", "amount": 34_000_001, "due": "2024-07-19", "share": "0.80"}
    assert report["result_due"] == "2024-08-11"

    # The Q2 advance paid earlier was too much: 45 000 000 đ.
    run(
        db,
        handlers.pay_advance,
        {"facility_code": FACILITY, "period": "2024-Q2", "amount": 45_000_000, "date": "2024-04-10"},
    )
    result = run(
        db,
        handlers.record_result,
        {"facility_code": FACILITY, "period": "2024-Q2", "result_date": "2024-08-12"},
        figures,
    )
    # 41 000 000,40 → 41 000 000 đ approved; 45 000 000 advanced: 4 000 000 đ to come back.
    assert (result["approved_vnd"], result["advanced"], result["to_pay"], result["excess_advance"]) == (
        41_000_000,
        45_000_000,
        -4_000_000,
        4_000_000,
    )
    assert result["payment_due"] == "2024-08-22"
    pay = {"facility_code": FACILITY, "period": "2024-Q2", "date": "2024-08-20"}
    assert refused(db, handlers.record_payment, pay | {"kind": "payment", "amount": 1}) == "excess_advance"
    assert refused(db, handlers.record_payment, pay | {"kind": "offset", "amount": 1}) == "required"
    assert refused(db, handlers.record_payment, pay | {"kind": "offset", "amount": 1, "offset_period": "2024-Q2"}) == (
        "invalid_period"
    )
    run(db, handlers.record_payment, pay | {"kind": "refund", "amount": 1_500_000})
    assert refused(db, handlers.record_payment, pay | {"kind": "refund", "amount": 2_500_001}) == "exceeds_result"
    last = run(db, handlers.record_payment, pay | {"kind": "offset", "amount": 2_500_000, "offset_period": "2024-Q3"})
    assert last["left"] == 0

    schedule = read(db, views.quarter_schedule, FACILITY, "2024-Q2", date(2024, 9, 1))
    steps = schedule["steps"]
    assert steps["report"] == {"due": "2024-07-15", "date": "2024-07-12", "late": False, "overdue": False}
    assert steps["advance"]["overdue"] is True and steps["advance"]["paid"] == 0  # no Q3 advance recorded
    assert steps["result"] == {"due": "2024-08-11", "date": "2024-08-12", "late": True, "overdue": False}
    assert (steps["payment"]["date"], steps["payment"]["settled"], steps["payment"]["late"]) == (
        "2024-08-20",
        4_000_000,
        False,
    )
    assert schedule["overdue"] == ["advance"]

    # Money rows stay as written, whatever client writes.
    with pytest.raises(Exception, match="append-only"), transaction(db) as s:
        s.execute(text("UPDATE capitation_reports SET total = 0"))


def test_quarter_4_from_july_2025_gives_bhxh_60_days_and_results_need_a_report(finance_db):
    db = finance_db
    figures = claims_answer("1000.00", "1000.00", "0.00", "1000.00", "0.00")
    body = {"facility_code": FACILITY, "period": "2025-Q4", "result_date": "2026-01-20"}
    assert refused(db, handlers.record_result, body, figures) == "no_quarterly_report"
    q4 = run(
        db,
        handlers.record_report,
        {"facility_code": FACILITY, "period": "2025-Q4", "received_date": "2026-01-12"},
        figures,
    )
    assert q4["result_due"] == "2026-03-13"  # 60 days after 12/1/2026
    q4_2024 = run(
        db,
        handlers.record_report,
        {"facility_code": "91302", "period": "2024-Q4", "received_date": "2025-01-10"},
        figures,
    )
    assert q4_2024["result_due"] == "2025-02-09"  # before 01/7/2025: 30 days
    # Received Fri 24/1/2025 (Tết Ất Tỵ 27–31/1, Sat 8/2 worked in exchange): the 5th working day is Fri 7/2.
    q = run(
        db,
        handlers.record_report,
        {"facility_code": "91303", "period": "2024-Q4", "received_date": "2025-01-24"},
        figures,
    )
    assert q["advance"]["due"] == "2025-02-07"


def test_the_steps_past_due_are_kept_until_a_step_is_recorded_and_for_the_day(finance_db, monkeypatch):
    """`overdue_steps` (BHXH's home page asks it on every visit; the overdue gauge reads it) is computed again only
    when a report, advance, result or payment is recorded, or the day changes: what is overdue moves with both."""
    db = finance_db
    figures = claims_answer("42500000.75", "41000000.40", "10000000.50", "30000000.25", "2500000.00")
    body = {"facility_code": FACILITY, "period": "2024-Q2"}
    run(db, handlers.record_report, body | {"received_date": "2024-07-12"}, figures)
    computed = []
    real = views.quarter_schedule
    monkeypatch.setattr(capitation_views, "quarter_schedule", lambda *a, **k: computed.append(a) or real(*a, **k))
    monkeypatch.setattr(clock, "today", lambda: date(2024, 7, 22))  # the advance was due Fri 19/7

    def steps(facilities: list[str] | None = None) -> list[tuple[str, str, str]]:
        return [(o["facility_code"], o["quarter"], o["step"]) for o in read(db, views.overdue_steps, facilities)]

    assert steps() == [(FACILITY, "2024-Q2", "advance")] and len(computed) == 1
    assert steps([FACILITY]) == steps() and steps(["91999"]) == [] and len(computed) == 1  # kept
    run(db, handlers.pay_advance, {"facility_code": FACILITY, "period": "2024-Q3", "amount": 34_000_001,
                                   "date": "2024-07-22"})  # fmt: skip
    assert steps() == [] and len(computed) == 2
    monkeypatch.setattr(clock, "today", lambda: date(2024, 8, 12))  # the result was due 11/8
    assert steps() == [(FACILITY, "2024-Q2", "result")]
    run(db, handlers.record_report, {"facility_code": FACILITY, "period": "2024-Q1", "received_date": "2024-04-10"},
        figures)  # fmt: skip
    newest_first = [(FACILITY, "2024-Q2", "result"), (FACILITY, "2024-Q1", "advance"), (FACILITY, "2024-Q1", "result")]
    assert steps() == newest_first
    run(db, handlers.record_result, body | {"result_date": "2024-08-12"}, figures)
    assert (FACILITY, "2024-Q2", "result") not in steps()


def test_a_contracted_quarter_without_its_report_is_overdue_from_the_16th_day_of_the_next(finance_db, monkeypatch):
    """Luật BHYT Điều 32 k2: the report of a quarter is due in the first 15 days of the next. A facility holding a
    capitation fund for a year owes one for each of its quarters (one with a provisional fund for that quarter
    only); until it is recorded, the `report` step is overdue, in the quarter's schedule and in `overdue_steps`,
    and the facility is among the quarter's `settlement_facilities`. A facility without a fund, or with a fund of 0
    in force, owes nothing. Each fund record refreshes the kept list."""
    db = finance_db
    year = {"facility_code": FACILITY, "period": "2024", "cards": 1000, "rate_per_card": 100_000, "coefficient": "1"}
    run(db, handlers.set_capitation_fund, year)
    run(db, handlers.set_capitation_fund, year | {"facility_code": "91302", "period": "2024-Q2"})
    monkeypatch.setattr(clock, "today", lambda: date(2024, 7, 15))  # Q2's report is due today: not yet late

    def steps() -> list[tuple[str, str, str, str]]:
        return [(o["facility_code"], o["quarter"], o["step"], o["due"]) for o in read(db, views.overdue_steps)]

    assert steps() == [(FACILITY, "2024-Q1", "report", "2024-04-15")]
    monkeypatch.setattr(clock, "today", lambda: date(2024, 7, 16))
    assert steps() == [
        (FACILITY, "2024-Q2", "report", "2024-07-15"),
        ("91302", "2024-Q2", "report", "2024-07-15"),
        (FACILITY, "2024-Q1", "report", "2024-04-15"),
    ]
    assert read(db, views.settlement_facilities, "2024-Q2") == [FACILITY, "91302"]
    assert read(db, views.settlement_facilities, "2024-Q1") == [FACILITY]  # 91302's fund is Q2's only
    assert read(db, views.settlement_facilities, "2025-Q1") == []
    # Each quarter's own schedule (the quarter and year pages, the reconciliation) says the same: the report is owed
    # by a facility contracted for the quarter, not by one without a fund for it.
    assert read(db, views.quarter_schedule, FACILITY, "2024-Q1")["overdue"] == ["report"]
    assert read(db, views.quarter_schedule, "91302", "2024-Q1")["overdue"] == []
    assert read(db, views.quarter_schedule, "91399", "2024-Q2")["steps"]["report"] == {
        "due": "2024-07-15", "date": None, "late": False, "overdue": False,
    }  # fmt: skip

    # The report arrives late: the step is done; what it starts (the Q3 advance, due 5 working days on) is not due.
    figures = claims_answer("42500000.75", "41000000.40", "10000000.50", "30000000.25", "2500000.00")
    run(db, handlers.record_report, {"facility_code": FACILITY, "period": "2024-Q2", "received_date": "2024-07-16"},
        figures)  # fmt: skip
    assert steps() == [("91302", "2024-Q2", "report", "2024-07-15"), (FACILITY, "2024-Q1", "report", "2024-04-15")]
    # 91302's contract is nil after all: a fund of 0 for the quarter supersedes the first.
    run(db, handlers.set_capitation_fund, year | {"facility_code": "91302", "period": "2024-Q2", "cards": 0})
    assert steps() == [(FACILITY, "2024-Q1", "report", "2024-04-15")]
    assert read(db, views.settlement_facilities, "2024-Q2") == [FACILITY]
