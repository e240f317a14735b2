"""Capital that names the finance allocation funding it (issue 16), and the 20% surplus by its fund year, through
the handlers and views on SQLite and PostgreSQL (schema by the service's migrations, register loaded as
`ytcs migrate` loads it)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.contracts import event_schema
from services.common.contracts import investment as contract
from services.common.db import transaction
from services.common.errors import DomainError
from services.investment import handlers, records, views
from services.investment.models import Outbox, ProjectCapital
from services.investment.unit_of_work import InvestmentUnitOfWork

M = 1_000_000


def command(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with InvestmentUnitOfWork(db) as uow:
        return fn(uow, *args)


def read(db: sessionmaker[Session], fn: Any, *args: Any) -> Any:
    with transaction(db) as s:
        return fn(s, *args)


def project(db: sessionmaker[Session], station: str = "31063", plan_id: int = 1, cost: int = 2_000 * M) -> int:
    body = {
        "station_code": station,
        "kind": "renovation",
        "title": "Cải tạo Trạm Y tế",
        "estimated_cost": cost,
        "plan_id": plan_id,
        "item_code": "II.5",
        "start_year": 2024,
    }
    return command(db, handlers.register_project, body, "test")["id"]


ROOM = 10_000 * M  # what finance says an allocation holds, as the gateway sends it (ample, unless a test says)


def capital(db: sessionmaker[Session], pid: int, source: str, year: int, amount: int, **extra: Any) -> dict:
    if extra.get("funded_by_allocation") is not None:
        extra.setdefault("allocation_room", ROOM)
    body = {
        "source": source,
        "fiscal_year": year,
        "amount": amount,
        "decision_no": f"{year}/QĐ-UBND",
        "decision_date": f"{year}-03-01",
        **extra,
    }
    return command(db, handlers.assign_capital, pid, body, "test")


def refused(fn: Any, *args: Any, **kwargs: Any) -> tuple[str, str | None]:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kwargs)
    return exc.value.errors[0]["code"], exc.value.errors[0].get("field")


def last_event(db: sessionmaker[Session], name: str) -> dict[str, Any]:
    with db() as s:
        row = s.scalars(select(Outbox).where(Outbox.event_type == name).order_by(Outbox.id.desc()).limit(1)).one()
        return row.payload


def test_capital_names_its_allocation_and_the_funding_answer_shows_it_apart(db: sessionmaker[Session]) -> None:
    pid = project(db)
    answer = capital(db, pid, "provincial_budget", 2024, 600 * M, funded_by_allocation=41)
    capital(db, pid, "ntp_nrd", 2024, 200 * M)  # the project's own money: no allocation named
    assert answer["funded_by_allocation"] == 41 and answer["project"]["capital"] == 600 * M
    contract.MoneyRecordOut().load({k: v for k, v in answer.items() if k not in ("fund_year", "use")})

    capital_events = _events(db, "capital_assigned")
    assert [e["funded_by_allocation"] for e in capital_events] == [41, None]
    schema, version = event_schema("capital_assigned")
    assert version == 1  # an optional field added: the same version, old consumers unaffected
    for e in capital_events:
        schema.load(e)

    whole = read(db, views.funding_status, 1, "II.5", 2024)
    contract.FundingStatus().load(whole)
    assert whole["allocated"] == 800 * M  # all the capital, as before: the gateway takes the linked part off
    assert whole["linked_to_finance"] == 600 * M
    assert whole["linked_by_allocation"] == {
        "41": {"amount": 600 * M, "source": "provincial_budget", "by_year": {"2024": 600 * M}}
    }
    # Another year, another scope: nothing linked there.
    other = read(db, views.funding_status, 1, "II.5", 2023)
    assert (other["linked_to_finance"], other["linked_by_allocation"]) == (0, {})
    # The tree carries it on the item and the items containing it; the district's view of its commune too.
    tree = read(db, views.funding_tree, 1, 2024)
    contract.FundingTree().load(tree)
    assert tree["items"]["II.5"]["linked_to_finance"] == 600 * M
    assert tree["items"]["II"]["linked_to_finance"] == 600 * M
    assert tree["items"]["II.4"]["linked_to_finance"] == 0
    assert read(db, views.funding_status, 1, "II.5", 2024, "910")["linked_to_finance"] == 600 * M
    assert read(db, views.funding_status, 1, "II.5", 2024, "911")["linked_to_finance"] == 0


def _events(db: sessionmaker[Session], name: str) -> list[dict[str, Any]]:
    with db() as s:
        return [r.payload for r in s.scalars(select(Outbox).where(Outbox.event_type == name).order_by(Outbox.id))]


def test_a_reduction_takes_back_only_what_the_allocation_funded(db: sessionmaker[Session]) -> None:
    pid = project(db)
    capital(db, pid, "provincial_budget", 2024, 600 * M, funded_by_allocation=41)
    capital(db, pid, "provincial_budget", 2024, 300 * M)  # own money of the same source
    with db() as s:
        rows = s.scalar(select(func.count()).select_from(ProjectCapital))
    assert refused(capital, db, pid, "provincial_budget", 2024, -(600 * M + 1), funded_by_allocation=41) == (
        "link_below_zero",
        "funded_by_allocation",
    )
    assert refused(capital, db, pid, "provincial_budget", 2024, -1, funded_by_allocation=42) == (
        "link_below_zero",
        "funded_by_allocation",
    )
    with db() as s:
        assert s.scalar(select(func.count()).select_from(ProjectCapital)) == rows
    capital(db, pid, "provincial_budget", 2024, -(100 * M), funded_by_allocation=41)
    whole = read(db, views.funding_status, 1, "II.5", 2024)
    assert (whole["allocated"], whole["linked_to_finance"]) == (800 * M, 500 * M)
    # What a link's room check takes off: every project's capital naming the allocation, reductions netted.
    capital(db, project(db, "31069"), "provincial_budget", 2024, 50 * M, funded_by_allocation=41)
    assert read(db, records.linked_to_allocation, 41) == 550 * M
    assert read(db, records.linked_to_allocation, 42) == 0


def test_a_link_takes_no_more_than_the_allocation_s_room_across_projects(db: sessionmaker[Session]) -> None:
    first, second = project(db), project(db, "31069")
    capital(db, first, "provincial_budget", 2024, 600 * M, funded_by_allocation=41, allocation_room=1_000 * M)
    assert refused(
        capital, db, second, "provincial_budget", 2024, 400 * M + 1, funded_by_allocation=41,
        allocation_room=1_000 * M,
    ) == ("exceeds_allocation", "funded_by_allocation")
    # Without the room finance gave, a link is not recorded (only the gateway asks finance).
    assert refused(
        capital, db, second, "provincial_budget", 2024, M, funded_by_allocation=41, allocation_room=None
    ) == ("allocation_unchecked", "funded_by_allocation")
    capital(db, second, "provincial_budget", 2024, 400 * M, funded_by_allocation=41, allocation_room=1_000 * M)
    assert read(db, records.linked_to_allocation, 41) == 1_000 * M


def test_links_sent_at_the_same_instant_never_take_the_same_room(db: sessionmaker[Session]) -> None:
    # Eight projects link 300 each to one allocation of 1 000 at once: three fit; never a fourth.
    projects = [project(db) for _ in range(8)]
    start = threading.Barrier(len(projects))
    outcomes: list[str] = []
    lock = threading.Lock()

    def link(pid: int) -> None:
        start.wait()
        try:
            capital(db, pid, "provincial_budget", 2024, 300 * M, funded_by_allocation=77, allocation_room=1_000 * M)
            result = "ok"
        except DomainError as exc:
            result = exc.errors[0]["code"]
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=link, args=(pid,)) for pid in projects]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(outcomes) == ["exceeds_allocation"] * 5 + ["ok"] * 3
    assert read(db, records.linked_to_allocation, 77) == 900 * M


def test_the_20_percent_surplus_follows_its_fund_year(db: sessionmaker[Session]) -> None:
    """Issue 16: 20% capital of fund year 2020 spent in 2021 is accepted (its main legal use); fund year 2021 has
    no such surplus; a fund year is never spent in itself, nor one before 2015 (services/common/surplus.py)."""
    pid = project(db, cost=5_000 * M)
    accepted = capital(db, pid, "bhyt_surplus_20", 2021, 400 * M, fund_year=2020, use="equipment")
    assert (accepted["fiscal_year"], accepted["fund_year"], accepted["use"]) == (2021, 2020, "equipment")
    assert last_event(db, "capital_assigned")["fund_year"] == 2020
    assert refused(capital, db, pid, "bhyt_surplus_20", 2021, 1, fund_year=2021, use="equipment") == (
        "surplus_source_closed",
        "fund_year",
    )
    assert refused(capital, db, pid, "bhyt_surplus_20", 2022, 1, fund_year=2021, use="equipment") == (
        "surplus_source_closed",
        "fund_year",
    )
    assert refused(capital, db, pid, "bhyt_surplus_20", 2020, 1, fund_year=2020, use="equipment") == (
        "fund_year_not_before_fiscal_year",
        "fiscal_year",
    )
    assert refused(capital, db, pid, "bhyt_surplus_20", 2016, 1, fund_year=2014, use="equipment") == (
        "surplus_source_not_open",
        "fund_year",
    )
    assert read(db, views.surplus_capital) == [{"fund_year": 2020, "use": "equipment", "capital": 400 * M}]
