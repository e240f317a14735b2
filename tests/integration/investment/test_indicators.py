"""Indicator facts (append-only versions) and every target of both plans measured from them, on SQLite and
PostgreSQL with the service's own migrations. Expectations are computed by hand in the comments."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.contracts import investment as contract
from services.common.db import transaction
from services.common.errors import DomainError, NotFound
from services.investment import handlers, views
from services.investment.handlers import record_indicators
from services.investment.models import IndicatorFact
from services.investment.unit_of_work import InvestmentUnitOfWork

TODAY = date(2026, 12, 6)
SOURCE = "Báo cáo thống kê y tế xã năm 2024 (biểu 01/TYT)"

# Vĩnh Thuận's 8 stations in 2024:
# code    pop    managed doctors days fm  performed list  criteria bhyt
VINH_THUAN_2024 = {
    "31051": (12000, 10800, 3, 5, 2, 110, 120, True, True),
    "31060": (8000, 6000, 1, 2, 0, 80, 120, True, True),
    "31063": (7000, 5000, 1, 1, 1, 70, 120, False, True),
    "31064": (9000, 8100, 2, 5, 1, 100, 120, True, True),
    "31069": (10000, 7000, 0, 0, 0, 60, 120, False, False),
    "31072": (6000, 5400, 1, 3, 0, 90, 120, True, True),
    "31074": (5000, 4000, 1, 2, 1, 85, 120, True, True),
    "31075": (8000, 6400, 1, 2, 0, 96, 120, True, False),
}
NAMES = (
    "population",
    "population_managed",
    "doctors",
    "doctor_days_per_week",
    "doctors_family_medicine",
    "services_performed",
    "services_in_list",
    "national_criteria_met",
    "bhyt_eligible",
)


def run(db: sessionmaker[Session], fn: Any, *args: Any, **kwargs: Any) -> Any:
    with transaction(db) as s:
        return fn(s, *args, **kwargs)

def command(db: sessionmaker[Session], fn: Any, *args: Any, **kwargs: Any) -> Any:
    """One command in the service's unit of work (committed when it returns, rolled back when it refuses)."""
    with InvestmentUnitOfWork(db) as uow:
        return fn(uow, *args, **kwargs)



def put(db: sessionmaker[Session], code: str, year: int, **facts: Any) -> dict[str, Any]:
    return command(db, handlers.record_indicators, code, year, {"source": SOURCE, **facts}, "tester")


def codes(db: sessionmaker[Session], fn: Any, *args: Any) -> list[tuple[str, str]]:
    with pytest.raises((DomainError, NotFound)) as exc:
        command(db, fn, *args)
    return [(e.get("field"), e["code"]) for e in exc.value.errors]


def load_vinh_thuan(db: sessionmaker[Session]) -> None:
    for code, values in VINH_THUAN_2024.items():
        put(db, code, 2024, **dict(zip(NAMES, values, strict=True)))
    put(db, "910", 2024, services_performed=700, services_in_list=1000)  # the district health centre


def by_key(answer: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(i["item_code"], i["key"]): i for i in answer["items"]}


def test_facts_are_versions_and_checked(db: sessionmaker[Session]) -> None:
    first = put(db, "31051", 2024, population=12000, population_managed=10800)
    assert first["created"] and first["current"]["version"] == 1 and first["name"] == "Trạm Y tế Thị trấn Vĩnh Thuận"
    # A correction of one field keeps the others and the first version stays visible.
    second = command(
        db, handlers.record_indicators, "31051", 2024, {"population_managed": "10.900", "source": "Điều tra 2024"}, "x"
    )
    assert [v["population_managed"] for v in second["history"]] == [10800, 10900]
    assert second["current"]["population"] == 12000 and second["current"]["changed"] == ["population_managed"]
    assert second["current"]["source"] == "Điều tra 2024"
    # The same facts again make no new version.
    again = command(
        db, handlers.record_indicators, "31051", 2024, {"population_managed": 10900, "source": "Điều tra 2024"}, "x"
    )
    assert again["created"] is False and len(again["history"]) == 2
    # Refusals, each naming its field.
    assert codes(db, record_indicators, "31051", 2024, {"population_managed": 13000, "source": "x"}) == [
        ("population_managed", "exceeds_total")
    ]
    assert codes(db, record_indicators, "31051", 2024, {"doctors": "1,5", "doctor_days_per_week": 9}) == [
        ("doctors", "invalid_number"),
        ("doctor_days_per_week", "out_of_range"),
        ("source", "source_required"),
    ]
    assert codes(db, record_indicators, "31051", 2024, {"beds": 3, "source": "x"}) == [("beds", "unknown_field")]
    assert codes(db, record_indicators, "910", 2024, {"population": 3, "source": "x"}) == [
        ("population", "not_for_centre")
    ]
    assert (
        codes(db, record_indicators, "31099", 2022, {"population": 3, "source": "x"})[0][1] == "unit_not_in_force"
    )
    assert codes(db, record_indicators, "99999", 2024, {"population": 3, "source": "x"}) == [
        ("code", "unknown_station")
    ]
    # The district level ended on 30/6/2025: no centre facts for 2026.
    assert codes(db, record_indicators, "910", 2026, {"services_in_list": 3, "source": "x"})[0][1] == (
        "unit_not_in_force"
    )
    # A reused code: 2025 facts go to the commune of 01/7/2025 (Xã Vĩnh Bình), the 2024 ones to Xã Bình Minh.
    assert put(db, "31064", 2025, population=24000)["valid_from"] == "2025-07-01"
    assert put(db, "31064", 2024, population=9000)["valid_from"] == "2019-12-01"


