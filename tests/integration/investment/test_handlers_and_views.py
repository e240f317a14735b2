"""The investment handlers (each in its unit of work) and read side (views) on real databases (SQLite and
PostgreSQL), schema built by the service's own migrations and the register loaded as `ytcs migrate` loads it."""

from __future__ import annotations

import threading
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common import catalog
from services.common.contracts import event_schema
from services.common.contracts import investment as contract
from services.common.db import transaction
from services.common.errors import DomainError, NotFound
from services.investment import handlers, views
from services.investment.models import Outbox, ProjectCapital, ProjectDisbursement
from services.investment.register_loader import sync_register
from services.investment.unit_of_work import InvestmentUnitOfWork

TODAY = date(2026, 11, 25)


@pytest.fixture
def db(db: sessionmaker[Session]) -> sessionmaker[Session]:
    """conftest's database, its register loaded a second time: that changes nothing (ytcs migrate loads it every
    start)."""
    with transaction(db) as s:
        assert sync_register(s) == 194  # 145 of 2019, then 1 + 48 new versions (interim 2025 ward, 2025 map)
    return db


def run(db: sessionmaker[Session], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One command or query in its own unit of work, as the service runs it."""
    with transaction(db) as s:
        return fn(s, *args, **kwargs)

def command(db: sessionmaker[Session], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One command in the service's unit of work (committed when it returns, rolled back when it refuses)."""
    with InvestmentUnitOfWork(db) as uow:
        return fn(uow, *args, **kwargs)



def new_project(db: sessionmaker[Session], **kw: Any) -> dict[str, Any]:
    body = {
        "station_code": "30733",
        "kind": "renovation",
        "title": "Cải tạo, nâng cấp Trạm Y tế",
        "estimated_cost": 1_500_000_000,
        "plan_id": 1,
        "item_code": "II.5",
    }
    body.update(kw)
    return command(db, handlers.register_project, body, "test", today=TODAY)


def capital(
    db: sessionmaker[Session], pid: int, source: str, year: int, amount: int, **extra: Any
) -> dict[str, Any]:
    body = {
        "source": source,
        "fiscal_year": year,
        "amount": amount,
        "decision_no": f"{year}/QĐ-UBND",
        "decision_date": f"{year}-02-01",
        **extra,
    }
    return command(db, handlers.assign_capital, pid, body, "test")


def pay(db: sessionmaker[Session], pid: int, source: str, amount: int, on: str) -> dict[str, Any]:
    body = {"source": source, "amount": amount, "date": on, "reference": "KB"}
    return command(db, handlers.disburse, pid, body, "test")


def refused(fn: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(DomainError) as exc:
        fn(*args, **kwargs)
    return exc.value.errors[0]["code"]


def count(db: sessionmaker[Session], model: type) -> int:
    with db() as s:
        return int(s.scalar(select(func.count()).select_from(model)))


# --------------------------------------------------------------------------- registration


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"station_code": "99999"}, "unknown_station"),
        ({"kind": "demolition"}, "invalid_kind"),
        ({"estimated_cost": 0}, "invalid_amount"),
        ({"plan_id": 9}, "unknown_plan"),
        ({"item_code": "II.9"}, "unknown_item"),
        ({"start_year": 2024, "end_year": 2023}, "invalid_years"),
        ({"status": "settled"}, "invalid_status"),
        # 34/KH-UBND is Vĩnh Thuận's plan: a Rạch Giá station is not on its ground.
        ({"plan_id": 2}, "station_outside_plan"),
        # Vĩnh Bình Bắc ceased on 30/6/2025: no new project dated after that.
        ({"station_code": "31060", "plan_id": 2, "decision_date": "2025-08-01"}, "unit_not_in_force"),
        ({"station_code": "31060", "plan_id": 2, "start_year": 2026}, "unit_not_in_force"),
    ],
)
def test_registration_is_validated(db: sessionmaker[Session], change: dict[str, Any], code: str) -> None:
    assert refused(new_project, db, **change) == code


