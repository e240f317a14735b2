"""Investment's import of a treasury statement (`handlers.import_disbursements`), in-process on a fresh database:
`--projects` station projects, each with capital from two sources, then a sheet of `--rows` payments from them,
each with its own voucher number, recorded and sent again (every row already recorded). The gateway waits
`sheets.SEND_TIMEOUT` for it (services/gateway/application/sheets.py).

    .venv/bin/python -m bench.project_payments --rows 2000             # SQLite
    .venv/bin/python -m bench.project_payments --rows 2000 --postgres
"""

from __future__ import annotations

import argparse
import json
import tempfile
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from bench.allocation_import import sent_twice
from bench.intake import database, load_average

SOURCES = ("provincial_budget", "ntp_nrd")


def projects(factory: Any, count: int) -> list[int]:
    """`count` renovations of plan 158/KH-UBND (2020) at the communes in force then, each given 1 billion đ from
    each of SOURCES."""
    from services.common import units
    from services.investment import handlers
    from services.investment.unit_of_work import InvestmentUnitOfWork

    communes = [c.code for c in units.base_communes()]
    made = []
    for n in range(count):
        body = {"station_code": communes[n % len(communes)], "kind": "renovation", "title": f"Cải tạo {n}",
                "estimated_cost": 3_000_000_000, "plan_id": 1, "item_code": "II.5", "start_year": 2020}  # fmt: skip
        with InvestmentUnitOfWork(factory) as uow:
            pid = handlers.register_project(uow, body, "bench")["id"]
        for source in SOURCES:
            capital = {"source": source, "fiscal_year": 2020, "amount": 1_000_000_000, "decision_no": f"{n}/QĐ-UBND",
                       "decision_date": "2020-01-15"}  # fmt: skip
            with InvestmentUnitOfWork(factory) as uow:
                handlers.assign_capital(uow, pid, capital, "bench")
        made.append(pid)
    return made


def payments(project_ids: list[int], rows: int) -> list[dict[str, Any]]:
    """`rows` payments of 100,000 đ from the projects' sources in turn, each its own voucher, dated through March
    2020, as the gateway sends them."""
    return [
        {
            "row": 5 + n,
            "project_id": project_ids[n % len(project_ids)],
            "source": SOURCES[n // len(project_ids) % len(SOURCES)],
            "amount": 100_000,
            "date": f"2020-03-{n % 28 + 1:02d}",
            "reference": f"UNC {n:05d}",
        }
        for n in range(rows)
    ]


def run(url: str, rows: int, project_count: int) -> list[dict[str, Any]]:
    from services.common.db import make_engine, transaction
    from services.common.migrate import upgrade
    from services.investment import handlers
    from services.investment.models import ProjectDisbursement
    from services.investment.register_loader import sync_register
    from services.investment.unit_of_work import InvestmentUnitOfWork

    upgrade("investment", url)
    engine = make_engine(url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        sync_register(s)
    body = {"rows": payments(projects(factory, project_count), rows)}
    out = sent_twice(
        lambda: InvestmentUnitOfWork(factory),
        lambda uow, sheet: handlers.import_disbursements(uow, sheet, "bench"),
        body,
        "project_payments",
    )
    for line in out:
        del line["ids"]
        line["projects"] = project_count
    with transaction(factory) as s:
        stored = s.scalar(select(func.count()).select_from(ProjectDisbursement))
    engine.dispose()
    if stored != rows or (out[0]["recorded"], out[1]["already"]) != (rows, rows):
        raise SystemExit(f"counts do not reconcile: stored {stored}, answers {out}")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=200)
    parser.add_argument("--postgres", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work, database(args.postgres, work, "investment") as url:
        engine = "postgresql" if args.postgres else "sqlite"
        for line in run(url, args.rows, args.projects):
            print(json.dumps({"bench": "project_payments", "db": engine, **line, "load": load_average()}), flush=True)


if __name__ == "__main__":
    main()
