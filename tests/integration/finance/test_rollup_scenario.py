"""The roll-up on a realistic scenario, on SQLite and PostgreSQL, through finance's own command handlers.

Both plans (158/KH-UBND and 34/KH-UBND), four sources, three fiscal years, sub-allocations three levels
deep (province → Vĩnh Thuận → commune station), adjustments up and down, a package payment, the 20%
surplus of fund year 2020, and reversed disbursements. Expected figures come from the test's own model
(tests/unit/finance/model.py: Σ of the money each allocation kept), and the headline ones are also
written out by hand.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import DatabaseError

from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers, views
from services.finance.models import Allocation, Outbox
from services.finance.unit_of_work import FinanceUnitOfWork
from tests.unit.finance.model import LedgerModel, Node

B = 1_000_000_000  # một tỷ đồng
M = 1_000_000  # một triệu đồng


class Books:
    """Runs finance's command handlers in their own units of work and mirrors what they accept in the model."""

    def __init__(self, factory: Any) -> None:
        self.factory = factory
        self.model = LedgerModel()
        self.n = 0

    def _run(self, fn: Any, *args: Any) -> dict:
        with FinanceUnitOfWork(self.factory) as uow:
            return fn(uow, *args)

    def _read(self, fn: Any, *args: Any) -> dict:
        with transaction(self.factory) as s:
            return fn(s, *args)

    def allocate(
        self,
        amount: int,
        *,
        plan: int | None = None,
        item: str | None = None,
        source: str | None = None,
        year: int | None = None,
        to: str,
        parent: int | None = None,
        **extra: Any,
    ) -> int:
        self.n += 1
        data = {
            "recipient_unit": to,
            "amount": amount,
            "decision_no": f"{self.n}/QĐ-UBND",
            "decision_date": "2023-01-05",
            "parent_allocation_id": parent,
            **extra,
        }
        for key, value in (("plan_id", plan), ("item_code", item), ("source", source), ("fiscal_year", year)):
            if value is not None:
                data[key] = value
        row = self._run(handlers.create_allocation, data)
        self.model.nodes[row["id"]] = Node(
            row["id"],
            row["plan_id"],
            row["item_code"],
            row["source"],
            row["fiscal_year"],
            row["recipient_unit"],
            parent,
            amount,
        )
        return row["id"]

    def adjust(self, alloc: int, amount: int) -> None:
        self._run(handlers.adjust, alloc, {"amount": amount, "decision_no": "ĐC", "decision_date": "2023-06-01"})
        self.model.nodes[alloc].adjustments += amount

    def pay(self, alloc: int, amount: int) -> int:
        row = self._run(handlers.disburse, alloc, {"amount": amount, "date": "2023-07-01", "reference": "UNC"})
        self.model.nodes[alloc].disbursed += amount
        self.model.nodes[alloc].payments[row["id"]] = amount
        return row["id"]

    def reverse(self, alloc: int, disbursement: int, amount: int | None = None) -> None:
        data: dict[str, Any] = {"date": "2023-08-01", "reference": "hủy UNC"}
        if amount is not None:
            data["amount"] = amount
        row = self._run(handlers.reverse_disbursement, disbursement, data)
        self.model.nodes[alloc].disbursed += row["amount"]

    def refused(self, code: str, fn: Any, *args: Any) -> None:
        with pytest.raises(DomainError) as exc:
            self._run(fn, *args)
        assert exc.value.errors[0]["code"] == code, exc.value.errors

    def status(self, plan: int, code: str, year: int | None = None, unit: str | None = None) -> dict:
        fresh = self._read(views.funding_status, plan, code, year, unit)
        # What the service answers (kept between writes) is the query's answer after every step.
        assert self._read(views.funding_status_kept, plan, code, year, unit) == fresh
        return fresh