def test_a_reused_commune_code_picks_the_version_of_the_project_date(db: sessionmaker[Session]) -> None:
    # 31064 was Xã Bình Minh until 30/6/2025 and is Xã Vĩnh Bình from 01/7/2025.
    before = new_project(db, station_code="31064", plan_id=2, decision_date="2024-03-01")
    after = new_project(db, station_code="31064", plan_id=2, decision_date="2025-09-01")
    undated = new_project(db, station_code="31060", plan_id=2)  # in force during the plan period
    assert before["station"]["name"] == "Trạm Y tế Xã Bình Minh"
    assert after["station"]["name"] == "Trạm Y tế Xã Vĩnh Bình"
    assert undated["station"]["valid_to"] == "2025-06-30"
    assert undated["current_station_code"] == "31064"
    assert before["status"] == "proposed" and before["estimated_cost"] == 1_500_000_000


# --------------------------------------------------------------------------- money across sources and years


def test_multi_source_project_across_years(db: sessionmaker[Session]) -> None:
    p = new_project(db, station_code="30736", estimated_cost=1_500_000_000, start_year=2019, end_year=2023)
    pid = p["id"]
    capital(db, pid, "bhyt_surplus_20", 2019, 300_000_000, fund_year=2018, use="equipment")
    capital(db, pid, "provincial_budget", 2020, 500_000_000)
    capital(db, pid, "ntp_nrd", 2021, 400_000_000)
    result = capital(db, pid, "provincial_budget", 2022, 200_000_000)
    assert result["project"]["capital"] == 1_400_000_000
    assert result["project"]["remaining_to_finance"] == 100_000_000
    pay(db, pid, "bhyt_surplus_20", 300_000_000, "2019-11-20")
    pay(db, pid, "provincial_budget", 450_000_000, "2020-12-15")
    pay(db, pid, "provincial_budget", 250_000_000, "2022-03-10")  # 2020 and 2022 capital of the source
    pay(db, pid, "ntp_nrd", 300_000_000, "2023-01-20")

    detail = run(db, views.project_detail, pid, TODAY)
    assert detail["by_source"] == {
        "bhyt_surplus_20": {"capital": 300_000_000, "disbursed": 300_000_000, "available": 0},
        "ntp_nrd": {"capital": 400_000_000, "disbursed": 300_000_000, "available": 100_000_000},
        "provincial_budget": {"capital": 700_000_000, "disbursed": 700_000_000, "available": 0},
    }
    assert detail["by_year"]["2020"] == {"capital": 500_000_000, "disbursed": 450_000_000}
    assert detail["by_year"]["2023"] == {"capital": 0, "disbursed": 300_000_000}
    assert [c["amount"] for c in detail["capital_records"]] == [300_000_000, 500_000_000, 400_000_000, 200_000_000]

    whole = run(db, views.funding_status, 1, "II.5")
    contract.FundingStatus().load(whole)  # the shape the gateway adds to finance's
    assert (whole["allocated"], whole["disbursed"]) == (1_400_000_000, 1_300_000_000)
    assert whole["execution_rate"] == "0.9286"
    assert whole["by_source"]["provincial_budget"] == {"allocated": 700_000_000, "disbursed": 700_000_000}
    assert whole["by_year"] == {
        "2019": {"allocated": 300_000_000, "disbursed": 300_000_000},
        "2020": {"allocated": 500_000_000, "disbursed": 450_000_000},
        "2021": {"allocated": 400_000_000, "disbursed": 0},
        "2022": {"allocated": 200_000_000, "disbursed": 250_000_000},
        "2023": {"allocated": 0, "disbursed": 300_000_000},
    }
    y2022 = run(db, views.funding_status, 1, "II.5", 2022)
    assert (y2022["allocated"], y2022["disbursed"], y2022["year"]) == (200_000_000, 250_000_000, 2022)
    assert list(y2022["by_year"]) == ["2022"]
    # Section II contains II.5; an unrelated item has nothing.
    assert run(db, views.funding_status, 1, "II")["allocated"] == 1_400_000_000
    assert run(db, views.funding_status, 1, "II.4")["allocated"] == 0
    assert run(db, views.funding_status, 1, "II.4")["execution_rate"] is None

    mt = run(db, views.medium_term, None, TODAY)
    first, second, other = mt["periods"]
    assert (first["period"], first["capital"], first["disbursed"]) == ("2016-2020", 800_000_000, 750_000_000)
    assert first["by_source"]["bhyt_surplus_20"]["by_year"] == {
        "2019": {"capital": 300_000_000, "disbursed": 300_000_000}
    }
    assert (second["period"], second["capital"], second["disbursed"]) == ("2021-2025", 600_000_000, 550_000_000)
    assert other["capital"] == 0
    (row,) = [r for r in mt["projects"] if r["id"] == pid]
    assert row["capital_by_period"] == {"2016-2020": 800_000_000, "2021-2025": 600_000_000, "other": 0}
    assert row["remaining_to_finance"] == 100_000_000


