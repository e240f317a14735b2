"""Funding answers kept between writes (`funding_status_kept`, `funding_tree_kept`, what the service answers):
the same as the query after every kind of write, from this process or another replica, and no roll-up SQL
while nothing changed. SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine, transaction
from services.finance import handlers, views
from services.finance.unit_of_work import FinanceUnitOfWork

M = 1_000_000


def _allocation(**extra) -> dict:
    return {"plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024,
            "recipient_unit": "91", "amount": 900 * M, "decision_no": "1/QĐ-UBND", "decision_date": "2024-01-05",
            **extra}


def test_kept_answers_follow_every_write_and_spare_the_query_otherwise(finance_db, any_db_url):
    rollups: list[str] = []
    engine = finance_db.kw["bind"]
    event.listen(engine, "before_cursor_execute",
                 lambda _c, _cur, sql, *_a: rollups.append(sql) if "scoped AS" in sql else None)

    def same(*question) -> dict:
        with transaction(finance_db) as s:
            kept = (views.funding_tree_kept(s, *question) if len(question) == 3
                    else views.funding_status_kept(s, *question))
        with transaction(finance_db) as s:
            fresh = views.funding_tree(s, *question) if len(question) == 3 else views.funding_status(s, *question)
        assert kept == fresh
        return kept

    def run(fn, *args):
        with FinanceUnitOfWork(finance_db) as uow:
            return fn(uow, *args)

    assert same(1, "II.5", 2024, None)["allocated"] == 0
    root = run(handlers.create_allocation, _allocation())
    assert same(1, "II.5", 2024, None)["allocated"] == 900 * M
    child = run(handlers.create_allocation, _allocation(recipient_unit="910", amount=300 * M,
                                                    parent_allocation_id=root["id"], decision_no="2/QĐ-UBND"))
    assert same(1, "II.5", 2024, "910")["allocated"] == 300 * M
    run(handlers.adjust, root["id"], {"amount": -100 * M, "decision_no": "ĐC 1", "decision_date": "2024-03-01"})
    assert same(1, "II.5", 2024, None)["allocated"] == 800 * M
    paid = run(handlers.disburse, child["id"], {"amount": 120 * M, "date": "2024-04-01", "reference": "UNC 1"})
    assert same(1, None, None)["items"]["II.5"]["disbursed"] == 120 * M
    run(handlers.reverse_disbursement, paid["id"], {"amount": 20 * M, "date": "2024-04-02", "reference": "hủy"})
    assert same(1, "II.5", 2024, None)["disbursed"] == 100 * M

    # Nothing written: the kept answers are served without the roll-up query.
    same(1, None, None)
    rollups.clear()
    with transaction(finance_db) as s:
        first = views.funding_status_kept(s, 1, "II.5", 2024, None)
        first["allocated"] = -1  # a caller changing its copy changes nothing kept
        tree = views.funding_tree_kept(s, 1, None, None)
    with transaction(finance_db) as s:
        assert views.funding_status_kept(s, 1, "II.5", 2024, None)["allocated"] == 800 * M
        assert views.funding_tree_kept(s, 1, None, None) == tree
    assert rollups == []

    # Another replica (its own engine on the same database) writes: this one sees it at once.
    other = make_engine(any_db_url)
    try:
        with FinanceUnitOfWork(sessionmaker(other, expire_on_commit=False)) as uow:
            handlers.disburse(uow, child["id"], {"amount": 50 * M, "date": "2024-05-01", "reference": "UNC 2"})
    finally:
        other.dispose()
    assert same(1, "II.5", 2024, None)["disbursed"] == 150 * M
    assert len(rollups) >= 1


def test_a_refusal_is_not_kept(finance_db):
    import pytest

    from services.common.errors import NotFound

    for _ in range(2):
        with transaction(finance_db) as s, pytest.raises(NotFound):
            views.funding_status_kept(s, 1, "IX.9", 2024, None)