def test_import_is_all_or_nothing(db: sessionmaker[Session]) -> None:
    rows = [
        {"row": 5, "code": "31051", "values": {"population": 12000, "population_managed": 10800, "source": SOURCE}},
        {"row": 6, "code": "31060", "values": {"population": 8000, "population_managed": "nhiều", "source": SOURCE}},
        {"row": 7, "code": "31063", "values": {"population": None, "source": None}},  # empty row: skipped
    ]
    with pytest.raises(DomainError) as exc:
        command(db, handlers.import_indicators, 2024, rows, "x")
    assert [(e["row"], e["field"], e["code"]) for e in exc.value.errors] == [
        (6, "population_managed", "invalid_number")
    ]
    with db() as s:
        assert s.scalar(select(func.count()).select_from(IndicatorFact)) == 0
    rows[1]["values"]["population_managed"] = 6000
    done = command(db, handlers.import_indicators, 2024, rows, "x")
    assert (done["written"], done["skipped"], done["unchanged"]) == (2, 1, 0)
    # The same sheet twice: no versions.
    assert command(db, handlers.import_indicators, 2024, rows, "x")["unchanged"] == 2
    duplicated = [*rows, {"row": 9, "code": "31051", "values": {"population": 1, "source": SOURCE}}]
    with pytest.raises(DomainError) as exc:
        command(db, handlers.import_indicators, 2024, duplicated, "x")
    assert [(e["row"], e["code"]) for e in exc.value.errors] == [(9, "duplicate_row")]