def test_both_guards_refuse_and_write_nothing(db: sessionmaker[Session]) -> None:
    pid = new_project(db, estimated_cost=1_000_000_000)["id"]
    capital(db, pid, "provincial_budget", 2024, 600_000_000)
    capital(db, pid, "district_budget", 2024, 300_000_000)
    rows = count(db, ProjectCapital), count(db, ProjectDisbursement), count(db, Outbox)
    assert refused(capital, db, pid, "ntp_nrd", 2025, 100_000_001) == "exceeds_estimated_cost"
    assert refused(pay, db, pid, "provincial_budget", 600_000_001, "2024-10-01") == "exceeds_capital"
    # Another source's room does not help a source that has none.
    assert refused(pay, db, pid, "ntp_nrd", 1, "2024-10-01") == "exceeds_capital"
    # The 20% surplus follows its fund year (services/common/surplus.py, finance's rule too): 2020's surplus
    # spent in 2021 is its main legal use; 2021 has no surplus to spend, and no fund year is spent in itself.
    assert refused(capital, db, pid, "bhyt_surplus_20", 2022, 1, fund_year=2021, use="equipment") == (
        "surplus_source_closed"
    )
    assert refused(capital, db, pid, "bhyt_surplus_20", 2020, 1, fund_year=2020, use="equipment") == (
        "fund_year_not_before_fiscal_year"
    )
    assert refused(capital, db, pid, "bhyt_surplus_20", 2021, 1) == "fund_year_required"
    assert refused(capital, db, pid, "lottery", 2024, 1) == "unknown_source"
    assert (count(db, ProjectCapital), count(db, ProjectDisbursement), count(db, Outbox)) == rows

    # Exactly up to the limits is allowed.
    capital(db, pid, "ntp_nrd", 2025, 100_000_000)
    pay(db, pid, "provincial_budget", 600_000_000, "2024-10-01")
    # A revised estimate (new record with its decision) raises the cap.
    revised = command(
        db,
        handlers.revise_estimate,
        pid,
        {"amount": 1_200_000_000, "decision_no": "99/QĐ-UBND", "decision_date": "2025-05-05"},
    )
    assert revised["project"]["estimated_cost"] == 1_200_000_000
    capital(db, pid, "ntp_nrd", 2025, 200_000_000)
    assert refused(capital, db, pid, "ntp_nrd", 2025, 1) == "exceeds_estimated_cost"
    body = {"amount": 1_100_000_000, "decision_no": "100/QĐ", "decision_date": "2025-06-01"}
    assert refused(command, db, handlers.revise_estimate, pid, body) == "estimate_below_capital"
    # A capital reduction is a negative row, never below what that source paid out.
    assert refused(capital, db, pid, "provincial_budget", 2025, -1) == "capital_below_disbursed"
    capital(db, pid, "district_budget", 2025, -300_000_000)
    detail = run(db, views.project_detail, pid, TODAY)
    assert detail["capital"] == 900_000_000
    assert [e["amount"] for e in detail["estimates"]] == [1_000_000_000, 1_200_000_000]
    assert detail["by_source"]["district_budget"] == {"capital": 0, "disbursed": 0, "available": 0}
    # A reversal (negative disbursement) gives the room back.
    pay(db, pid, "provincial_budget", -100_000_000, "2025-01-05")
    pay(db, pid, "provincial_budget", 100_000_000, "2025-01-06")
    assert refused(pay, db, pid, "provincial_budget", -600_000_001, "2025-01-07") == "reversal_exceeds_disbursed"


