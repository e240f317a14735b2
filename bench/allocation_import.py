"""Finance's imports of sheets (`handlers.import_allocations`, `handlers.import_disbursements`), in-process on a
fresh database: a sheet of `--rows` root allocations to the province's communes, recorded, then sent again
(every row already recorded); then a sheet of `--rows` payments from those allocations, each with its voucher
number, recorded and sent again. The gateway waits `sheets.SEND_TIMEOUT` for each
(services/gateway/application/sheets.py). Then the reads over those allocations (all of 2020, an ended year, each
still holding money): the year end still to decide (`list_allocations(year_end_due=True)`, what a finance person's
home page asks on every visit), beside a plain page of the list: the first read, and the median of four more (the
year end's answer is kept while the money is unchanged). `--more K` adds K further sheets of allocations before the
reads, for a larger province.

    .venv/bin/python -m bench.allocation_import --rows 2000             # SQLite
    .venv/bin/python -m bench.allocation_import --rows 2000 --postgres [--more 9]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.intake import database, load_average

ITEMS = ("I.1", "I.2.a", "I.2.b", "II.1", "II.3", "II.5", "II.2.1", "II.2.2", "II.2.3", "II.2.4", "II.2.5", "II.2.6")


def sheet(rows: int, start: int = 0) -> list[dict[str, Any]]:
    """`rows` allocations of 2020 under plan 158/KH-UBND, one per item and commune, as the gateway sends them
    (`start`: the sheet after `start` allocations, under decisions of its own)."""
    from services.common import units

    communes = [c.code for c in units.base_communes()]
    out = [
        {
            "row": 5 + n - start,
            "plan_id": 1,
            "item_code": ITEMS[n // len(communes) % len(ITEMS)],
            "source": "provincial_budget",
            "fiscal_year": 2020,
            "recipient_unit": communes[n % len(communes)],
            "amount": 1_000_000 * (n % 50 + 1),
            "decision_no": f"{n // (len(communes) * len(ITEMS)) + 1}/QĐ-UBND",
            "decision_date": "2020-01-15",
        }
        for n in range(start, start + rows)
    ]
    return out


def payments(allocation_ids: list[int], rows: int) -> list[dict[str, Any]]:
    """`rows` payments of 100,000 đ from the allocations in turn (most allocations paid once or twice), each its
    own voucher, dated through March 2020, as the gateway sends them."""
    return [
        {
            "row": 5 + n,
            "allocation_id": allocation_ids[n % len(allocation_ids)],
            "amount": 100_000,
            "date": f"2020-03-{n % 28 + 1:02d}",
            "reference": f"UNC {n:05d}",
        }
        for n in range(rows)
    ]


def sent_twice(unit_of_work: Any, send: Any, body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    """The sheet sent (`send(uow, body)` in a fresh `unit_of_work()`), then sent again: seconds, counts and the
    answer's ids of each. The project payments' bench sends its statement the same way."""
    out = []
    rows = len(body["rows"])
    for label in ("first", "again"):
        started = time.perf_counter()
        with unit_of_work() as uow:
            answer = send(uow, body)
        seconds = time.perf_counter() - started
        out.append(
            {"sheet": name, "send": label, "rows": rows, "recorded": answer["recorded"],
             "already": answer["already_recorded"], "seconds": round(seconds, 3), "rows_per_s": round(rows / seconds),
             "ids": [r["id"] for r in answer["rows"]]}  # fmt: skip
        )
    return out


def _reads(factory: Any, rows: int) -> list[dict[str, Any]]:
    """Milliseconds of the year end still to decide and of a plain page of the list, the first read and the median
    of four more; the first must count every allocation, as each still holds money."""
    from services.common.db import transaction
    from services.finance import views

    out = []
    for label, filters, per_page in (("year_end_due", {"year_end_due": True}, 1), ("plain_page", {}, 50)):
        times, answer = [], {}
        for _ in range(5):
            started = time.perf_counter()
            with transaction(factory) as s:
                answer = views.list_allocations(s, per_page=per_page, **filters)
            times.append(time.perf_counter() - started)
        if answer["total"] != rows:
            raise SystemExit(f"{label}: {answer['total']} allocations, not {rows}")
        again = sorted(times[1:])
        out.append({"read": label, "allocations": rows, "first_ms": round(1000 * times[0], 1),
                    "again_ms": round(500 * (again[1] + again[2]), 1)})  # fmt: skip
    return out


def run(url: str, rows: int, more: int = 0) -> list[dict[str, Any]]:
    """The sheets sent and sent again, then the reads over their allocations and `more` sheets of `rows` further
    allocations of 2020 (no payments), for the reads at a larger scale."""
    from services.common.db import make_engine, transaction
    from services.common.migrate import upgrade
    from services.finance import handlers
    from services.finance.catalog_loader import sync_catalog
    from services.finance.models import Allocation, Disbursement
    from services.finance.unit_of_work import FinanceUnitOfWork

    upgrade("finance", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        sync_catalog(s)
    def unit_of_work() -> FinanceUnitOfWork:
        return FinanceUnitOfWork(factory)

    out = sent_twice(unit_of_work, handlers.import_allocations, {"rows": sheet(rows)}, "allocations")
    paid = payments(out[0]["ids"], rows)
    out += sent_twice(unit_of_work, handlers.import_disbursements, {"rows": paid}, "disbursements")
    with transaction(factory) as s:
        stored = (
            s.scalar(select(func.count()).select_from(Allocation)),
            s.scalar(select(func.count()).select_from(Disbursement)),
        )
    if stored != (rows, rows) or any(o["recorded" if o["send"] == "first" else "already"] != rows for o in out):
        raise SystemExit(f"counts do not reconcile: stored {stored}, answers {out}")
    for o in out:
        del o["ids"]
    for n in range(1, more + 1):
        with unit_of_work() as uow:
            handlers.import_allocations(uow, {"rows": sheet(rows, n * rows)})
    reads = _reads(factory, rows * (1 + more))
    engine.dispose()
    return out + reads


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--more", type=int, default=0, help="sheets of further allocations before the reads")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, database(args.postgres, work, "finance") as url:
        engine = "postgresql" if args.postgres else "sqlite"
        for line in run(url, args.rows, args.more):
            print(json.dumps({"bench": "allocation_import", "db": engine, **line, "load": load_average()}), flush=True)


if __name__ == "__main__":
    main()
