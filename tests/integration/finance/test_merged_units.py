"""What a unit answers for after the 2025 merger (docs/domain.md §7), on databases built by the migrations (SQLite and
PostgreSQL): Phường An Bình (30751) became part of Phường Rạch Giá (30742) on 01/7/2025, so Rạch Giá's list of
allocations and its roll-up hold An Bình's money of the years before, each ward its own row of `by_unit`, while
An Bình alone and a commune An Bình did not join stay as they were."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.finance import handlers, views
from services.finance.unit_of_work import FinanceUnitOfWork

M = 1_000_000
WARD, MERGED_INTO, ELSEWHERE = "30751", "30742", "31064"


def allocate(db: sessionmaker[Session], unit: str, amount: int) -> int:
    body = {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2023,
            "recipient_unit": unit, "amount": amount, "decision_no": f"{unit}/QĐ-UBND",
            "decision_date": "2023-02-10"}  # fmt: skip
    with FinanceUnitOfWork(db) as uow:
        return handlers.create_allocation(uow, body)["id"]


def read(db: sessionmaker[Session], fn: Any, *args: Any, **kwargs: Any) -> Any:
    with transaction(db) as s:
        return fn(s, *args, **kwargs)


def test_a_unit_holds_the_money_of_what_merged_into_it(finance_db):
    db = finance_db
    ward, own, other = allocate(db, WARD, 60 * M), allocate(db, MERGED_INTO, 40 * M), allocate(db, ELSEWHERE, 10 * M)

    listed = read(db, views.list_allocations, unit=MERGED_INTO)
    assert [a["id"] for a in listed["items"]] == [ward, own] and listed["total"] == 2
    assert [a["id"] for a in read(db, views.list_allocations, unit=WARD)["items"]] == [ward]
    assert [a["id"] for a in read(db, views.list_allocations, unit=ELSEWHERE)["items"]] == [other]

    # 158/KH-UBND's II.5 for Rạch Giá in 2023: 40 of its own and An Bình's 60, each ward its own row.
    item = read(db, views.funding_status_kept, 1, "II.5", 2023, MERGED_INTO)
    assert item["allocated"] == 100 * M
    assert {u: f["allocated"] for u, f in item["by_unit"].items()} == {MERGED_INTO: 40 * M, WARD: 60 * M}
    tree = read(db, views.funding_tree_kept, 1, 2023, MERGED_INTO)
    assert tree["items"]["II.5"]["allocated"] == 100 * M and tree["items"]["II"]["allocated"] == 100 * M
    assert read(db, views.funding_status_kept, 1, "II.5", 2023, WARD)["allocated"] == 60 * M
    assert read(db, views.funding_status_kept, 1, "II.5", 2023, ELSEWHERE)["allocated"] == 10 * M
    # The province counts each đồng once, as before.
    assert read(db, views.funding_status_kept, 1, "II.5", 2023, None)["allocated"] == 110 * M