def test_concurrent_capital_cannot_both_pass_the_guard(db: sessionmaker[Session]) -> None:
    """Two clerks assign the last room at the same moment: one is refused (row lock / serialised writer)."""
    pid = new_project(db, estimated_cost=1_000_000_000)["id"]
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def clerk(source: str) -> None:
        barrier.wait()
        try:
            capital(db, pid, source, 2024, 600_000_000)
            outcomes.append("ok")
        except DomainError as exc:
            outcomes.append(exc.errors[0]["code"])
        except Exception as exc:  # noqa: BLE001 - SQLite may refuse the second writer outright
            outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=clerk, args=(s,)) for s in ("provincial_budget", "ntp_nrd")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("ok") == 1, outcomes
    assert run(db, views.project_detail, pid, TODAY)["capital"] == 600_000_000


# --------------------------------------------------------------------------- merger


def test_merged_station_rolls_up_to_its_successor_after_01_07_2025(db: sessionmaker[Session]) -> None:
    """Vĩnh Bình Bắc (31060) joined Xã Vĩnh Bình (31064) on 01/7/2025: its project keeps its station, and
    the roll-ups put 2024 money and payments before the merger at 31060, the rest at 31064."""
    pid = new_project(db, station_code="31060", plan_id=2, start_year=2024, estimated_cost=3_000_000_000)["id"]
    capital(db, pid, "provincial_budget", 2024, 1_000_000_000)
    capital(db, pid, "ntp_nrd", 2025, 1_500_000_000)
    pay(db, pid, "provincial_budget", 800_000_000, "2024-12-20")
    pay(db, pid, "ntp_nrd", 500_000_000, "2025-06-30")  # the last day of Vĩnh Bình Bắc
    pay(db, pid, "ntp_nrd", 600_000_000, "2025-07-01")  # the first day of Xã Vĩnh Bình

    old = run(db, views.station_funding, "31060")
    new = run(db, views.station_funding, "31064")
    assert (old["allocated"], old["disbursed"]) == (1_000_000_000, 1_300_000_000)
    assert (new["allocated"], new["disbursed"]) == (1_500_000_000, 600_000_000)
    assert new["by_year"] == {"2025": {"allocated": 1_500_000_000, "disbursed": 600_000_000}}
    assert run(db, views.station_funding, "31064", 2024)["allocated"] == 0
    assert run(db, views.station_funding, "31060", 2024)["allocated"] == 1_000_000_000
    # The same split through the plan item narrowed to a unit (what a commune user sees).
    for unit, year, expected in [
        ("31064", 2025, (1_500_000_000, 600_000_000)),
        ("31064", 2024, (0, 0)),
        ("31060", 2024, (1_000_000_000, 800_000_000)),
        ("31060", 2025, (0, 500_000_000)),
        ("910", None, (2_500_000_000, 1_900_000_000)),
        ("899", None, (0, 0)),
    ]:
        f = run(db, views.funding_status, 2, "II.5", year, unit)
        assert (f["allocated"], f["disbursed"]) == expected, (unit, year)
    # The project itself never moves: it stays at 31060, now under 31064.
    (row,) = run(db, views.list_projects, unit="31064", today=TODAY)
    assert (row["id"], row["station_code"], row["current_station_code"]) == (pid, "31060", "31064")
    assert run(db, views.list_projects, unit="31069", today=TODAY) == []
    station = run(db, views.get_station, "31064", None, TODAY)
    assert station["name"] == "Trạm Y tế Xã Vĩnh Bình"
    assert station["merged_in"] == ["31060", "31063"]
    assert [p["id"] for p in station["projects"]] == [pid]
    assert station["funding"]["allocated"] == 1_500_000_000


