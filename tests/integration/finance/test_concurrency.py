"""Concurrent writers cannot both spend the same remaining money (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading

from services.common.db import transaction
from services.common.errors import DomainError
from services.finance import handlers, views
from services.finance.unit_of_work import FinanceUnitOfWork


def test_parallel_disbursements_and_sub_allocations_never_overspend(finance_db):
    with FinanceUnitOfWork(finance_db) as uow:
        root = handlers.create_allocation(
            uow,
            {
                "plan_id": 1,
                "item_code": "II.5",
                "source": "provincial_budget",
                "fiscal_year": 2024,
                "recipient_unit": "91",
                "amount": 1_000,
                "decision_no": "1",
                "decision_date": "2024-01-02",
            },
        )
    outcomes: list[str] = []
    lock = threading.Lock()
    start = threading.Barrier(12)

    def worker(i: int) -> None:
        start.wait()
        try:
            with FinanceUnitOfWork(finance_db) as uow:
                if i % 2:
                    handlers.disburse(uow, root["id"], {"amount": 300, "date": "2024-02-01"})
                else:
                    handlers.create_allocation(
                        uow,
                        {
                            "parent_allocation_id": root["id"],
                            "recipient_unit": "910",
                            "amount": 300,
                            "decision_no": "2",
                            "decision_date": "2024-01-03",
                        },
                    )
            result = "ok"
        except DomainError as exc:
            result = exc.errors[0]["code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("ok") == 3  # 3 × 300 fit in 1 000; the fourth would not
    assert sorted(set(outcomes) - {"ok"}) <= ["exceeds_allocation", "exceeds_parent"]
    with transaction(finance_db) as s:
        view = views.allocation_detail(s, root["id"])
    assert view["sub_allocated"] + view["disbursed"] == 900 and view["remaining"] == 100