@pytest.fixture
def books(finance_db) -> Books:
    b = Books(finance_db)
    # 2023 — ngân sách tỉnh for II.5 (investment in stations), three levels deep.
    b.a1 = b.allocate(5 * B, plan=1, item="II.5", source="provincial_budget", year=2023, to="91")
    b.a2 = b.allocate(2 * B, parent=b.a1, to="910")  # lands on the district plan 34/KH-UBND
    b.a3 = b.allocate(800 * M, parent=b.a2, to="31060")  # trạm y tế xã Vĩnh Bình Bắc
    b.a4 = b.allocate(500 * M, parent=b.a2, to="31051", item="II.5")
    b.a5 = b.allocate(1 * B, parent=b.a1, to="899")  # Rạch Giá has no plan of its own here: province plan
    # CTMT Y tế – Dân số for prevention (II.2.4), passed to the district.
    b.a6 = b.allocate(600 * M, plan=1, item="II.2.4", source="ntp_health_population", year=2023, to="91")
    b.a7 = b.allocate(250 * M, parent=b.a6, to="910")
    # NTM programme money (CTMTQG nông thôn mới, named by the district plan's section III) on the district's
    # own plan, then to a station.
    b.a8 = b.allocate(300 * M, plan=2, item="II.5", source="ntp_nrd", year=2023, to="910")
    b.a9 = b.allocate(100 * M, parent=b.a8, to="31060")
    # 2024 — again three levels deep; a sub-allocation to a sub-item (II.2 → II.2.1) on the district plan.
    b.a10 = b.allocate(4 * B, plan=1, item="II.5", source="provincial_budget", year=2024, to="91")
    b.a11 = b.allocate(1500 * M, parent=b.a10, to="910")
    b.a12 = b.allocate(1 * B, parent=b.a11, to="31064")
    b.a13 = b.allocate(
        200 * M, plan=1, item="II.2", source="ntp_health_population", year=2024, to="910", kind="package_payment"
    )
    b.a14 = b.allocate(50 * M, parent=b.a13, to="31060", item="II.2.1")
    # 2021 — the 20% BHYT surplus of fund year 2020, for equipment (II.5).
    b.a15 = b.allocate(
        700 * M, plan=1, item="II.5", source="bhyt_surplus_20", year=2021, fund_year=2020, use="equipment", to="91"
    )

    b.adjust(b.a1, 500 * M)  # the province adds money
    b.adjust(b.a2, -200 * M)  # the district gives some back (still ≥ the 1.3 tỷ passed to stations)
    b.adjust(b.a12, 100 * M)  # more to the station, out of what Vĩnh Thuận still holds of a11
    b.adjust(b.a6, -100 * M)

    b.pay(b.a1, 1 * B)
    b.pay(b.a3, 500 * M)
    wrong = b.pay(b.a3, 200 * M)
    b.reverse(b.a3, wrong)  # paid twice by mistake: reversed in full
    partly = b.pay(b.a5, 400 * M)
    b.reverse(b.a5, partly, 150 * M)  # part of it came back
    b.pay(b.a7, 250 * M)
    b.pay(b.a8, 50 * M)
    b.pay(b.a9, 100 * M)
    b.pay(b.a12, 900 * M)
    b.pay(b.a14, 50 * M)
    b.pay(b.a15, 300 * M)
    return b


def test_headline_figures_written_by_hand(books):
    # Province II.5, 2023: ngân sách tỉnh 5.5 tỷ (a1 after +0.5) + CTMTQG NTM 0.3 tỷ (a8, a district root).
    s = books.status(1, "II.5", 2023)
    assert s["allocated"] == 5_800 * M
    # Paid: 1 tỷ from a1 + 0.5 on a3 (the 0.2 reversed) + 0.25 net on a5 + 0.05 (a8) + 0.1 (a9).
    assert s["disbursed"] == 1_900 * M
    assert s["by_source"] == {
        "ntp_nrd": {"allocated": 300 * M, "disbursed": 150 * M},
        "provincial_budget": {"allocated": 5_500 * M, "disbursed": 1_750 * M},
    }
    assert s["execution_rate"] == "0.3276"  # 1.9 / 5.8
    # Where it sits: the province kept 5.5 − 1.8 − 1.0 = 2.7 tỷ; Vĩnh Thuận got 1.8 + its own 0.3; Rạch Giá 1.0.
    assert s["by_unit"] == {
        "899": {"allocated": 1_000 * M, "disbursed": 250 * M},
        "91": {"allocated": 2_700 * M, "disbursed": 1_000 * M},
        "910": {"allocated": 2_100 * M, "disbursed": 650 * M},
    }
    # The district plan sees what reached Vĩnh Thuận: a2 (1.8 tỷ after −0.2) and its own a8.
    d = books.status(2, "II.5", 2023)
    assert (d["allocated"], d["disbursed"]) == (2_100 * M, 650 * M)
    # Station 31060 (Vĩnh Bình Bắc) in 2023: a3 0.8 tỷ from the province's money, a9 0.1 tỷ NTM money.
    with transaction(books.factory) as s:
        station = views.funding_by_unit(s, "31060", 2023)
    assert station["by_source"] == {
        "ntp_nrd": {"allocated": 100 * M, "disbursed": 100 * M},
        "provincial_budget": {"allocated": 800 * M, "disbursed": 500 * M},
    }
    # Whole province plan, all years: every đồng that entered the ledger, once.
    assert books.status(1, "II")["allocated"] == books.model.injected() == (5_500 + 500 + 300 + 4_000 + 200 + 700) * M