# --------------------------------------------------------------------------- plan roll-up


def test_district_money_counts_once_in_the_province_item(db: sessionmaker[Session]) -> None:
    district = new_project(db, station_code="31069", plan_id=2, decision_date="2024-01-15")["id"]
    province = new_project(db, station_code="30733", plan_id=1)["id"]
    other_item = new_project(db, station_code="30733", plan_id=1, item_code="II.2.5", kind="equipment")["id"]
    capital(db, district, "district_budget", 2024, 400_000_000)
    capital(db, province, "provincial_budget", 2024, 700_000_000)
    capital(db, other_item, "ntp_health_population", 2024, 50_000_000)
    pay(db, district, "district_budget", 100_000_000, "2024-08-08")

    assert run(db, views.funding_status, 1, "II.5")["allocated"] == 1_100_000_000
    assert run(db, views.funding_status, 2, "II.5")["allocated"] == 400_000_000
    assert run(db, views.funding_status, 1, "II")["allocated"] == 1_150_000_000
    assert run(db, views.funding_status, 1, "II.2")["allocated"] == 50_000_000
    assert run(db, views.funding_status, 1, "II.5", None, "910")["allocated"] == 400_000_000
    tree = run(db, views.funding_tree, 1)
    contract.FundingTree().load(tree)
    assert set(tree["items"]) == set(catalog.get_plan(1).codes)
    for code, figures in tree["items"].items():
        single = run(db, views.funding_status, 1, code)
        assert {k: v for k, v in single.items() if k != "plan_id"} == figures, code
    assert run(db, views.funding_tree, 2)["items"]["II"]["allocated"] == 400_000_000
    with pytest.raises(NotFound):
        run(db, views.funding_status, 1, "IX")
    assert refused(run, db, views.funding_status, 1, "II.5", None, "12345") == "unknown_unit"


# --------------------------------------------------------------------------- project life


def test_status_flow_completion_and_settled_cost(db: sessionmaker[Session]) -> None:
    pid = new_project(db, estimated_cost=1_000_000_000)["id"]
    capital(db, pid, "provincial_budget", 2024, 900_000_000)
    pay(db, pid, "provincial_budget", 700_000_000, "2024-10-10")
    step = {"status": "under_construction", "effective_date": "2024-03-01"}
    assert refused(command, db, handlers.change_status, pid, step) == "invalid_transition"
    command(db, handlers.change_status, pid, {"status": "approved", "effective_date": "2024-02-01"})
    command(db, handlers.change_status, pid, step)
    done = {
        "settled_cost": 1_000_000_001,
        "completed_on": "2024-12-01",
        "decision_no": "5/QĐ",
        "decision_date": "2025-02-01",
    }
    assert refused(command, db, handlers.complete_project, pid, done) == "exceeds_estimated_cost"
    assert refused(command, db, handlers.complete_project, pid, {**done, "settled_cost": 699_999_999}) == (
        "settled_below_disbursed"
    )
    settled = command(db, handlers.complete_project, pid, {**done, "settled_cost": 800_000_000})
    assert settled["status"] == "settled"
    assert [h["to_status"] for h in settled["status_history"]] == [
        "proposed",
        "approved",
        "under_construction",
        "completed",
        "settled",
    ]
    assert settled["completion"]["settled_cost"] == 800_000_000
    assert settled["remaining_to_finance"] == 0
    # After quyết toán the settled cost caps payments and capital.
    assert refused(pay, db, pid, "provincial_budget", 100_000_001, "2025-03-01") == "exceeds_settled_cost"
    pay(db, pid, "provincial_budget", 100_000_000, "2025-03-01")
    assert refused(command, db, handlers.complete_project, pid, done) == "already_settled"
    with pytest.raises(NotFound):
        command(
            db,
            handlers.assign_capital,
            999_999,
            {"source": "other", "fiscal_year": 2024, "amount": 1, "decision_no": "x", "decision_date": "2024-01-01"},
        )