def test_vinh_thuan_2024_every_target(db: sessionmaker[Session]) -> None:
    load_vinh_thuan(db)
    answer = run(db, views.targets, 2, 2024, None, TODAY)
    contract.Targets().load(answer)
    t = by_key(answer)
    assert answer["level"] == "district" and answer["as_of"] == "2024-12-31"

    def check(item: str, key: str, actual: str | None, num: int, den: int, met: bool | None) -> dict[str, Any]:
        row = t[(item, key)]
        assert (row["actual_value"], row["numerator"], row["denominator"], row["met"]) == (actual, num, den, met), row
        return row

    # BHYT: 31051, 31060, 31063, 31064, 31072, 31074 = 6 of 8 = 75.00 (≥ 90 by 2020, = 100 by 2025).
    check("I.2.a", "stations_bhyt_eligible", "75.00", 6, 8, False)
    # Services: (110+80+70+100+60+90+85+96) / (8 × 120) = 691 / 960 = 71.979… → 71.98 (≥ 70; ≥ 90).
    services = check("I.2.a", "stations_technical_services", "71.98", 691, 960, True)
    check("I.2.b", "stations_technical_services", "71.98", 691, 960, False)
    # 31060 80/120 = 66.67, 31063 70/120 = 58.33, 31069 60/120 = 50.00 are under 70.
    assert [m["code"] for m in services["misses"]] == ["31060", "31063", "31069"]
    assert services["misses"][0]["actual_value"] == "66.67"
    # Criteria: all but 31063 and 31069 = 6 of 8 = 75.00 ("giữ vững 100%").
    check("I.2.a", "communes_national_health_criteria", "75.00", 6, 8, False)
    # Health records: 52 700 / 65 000 = 81.076… → 81.08 (≥ 80; = 100).
    check("I.2.a", "population_health_managed", "81.08", 52700, 65000, True)
    check("I.2.b", "population_health_managed", "81.08", 52700, 65000, False)
    # A doctor ≥ 2 days a week: all but 31063 (1 day) and 31069 (no doctor) = 6 of 8 = 75.00.
    doctor = check("I.2.a", "stations_with_doctor", "75.00", 6, 8, False)
    assert [m["code"] for m in doctor["misses"]] == ["31063", "31069"]
    assert doctor["misses"][0]["reason"] == "1 bác sỹ, 1 ngày/tuần"
    # Family medicine: 5 of 10 doctors = 50.00 (> 20 met; > 50 not).
    check("I.2.a", "doctors_family_medicine_trained", "50.00", 5, 10, True)
    check("I.2.b", "doctors_family_medicine_trained", "50.00", 5, 10, False)
    # The district health centre: 700 / 1000 = 70.00 (≥ 70; ≥ 90).
    check("I.2.a", "district_centres_technical_services", "70.00", 700, 1000, True)
    check("I.2.b", "district_centres_technical_services", "70.00", 700, 1000, False)
    # One row per commune below the district, each with its own value.
    rows = {r["unit"]: r for r in doctor["by_unit"]}
    assert len(rows) == 8 and rows["31063"]["actual_value"] == "0.00" and rows["31051"]["met"] is True
    assert all(i["source"] in ("indicators", "register", "indicators+register") for i in answer["items"])

    # The province plan asked about the district: its own share target over the one centre.
    province = by_key(run(db, views.targets, 1, 2024, "910", TODAY))
    share = province[("I.2.a", "district_centres_technical_services_share")]
    assert (share["actual_value"], share["numerator"], share["denominator"], share["met"]) == ("100.00", 1, 1, True)
    share25 = province[("I.2.b", "district_centres_technical_services_share")]  # 70 % < 90 %
    assert (share25["actual_value"], share25["met"]) == ("0.00", False)
    assert share25["misses"][0]["code"] == "910"
    # The whole province: 144 stations in force, only Vĩnh Thuận's 8 reported; shown district by district.
    whole = by_key(run(db, views.targets, 1, 2024, None, TODAY))
    doc = whole[("I.2.a", "stations_with_doctor")]
    assert (doc["numerator"], doc["denominator"], doc["actual_value"], doc["reported"]) == (6, 144, "4.17", 8)
    per_district = {r["unit"]: r for r in doc["by_unit"]}
    assert per_district["910"]["actual_value"] == "75.00" and len(per_district) == 15
    records = whole[("I.2.a", "population_health_managed")]
    assert (records["actual_value"], records["reported"], records["expected"]) == ("81.08", 8, 144)
    centres = whole[("I.2.a", "district_centres_technical_services_share")]
    assert (centres["numerator"], centres["denominator"], centres["actual_value"]) == (1, 15, "6.67")
    # One commune: its own value, nothing below it.
    commune = by_key(run(db, views.targets, 2, 2024, "31063", TODAY))
    own = commune[("I.2.a", "stations_technical_services")]
    assert (own["actual_value"], own["level"], own["by_unit"]) == ("58.33", "commune", [])
    assert commune[("I.2.a", "district_centres_technical_services")]["actual_value"] is None


def test_after_the_merger_three_successors_are_the_denominator(db: sessionmaker[Session]) -> None:
    load_vinh_thuan(db)
    # 2025 facts of the three communes of 01/7/2025 (Vĩnh Phong 31051, Vĩnh Bình 31064, Vĩnh Thuận 31069).
    put(
        db,
        "31051",
        2025,
        population=25000,
        population_managed=22500,
        doctors=2,
        doctor_days_per_week=5,
        doctors_family_medicine=1,
    )
    put(
        db,
        "31064",
        2025,
        population=24000,
        population_managed=21600,
        doctors=2,
        doctor_days_per_week=5,
        doctors_family_medicine=2,
    )
    put(
        db,
        "31069",
        2025,
        population=16000,
        population_managed=12800,
        doctors=1,
        doctor_days_per_week=1,
        doctors_family_medicine=0,
    )
    t = by_key(run(db, views.targets, 2, 2025, None, TODAY))
    # 56 900 / 65 000 = 87.538… → 87.54; doctors ≥ 2 days: 2 of 3 = 66.67; family medicine 3 of 5 = 60.00.
    records = t[("I.2.b", "population_health_managed")]
    assert (records["actual_value"], records["numerator"], records["denominator"]) == ("87.54", 56900, 65000)
    doctor = t[("I.2.b", "stations_with_doctor")]
    assert (doctor["actual_value"], doctor["numerator"], doctor["denominator"]) == ("66.67", 2, 3)
    assert [m["code"] for m in doctor["misses"]] == ["31069"]
    fm = t[("I.2.b", "doctors_family_medicine_trained")]
    assert (fm["actual_value"], fm["met"]) == ("60.00", True)
    # Nothing reported for 2023: the fact-only targets are not measured (null), the register ones are 0 of 8.
    empty = by_key(run(db, views.targets, 2, 2023, None, TODAY))
    assert empty[("I.2.a", "stations_with_doctor")]["actual_value"] is None
    assert empty[("I.2.a", "population_health_managed")]["actual_value"] is None
    assert empty[("I.2.a", "stations_bhyt_eligible")]["actual_value"] == "0.00"


