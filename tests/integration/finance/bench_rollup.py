"""Time the funding roll-ups on a province-sized ledger (not collected by pytest; run by hand).

    .venv/bin/python -m tests.integration.finance.bench_rollup sqlite:////tmp/bench.db 1
    .venv/bin/python -m tests.integration.finance.bench_rollup postgresql://postgres@127.0.0.1:5432/DB 1

SCALE 1 = 7 years × 10 items × 4 sources, each a province root passed to all 15 districts and on to all
145 stations (45 080 allocations, 81 200 disbursements, 4 200 adjustments) — more than the province books.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert, text
from sqlalchemy.orm import Session, sessionmaker

from services.common import units
from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.finance import views
from services.finance.catalog_loader import sync_catalog
from services.finance.models import Adjustment, Allocation, Disbursement

ITEMS = ["II.1", "II.2.1", "II.2.4", "II.2.5", "II.3", "II.4", "II.5", "III", "IV.7", "II.2.6"]
SOURCES = ["provincial_budget", "ntp_nrd", "ntp_health_population", "oda_aid"]
NOW = datetime(2025, 1, 1, tzinfo=UTC)


def build(url: str, scale: int) -> sessionmaker[Session]:
    upgrade("finance", url)
    engine = make_engine(url)
    factory = sessionmaker(engine)
    with transaction(factory) as s:
        sync_catalog(s)
    districts = list(units.districts())
    communes = {d: [c.code for c in units.base_communes() if c.district == d] for d in districts}
    allocs: list[dict[str, Any]] = []
    disbs: list[dict[str, Any]] = []
    adjs: list[dict[str, Any]] = []

    def add(**kw: Any) -> int:
        allocs.append(
            dict(id=len(allocs) + 1, kind="budget", decision_no="x", decision_date=date(2019, 1, 2), created_at=NOW)
            | kw
        )
        return len(allocs)

    for _ in range(scale):
        for year in range(2019, 2026):
            for item in ITEMS:
                for src in SOURCES:
                    key = dict(item_code=item, source=src, fiscal_year=year)
                    root = add(plan_id=1, recipient_unit="91", amount=10**12, parent_id=None, **key)
                    for d in districts:
                        plan = 2 if d == "910" else 1
                        da = add(plan_id=plan, recipient_unit=d, amount=10**9, parent_id=root, **key)
                        adjs.append(
                            dict(
                                allocation_id=da,
                                amount=10**6,
                                decision_no="y",
                                decision_date=date(2019, 6, 1),
                                created_at=NOW,
                            )
                        )
                        for c in communes[d]:
                            ca = add(plan_id=plan, recipient_unit=c, amount=10**7, parent_id=da, **key)
                            disbs += [dict(allocation_id=ca, amount=10**6, date=date(year, 6, 1), created_at=NOW)] * 2
    with engine.begin() as conn:
        for model, rows in ((Allocation, allocs), (Disbursement, disbs), (Adjustment, adjs)):
            for i in range(0, len(rows), 5000):
                conn.execute(insert(model), rows[i : i + 5000])
        if engine.dialect.name == "postgresql":
            conn.execute(text("ANALYZE"))
    print(f"{len(allocs)} allocations, {len(disbs)} disbursements, {len(adjs)} adjustments")
    return factory


def best_of(label: str, fn: Callable[[], Any], n: int = 3) -> None:
    best = float("inf")
    for _ in range(n):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    print(f"{label:40s} {best * 1000:8.1f} ms")


def main(url: str, scale: int) -> None:
    factory = build(url, scale)
    with factory() as s:
        best_of("funding_status(1, II) all years", lambda: views.funding_status(s, 1, "II"))
        best_of("funding_status(1, II.5, 2024)", lambda: views.funding_status(s, 1, "II.5", 2024))
        best_of("funding_status(2, II.5, 2024)", lambda: views.funding_status(s, 2, "II.5", 2024))
        best_of("funding_tree(1) all years", lambda: views.funding_tree(s, 1))
        best_of("funding_tree(1, 2024)", lambda: views.funding_tree(s, 1, 2024))
        best_of("funding_tree(1, 2024, unit=910)", lambda: views.funding_tree(s, 1, 2024, "910"))
        best_of("funding_by_unit(31060)", lambda: views.funding_by_unit(s, "31060"))
        best_of("funding_by_unit(91, 2024)", lambda: views.funding_by_unit(s, "91", 2024))
        best_of("list_allocations(unit=910)", lambda: views.list_allocations(s, unit="910"))


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1)