def test_every_command_leaves_its_event_in_the_outbox(db: sessionmaker[Session]) -> None:
    pid = new_project(db, estimated_cost=500)["id"]
    capital(db, pid, "oda_aid", 2024, 500)
    pay(db, pid, "oda_aid", 400, "2024-05-05")
    command(db, handlers.change_status, pid, {"status": "approved"}, today=TODAY)
    command(db, handlers.change_status, pid, {"status": "under_construction"}, today=TODAY)
    command(
        db,
        handlers.complete_project,
        pid,
        {"settled_cost": 450, "completed_on": "2024-12-01", "decision_no": "1", "decision_date": "2024-12-20"},
    )
    status = {"attribute": "national_health_criteria", "value": True, "year": 2021, "decision_no": "QĐ 7"}
    command(db, handlers.record_station_status, "30733", status)
    with db() as s:
        rows = list(s.scalars(select(Outbox).order_by(Outbox.id)))
    kinds = [r.event_type for r in rows]
    assert kinds == [
        "project_registered",
        "capital_assigned",
        "project_disbursed",
        "project_status_changed",
        "project_status_changed",
        "project_status_changed",
        "project_status_changed",
        "project_completed",
        "station_criteria_reached",
    ]
    for r in rows:  # each payload is valid against its versioned contract
        schema, version = event_schema(r.event_type)
        assert r.version == version
        schema.load(r.payload)
    assert rows[-1].payload == {"station_code": "30733", "criterion": "national_health_criteria", "year": 2021}


# --------------------------------------------------------------------------- station criteria and targets


def record(db: sessionmaker[Session], code: str, attribute: str, value: Any, year: int, **kw: Any) -> dict:
    body = {"attribute": attribute, "value": value, "year": year, **kw}
    return command(db, handlers.record_station_status, code, body)


def test_station_status_keeps_history_and_reports_reaching_criteria_once(db: sessionmaker[Session]) -> None:
    assert record(db, "30739", "national_health_criteria", False, 2018)["criteria_reached"] is False
    first = record(db, "30739", "national_health_criteria", True, 2020, decision_no="123/QĐ-UBND")
    assert first["criteria_reached"] is True and first["current"] is True
    assert record(db, "30739", "national_health_criteria", True, 2022)["criteria_reached"] is False
    assert record(db, "30739", "national_health_criteria", False, 2019)["current"] is True  # backfill
    record(db, "30739", "building_condition", "poor", 2023)
    with pytest.raises(NotFound):
        record(db, "99999", "nrd_standard", True, 2020)
    assert refused(record, db, "30739", "building_condition", "ruined", 2023) == "invalid_value"
    # Hòn Thơm ceased on 31/01/2021: nothing to record about it for 2022.
    assert refused(record, db, "31099", "nrd_standard", True, 2022) == "unit_not_in_force"

    station = run(db, views.get_station, "30739", None, TODAY)
    assert station["national_health_criteria"] is True
    assert station["national_health_criteria_year"] == 2022
    assert station["building_condition"] == "poor"
    assert [(h["year"], h["value"]) for h in station["history"] if h["attribute"] == "national_health_criteria"] == [
        (2018, False),
        (2019, False),
        (2020, True),
        (2022, True),
    ]
    listed = {s["code"]: s for s in run(db, views.list_stations)}
    assert len(listed) == 145
    assert listed["30739"]["status"]["building_condition"]["value"] == "poor"
    # As of a year, later records are not seen.
    as_of_2019 = {s["code"]: s for s in run(db, views.list_stations, None, date(2019, 12, 31))}
    assert as_of_2019["30739"]["national_health_criteria"] is False
    with db() as s:
        events = s.scalars(select(Outbox.event_type).where(Outbox.event_type == "station_criteria_reached")).all()
    assert len(events) == 1


