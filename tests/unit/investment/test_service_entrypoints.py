"""Every entrypoint of the investment service (service.py), called through nameko's `worker_factory` on a real
SQLite database built by the service's migrations: the entrypoint decodes its arguments, runs its one handler in
an InvestmentUnitOfWork (committed, the relay woken for what it published) or its one view, and answers a dict.
The rules behind each answer are tested with the handlers and views (tests/integration/investment)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session, sessionmaker

from services.common import clock, units
from services.common.errors import DomainError, Malformed, NotFound
from services.common.messaging import DatabaseAccess
from services.investment.models import Outbox
from services.investment.register_loader import sync_register
from services.investment.service import Service
from tests.support.services import entrypoint_names, migrated, outbox_rows, row_count

STATION = "30733"
CORRELATION = "corr-entrypoints"
PROJECT = {
    "station_code": STATION,
    "kind": "renovation",
    "title": "Cải tạo Trạm Y tế",
    "estimated_cost": 1_000_000_000,
    "plan_id": 1,
    "item_code": "II.5",
    "status": "under_construction",
    "decision_no": "12/QĐ-UBND",
    "decision_date": "2024-01-15",
}
CAPITAL = {
    "source": "provincial_budget",
    "fiscal_year": 2024,
    "amount": 600_000_000,
    "decision_no": "20/QĐ-UBND",
    "decision_date": "2024-02-01",
}
FACTS = {"source": "Báo cáo thống kê y tế xã năm 2024", "population": 12000, "population_managed": 10800}

# What the tests below call; test_every_entrypoint_is_covered keeps this list equal to the service's.
COVERED = {
    "health",
    "list_stations",
    "get_station",
    "record_station_status",
    "station_funding",
    "get_indicators",
    "record_indicators",
    "indicator_sheet",
    "import_indicators",
    "check_indicators",
    "register_project",
    "assign_capital",
    "linked_capital",
    "disburse",
    "import_disbursements",
    "check_disbursement_import",
    "capital_by_source",
    "revise_estimate",
    "change_status",
    "complete_project",
    "list_projects",
    "get_project",
    "project_scope",
    "funding_status",
    "funding_tree",
    "targets",
    "surplus_capital",
    "medium_term",
    "priorities",
}


@pytest.fixture(scope="module")
def factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[sessionmaker[Session]]:
    url = f"sqlite:///{Path(tmp_path_factory.mktemp('investment')) / 'investment.db'}"
    with migrated("investment", url, sync_register) as made:
        yield made


@pytest.fixture
def service(factory: sessionmaker[Session]) -> Any:
    """A worker of the service with the real database; the relay, metrics and business figures are mocks."""
    return worker_factory(Service, db=DatabaseAccess(factory, CORRELATION))


def outbox(factory: sessionmaker[Session], event_type: str) -> list[Outbox]:
    return outbox_rows(factory, Outbox, event_type)


def test_every_entrypoint_is_covered() -> None:
    # The service consumes no events today: every entrypoint is an RPC method.
    assert entrypoint_names(Service) == COVERED


# --------------------------------------------------------------------------- stations


def test_health_counts_the_register(service: Any) -> None:
    assert service.health() == {"status": "ok", "stations": 194}


def test_list_stations_decodes_the_date(service: Any) -> None:
    assert len(service.list_stations()) == 145  # the base register
    assert {s["code"] for s in service.list_stations("910", "2025-07-01")} == {"31051", "31064", "31069"}
    assert len(service.list_stations(None, None, True)) == 194


def test_get_station_and_its_refusal(service: Any) -> None:
    station = service.get_station(STATION)
    assert station["code"] == STATION and "funding" in station and "projects" in station
    assert service.get_station(STATION, "2020-01-01")["valid_from"] == "2019-12-01"
    with pytest.raises(NotFound):
        service.get_station("99999")


def test_record_station_status_commits_and_wakes_the_relay(service: Any, factory: sessionmaker[Session]) -> None:
    answer = service.record_station_status(
        "30739", {"attribute": "national_health_criteria", "value": True, "year": 2021}, "officer"
    )
    assert answer["criteria_reached"] is True and answer["recorded_by"] == "officer"
    [event] = outbox(factory, "station_criteria_reached")
    assert event.correlation_id == CORRELATION
    service.relay.assert_called_once_with()


def test_a_refused_command_writes_nothing_and_leaves_the_relay_asleep(
    service: Any, factory: sessionmaker[Session]
) -> None:
    before = row_count(factory, Outbox)
    with pytest.raises(DomainError) as exc:
        service.record_station_status(STATION, {"attribute": "stars", "value": True, "year": 2021})
    assert [e["code"] for e in exc.value.errors] == ["unknown_attribute"]
    assert row_count(factory, Outbox) == before
    service.relay.assert_not_called()


def test_station_funding(service: Any) -> None:
    assert service.station_funding(STATION, 2024)["code"] == STATION
    with pytest.raises(NotFound):
        service.station_funding("910")


# --------------------------------------------------------------------------- indicator facts


def test_indicator_entrypoints(service: Any) -> None:
    made = service.record_indicators("31051", 2024, FACTS, "tester")
    assert made["created"] is True and made["current"]["population"] == 12000
    assert service.get_indicators("31051", 2024)["current"]["recorded_by"] == "tester"
    rows = [{"row": 2, "code": "31060", "values": {**FACTS, "population": 8000, "population_managed": 6000}}]
    # A check names what the import would refuse, and keeps nothing even of a good sheet.
    good = [{"row": 3, "code": "31063", "values": {**FACTS, "population": 7000, "population_managed": 5000}}]
    bad = [{"row": 4, "code": "31064", "values": {**FACTS, "doctor_days_per_week": 9}}]
    assert [(e["row"], e["code"]) for e in service.check_indicators(2024, good + bad)] == [(4, "out_of_range")]
    assert service.check_indicators(2024, good) == []
    assert service.get_indicators("31063", 2024)["current"] is None
    assert service.import_indicators(2024, rows, "tester")["written"] == 1
    sheet = service.indicator_sheet("910", 2024)
    assert {r["code"]: r["facts"]["population"] for r in sheet["rows"] if r["facts"]} == {"31051": 12000, "31060": 8000}
    service.relay.assert_not_called()  # indicator facts publish no event
    with pytest.raises(Malformed):
        service.record_indicators("31051", 2024, ["not", "an", "object"])


# --------------------------------------------------------------------------- projects


def test_project_commands_and_reads(service: Any, factory: sessionmaker[Session]) -> None:
    project = service.register_project(PROJECT, "officer")
    pid = project["id"]
    assert (project["status"], project["estimated_cost"]) == ("under_construction", 1_000_000_000)
    capital = service.assign_capital(pid, CAPITAL, "officer")
    assert capital["project"]["capital"] == 600_000_000
    paid = service.disburse(pid, {"source": "provincial_budget", "amount": 200_000_000, "date": "2024-06-01"})
    assert paid["project"]["disbursed"] == 200_000_000
    estimate = {"amount": 900_000_000, "decision_no": "30/QĐ-UBND", "decision_date": "2024-07-01"}
    revised = service.revise_estimate(pid, estimate)
    assert revised["project"]["estimated_cost"] == 900_000_000
    moved = service.change_status(pid, {"status": "completed", "effective_date": "2024-09-01"})
    assert moved["status"] == "completed"
    done = service.complete_project(
        pid,
        {
            "settled_cost": 800_000_000,
            "completed_on": "2024-09-01",
            "decision_no": "40/QĐ-UBND",
            "decision_date": "2024-11-01",
        },
    )
    assert done["status"] == "settled" and done["settled_cost"] == 800_000_000
    assert service.relay.call_count == 6  # one wake per committed command
    kinds = ["project_registered", "capital_assigned", "project_disbursed", "project_completed"]
    assert all(len(outbox(factory, kind)) == 1 for kind in kinds)

    assert service.get_project(pid)["capital"] == 600_000_000
    today_code = units.successor_on(STATION, clock.today())  # the commune it belongs to after the 2025 reform
    assert service.project_scope(pid) == {"id": pid, "station_code": STATION, "current_station_code": today_code}
    assert [p["id"] for p in service.list_projects(None, STATION)] == [pid]
    assert service.list_projects("910") == []
    assert [p["id"] for p in service.list_projects(None, None, "settled", 1, "II.5")] == [pid]
    with pytest.raises(NotFound):
        service.get_project(10**9)
    with pytest.raises(NotFound):
        service.assign_capital(10**9, CAPITAL)


def test_linked_capital_sums_the_capital_naming_each_allocation(service: Any) -> None:
    pid = service.register_project(PROJECT | {"title": "Xây mới Trạm Y tế"}, "officer")["id"]
    link = {"funded_by_allocation": 4242, "allocation_room": 900_000_000}
    service.assign_capital(pid, CAPITAL | link, "officer")
    service.assign_capital(pid, CAPITAL | link | {"amount": -100_000_000, "decision_no": "21/QĐ-UBND"}, "officer")
    service.assign_capital(pid, CAPITAL | {"amount": 50_000_000, "decision_no": "22/QĐ-UBND"}, "officer")  # no link
    # Reductions netted, other capital apart; an allocation no capital names is 0; keys as JSON carries them.
    assert service.linked_capital([4242, 4343, 4242]) == {"4242": 500_000_000, "4343": 0}
    assert service.linked_capital([]) == {}


def test_disbursement_import_entrypoints_record_once_and_check_without_keeping(
    service: Any, factory: sessionmaker[Session]
) -> None:
    pid = service.register_project(PROJECT | {"title": "Nâng cấp Trạm Y tế"}, "officer")["id"]
    service.assign_capital(pid, CAPITAL | {"decision_no": "23/QĐ-UBND"}, "officer")
    line = {"row": 5, "project_id": pid, "source": "provincial_budget", "amount": 1_000_000, "date": "2024-06-02"}
    sheet = {"rows": [line | {"reference": "UNC 1"}]}
    paid = len(outbox(factory, "project_disbursed"))
    out = service.import_disbursements(sheet, "ketoan")
    assert (out["recorded"], out["already_recorded"]) == (1, 0)
    assert service.import_disbursements(sheet, "ketoan")["already_recorded"] == 1
    for missing in (None, "  "):  # the voucher number is what a payment is matched by: required, not blank
        with pytest.raises(DomainError) as exc:
            service.import_disbursements({"rows": [line | {"reference": missing}]})
        assert [e["field"] for e in exc.value.errors] == ["rows.0.reference"]
    assert len(outbox(factory, "project_disbursed")) == paid + 1
    wakes = service.relay.call_count
    bad = {"rows": [line | {"row": 6, "reference": "UNC 2", "amount": 10**12}]}
    assert [(e["row"], e["code"]) for e in service.check_disbursement_import(bad)] == [(6, "exceeds_capital")]
    assert service.check_disbursement_import({"rows": [line | {"reference": "UNC 3"}]}) == []
    assert len(outbox(factory, "project_disbursed")) == paid + 1 and service.relay.call_count == wakes
    listed = [r for r in service.capital_by_source(None, 1) if r["project_id"] == pid]
    assert [(r["source"], r["capital"], r["disbursed"]) for r in listed] == [
        ("provincial_budget", 600_000_000, 1_000_000)
    ]
    assert [r for r in service.capital_by_source("910") if r["project_id"] == pid] == []


# --------------------------------------------------------------------------- roll-ups


def test_roll_up_entrypoints(service: Any) -> None:
    service.register_project({**PROJECT, "decision_no": "50/QĐ-UBND"})
    status = service.funding_status(1, "II.5", None, None)
    assert set(status) >= {"allocated", "disbursed", "execution_rate", "by_source", "by_year"}
    assert service.funding_tree(1)["items"]["II.5"]["allocated"] == status["allocated"]
    with pytest.raises(NotFound):
        service.funding_status(1, "IX")
    assert {i["key"] for i in service.targets(2, 2024)["items"]} >= {"stations_bhyt_eligible"}
    assert isinstance(service.surplus_capital(), list)
    assert [p["period"] for p in service.medium_term()["periods"]] == ["2016-2020", "2021-2025", "other"]
    ranked = service.priorities(2027, "910")
    assert ranked["rule"]["version"] == 1 and [i["rank"] for i in ranked["items"]] == list(
        range(1, len(ranked["items"]) + 1)
    )
    assert service.relay.call_count == 1  # the registration's: reads never wake it