def test_indicator_facts_take_precedence_over_the_register(db: sessionmaker[Session]) -> None:
    command(db, handlers.record_station_status, "31051", {"attribute": "bhyt_eligible", "value": True, "year": 2020})
    command(db, handlers.record_station_status, "31060", {"attribute": "bhyt_eligible", "value": True, "year": 2020})
    put(db, "31060", 2024, bhyt_eligible=False)  # the 2024 survey says otherwise
    row = by_key(run(db, views.targets, 2, 2024, None, TODAY))[("I.2.a", "stations_bhyt_eligible")]
    assert (row["numerator"], row["denominator"], row["source"]) == (1, 8, "indicators+register")


def test_a_commune_year_before_the_merger_lists_the_communes_now_part_of_it(db: sessionmaker[Session]) -> None:
    """Xã Vĩnh Bình (31064) has since 01/7/2025 been 31064 with Vĩnh Bình Bắc (31060) and 31063 merged into it
    (domain.md §7). Its 2024 sheet and targets are those three stations as they were, each its own row; its
    2025 sheet is the one commune in force at the year's end."""
    load_vinh_thuan(db)
    sheet = run(db, views.sheet_rows, "31064", 2024, TODAY)
    rows = {r["code"]: r for r in sheet["rows"]}
    assert list(rows) == ["31060", "31063", "31064"]
    assert {c: (r["merged_into"], r["facts"]["population"]) for c, r in rows.items()} == {
        "31060": ("31064", 8000),
        "31063": ("31064", 7000),
        "31064": (None, 9000),
    }
    assert (sheet["unit_name"], sheet["merged"]) == ("Xã Vĩnh Bình (31064, gồm 31060, 31063 đã sáp nhập vào)", [
        "31060",
        "31063",
    ])
    later = run(db, views.sheet_rows, "31064", 2025, TODAY)
    assert ([r["code"] for r in later["rows"]], later["unit_name"], later["merged"]) == (
        ["31064"],
        "Xã Vĩnh Bình (31064)",
        [],
    )
    # A merged commune's own page is itself alone, and the district's lists each station once, marked.
    assert [r["code"] for r in run(db, views.sheet_rows, "31063", 2024, TODAY)["rows"]] == ["31063"]
    district = run(db, views.sheet_rows, "910", 2024, TODAY)["rows"]
    assert [r["code"] for r in district if r["level"] == "commune"] == sorted(VINH_THUAN_2024)
    assert {r["code"] for r in district if r["merged_into"]} == {"31060", "31063", "31072", "31074", "31075"}

    t = by_key(run(db, views.targets, 2, 2024, "31064", TODAY))
    # A doctor ≥ 2 days a week: 31060 (1 doctor, 2 days) and 31064 (2, 5), not 31063 (1 day) = 2 of 3.
    doctor = t[("I.2.a", "stations_with_doctor")]
    assert (doctor["actual_value"], doctor["numerator"], doctor["denominator"]) == ("66.67", 2, 3)
    assert [m["code"] for m in doctor["misses"]] == ["31063"]
    assert (doctor["level"], doctor["by_unit"]) == ("commune", [])
    assert "Xã Vĩnh Bình (31064, gồm 31060, 31063 đã sáp nhập vào)" in doctor["basis"]
    # Health records: (6 000 + 5 000 + 8 100) / (8 000 + 7 000 + 9 000) = 19 100 / 24 000 = 79.583… → 79.58.
    records = t[("I.2.a", "population_health_managed")]
    assert (records["actual_value"], records["numerator"], records["denominator"]) == ("79.58", 19100, 24000)
    # The 2025 targets of 31064 measure the one commune in force at the year's end.
    later = by_key(run(db, views.targets, 2, 2025, "31064", TODAY))[("I.2.b", "stations_with_doctor")]
    assert later["expected"] == 1 and "đã sáp nhập" not in later["basis"]