def test_every_item_of_both_plans_matches_the_model(books):
    with transaction(books.factory) as s:
        for year in (None, 2021, 2023, 2024):
            for unit in (None, "91", "910", "31060", "899"):
                for plan_id in (1, 2):
                    tree = views.funding_tree(s, plan_id, year, unit)
                    for code, figures in tree["items"].items():
                        where = (plan_id, code, year, unit)
                        expected = books.model.rollup(plan_id, code, year, unit)
                        assert (figures["allocated"], figures["disbursed"]) == expected, where
                        for source, money in figures["by_source"].items():
                            assert (money["allocated"], money["disbursed"]) == books.model.rollup(
                                plan_id, code, year, unit, source
                            ), (*where, source)
                        assert figures["disbursed"] <= figures["allocated"]
                        assert sum(m["allocated"] for m in figures["by_year"].values()) == figures["allocated"]
                        # Where the money sits: the units' shares add up to the whole, each as the model says.
                        shares = figures["by_unit"]
                        assert sum(m["allocated"] for m in shares.values()) == figures["allocated"]
                        assert sum(m["disbursed"] for m in shares.values()) == figures["disbursed"]
                        scope = unit or ("91" if plan_id == 1 else "910")
                        for bucket, money in shares.items():
                            assert 0 <= money["disbursed"] <= money["allocated"], (*where, bucket)
                            if bucket != scope:
                                assert (money["allocated"], money["disbursed"]) == books.model.rollup(
                                    plan_id, code, year, bucket
                                ), (*where, bucket)


def test_tree_agrees_with_status(books):
    with transaction(books.factory) as s:
        tree = views.funding_tree(s, 1, 2024)
    for code in ("II", "II.2", "II.2.1", "II.5", "III"):
        one = books.status(1, code, 2024)
        assert {k: v for k, v in one.items() if k != "plan_id"} == tree["items"][code]


def test_unit_view_counts_each_dong_once(books):
    for unit in ("91", "910", "31060", "31064", "899", "31051"):
        with transaction(books.factory) as s:
            view = views.funding_by_unit(s, unit)
        assert (view["allocated"], view["disbursed"]) == books.model.unit_total(unit), unit
        assert sum(r["allocated"] for r in view["by_item"]) == view["allocated"]
        assert all(r["disbursed"] <= r["allocated"] for r in view["by_item"])


def test_refusals_leave_the_books_unchanged(books):
    before = books.status(1, "II")
    # a2 holds 1.8 tỷ, passed 1.3 tỷ to stations: 0.5 tỷ left.
    books.refused(
        "exceeds_parent",
        handlers.create_allocation,
        {
            "parent_allocation_id": books.a2,
            "recipient_unit": "31063",
            "amount": 500 * M + 1,
            "decision_no": "x",
            "decision_date": "2023-02-01",
        },
    )
    books.refused("exceeds_allocation", handlers.disburse, books.a3, {"amount": 300 * M + 1, "date": "2023-09-01"})
    books.refused(
        "below_used",
        handlers.adjust,
        books.a2,
        {"amount": -500 * M - 1, "decision_no": "x", "decision_date": "2023-02-01"},
    )
    books.refused(
        "exceeds_parent",
        handlers.adjust,
        books.a3,
        {"amount": 500 * M + 1, "decision_no": "x", "decision_date": "2023-02-01"},
    )
    books.refused("not_reversible", handlers.reverse_disbursement, _reversal_id(books), {"date": "2023-09-01"})
    assert books.status(1, "II") == before


def _reversal_id(books: Books) -> int:
    with transaction(books.factory) as s:
        return s.scalar(text("SELECT id FROM disbursements WHERE reverses_id IS NOT NULL ORDER BY id LIMIT 1"))


def test_each_command_wrote_one_event(books):
    with transaction(books.factory) as s:
        counts = dict(s.execute(select(Outbox.event_type, func.count()).group_by(Outbox.event_type)).all())
    assert counts == {
        "allocation_made": 6,
        "sub_allocation_made": 9,
        "adjusted": 4,
        "disbursed": 12,  # 10 payments and 2 reversals
    }


def test_money_rows_cannot_be_edited_or_deleted(books):
    for sql in (
        f"UPDATE allocations SET amount = 1 WHERE id = {books.a1}",
        "DELETE FROM disbursements",
        "UPDATE adjustments SET amount = amount + 1",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction(books.factory) as s:
            s.execute(text(sql))
    with pytest.raises(RuntimeError, match="append-only"), transaction(books.factory) as s:
        s.get(Allocation, books.a1).amount = 1
        s.flush()