VINH_THUAN_2019 = ("31051", "31060", "31063", "31064", "31069", "31072", "31074", "31075")


def test_targets_are_computed_from_the_register(db: sessionmaker[Session]) -> None:
    for code in VINH_THUAN_2019[:6]:
        record(db, code, "bhyt_eligible", True, 2020)
    for code in VINH_THUAN_2019[:7]:
        record(db, code, "national_health_criteria", True, 2019)
    # The 2025 communes are new units: their criteria are recorded for them (Xã Vĩnh Bình reuses 31064).
    record(db, "31064", "national_health_criteria", True, 2025, decision_date="2025-09-01")
    record(db, "31069", "national_health_criteria", True, 2025)

    t2020 = run(db, views.targets, 2, 2020, None, TODAY)
    contract.Targets().load(t2020)
    by_key = {(i["key"], i["target_year"]): i for i in t2020["items"]}
    bhyt = by_key[("stations_bhyt_eligible", 2020)]
    assert (bhyt["numerator"], bhyt["denominator"], bhyt["actual_value"]) == (6, 8, "75.00")
    assert bhyt["target_value"] == 90 and bhyt["comparison"] == ">=" and bhyt["met"] is False
    nhc = by_key[("communes_national_health_criteria", 2020)]
    assert (nhc["numerator"], nhc["denominator"], nhc["actual_value"]) == (7, 8, "87.50")
    assert nhc["as_of"] == "2020-12-31"
    assert t2020["unit"] == "910"

    # After the merger Vĩnh Thuận has 3 communes: Vĩnh Bình and Vĩnh Thuận have their own decisions.
    t2025 = run(db, views.targets, 2, 2025, None, TODAY)
    nhc25 = next(i for i in t2025["items"] if i["key"] == "communes_national_health_criteria")
    assert (nhc25["numerator"], nhc25["denominator"], nhc25["actual_value"]) == (2, 3, "66.67")
    bhyt25 = next(i for i in t2025["items"] if i["key"] == "stations_bhyt_eligible")
    assert (bhyt25["numerator"], bhyt25["denominator"]) == (0, 3)

    # The province counts every station in force: 145 in 2020, 144 after Hòn Thơm joined An Thới.
    p2020 = run(db, views.targets, 1, 2020, None, TODAY)
    p_nhc = next(i for i in p2020["items"] if i["key"] == "communes_national_health_criteria")
    assert (p_nhc["numerator"], p_nhc["denominator"], p_nhc["actual_value"]) == (7, 145, "4.83")
    p2024 = run(db, views.targets, 1, 2024, "910", TODAY)
    # Station shares count every station in force (the pooled and centre targets count other things).
    shares = ("stations_bhyt_eligible", "communes_national_health_criteria", "stations_with_doctor")
    assert {i["denominator"] for i in p2024["items"] if i["key"] in shares} == {8}
    p2024_all = run(db, views.targets, 1, 2024, None, TODAY)
    assert {i["denominator"] for i in p2024_all["items"] if i["key"] in shares} == {144}
    # A year still running is counted as of today.
    assert run(db, views.targets, 1, 2027, None, TODAY)["as_of"] == "2026-11-25"


def test_difficult_communes_invested_target(db: sessionmaker[Session]) -> None:
    record(db, "31060", "difficult_commune", True, 2017)
    record(db, "31063", "difficult_commune", True, 2017)
    pid = new_project(
        db,
        station_code="31060",
        plan_id=2,
        start_year=2019,
        kind="new_build",
        estimated_cost=100,
        status="under_construction",
    )["id"]
    capital(db, pid, "provincial_budget", 2019, 100)
    command(db, handlers.change_status, pid, {"status": "completed", "effective_date": "2020-06-01"})
    equipment = new_project(
        db,
        station_code="31063",
        plan_id=2,
        start_year=2019,
        kind="equipment",
        estimated_cost=100,
        status="under_construction",
    )["id"]
    command(db, handlers.change_status, equipment, {"status": "completed", "effective_date": "2020-06-01"})
    t = run(db, views.targets, 1, 2020, "910", TODAY)
    item = next(i for i in t["items"] if i["key"] == "stations_difficult_communes_invested")
    assert (item["numerator"], item["denominator"], item["actual_value"], item["met"]) == (1, 2, "50.00", False)
    assert item["target_value"] is None and item["target_unit"] == "completion"
    assert (
        next(
            i
            for i in run(db, views.targets, 1, 2019, "910", TODAY)["items"]
            if i["key"] == "stations_difficult_communes_invested"
        )["numerator"]
        == 0
    )


# --------------------------------------------------------------------------- priorities


def test_priorities_rank_with_visible_parts(db: sessionmaker[Session]) -> None:
    record(db, "31069", "national_health_criteria", True, 2025)
    record(db, "31069", "nrd_standard", True, 2025)
    record(db, "31069", "building_condition", "good", 2025)
    record(db, "31051", "building_condition", "none", 2026)
    record(db, "31051", "nrd_target_year", 2027, 2026)
    pid = new_project(
        db,
        station_code="31069",
        plan_id=2,
        decision_date="2025-08-01",
        kind="upgrade",
        estimated_cost=100,
        status="under_construction",
    )["id"]
    command(db, handlers.change_status, pid, {"status": "completed", "effective_date": "2026-05-01"})

    ranked = run(db, views.priorities, 2027, "910", TODAY)
    assert [i["code"] for i in ranked["items"]] == ["31051", "31064", "31069"]
    top = ranked["items"][0]
    assert top["rank"] == 1
    assert {p["rule"]: p["points"] for p in top["parts"]} == {
        "national_health_criteria_not_met": 30,
        "nrd_target_year": 20,
        "building_condition": 30,
        "commune_kind": 10,
        "no_recent_completed_project": 10,
    }
    assert top["score"] == 100
    last = ranked["items"][-1]
    assert last["score"] == 10 and last["facts"]["last_completed_year"] == 2026
    assert ranked["rule"]["version"] == 1
    # Before the merger the 8 old stations are ranked.
    assert len(run(db, views.priorities, 2024, "910", TODAY)["items"]) == 8
    # Xã Vĩnh Bình's (31064) 2024 list is the three stations now part of it; 2027's, the one commune.
    assert sorted(i["code"] for i in run(db, views.priorities, 2024, "31064", TODAY)["items"]) == [
        "31060",
        "31063",
        "31064",
    ]
    assert [i["code"] for i in run(db, views.priorities, 2027, "31064", TODAY)["items"]] == ["31064"]


def test_a_bad_rpc_payload_is_a_named_refusal(db: sessionmaker[Session]) -> None:
    pid = new_project(db)["id"]
    with pytest.raises(DomainError) as exc:
        command(db, handlers.assign_capital, pid, {"source": "other", "fiscal_year": 2024, "amount": 1.5})
    assert {e["field"] for e in exc.value.errors} == {"amount", "decision_no", "decision_date"}
    assert all(e["code"] == "invalid" for e in exc.value.errors)
