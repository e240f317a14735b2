"""Target denominators count the units of the evaluation date, on real databases (SQLite and PostgreSQL) with
the register loaded as `ytcs migrate` loads it: 145 stations in 2020, 144 from 2021, 143 in the first half of
2025 (Rạch Giá's interim ward) and the 48 units of tỉnh An Giang from 01/7/2025."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.investment import handlers, views
from services.investment.unit_of_work import InvestmentUnitOfWork

TODAY = date(2026, 11, 25)
IN_FORCE = {"stations_bhyt_eligible", "communes_national_health_criteria", "stations_with_doctor"}


def denominators(db: sessionmaker[Session], plan: int, year: int, unit: str | None = None) -> set[int]:
    with transaction(db) as s:
        answer = views.targets(s, plan, year, unit, TODAY)
    return {i["denominator"] for i in answer["items"] if i["key"] in IN_FORCE}


def test_target_denominators_count_the_units_of_the_evaluation_date(db: sessionmaker[Session]) -> None:
    assert denominators(db, 1, 2020) == {145}
    assert denominators(db, 1, 2024) == {144}
    assert denominators(db, 1, 2025) == {48}  # as of 31/12/2025
    assert denominators(db, 1, 2025, "910") == {3}  # the stations continuing Vĩnh Thuận's 8 communes
    assert denominators(db, 2, 2024) == {8}


def test_the_register_holds_the_2025_units_and_projects_need_one_in_force(db: sessionmaker[Session]) -> None:
    with transaction(db) as s:
        vinh_phong = views.list_stations(s, "910", date(2025, 7, 1))
    assert sorted((st["code"], st["commune"]) for st in vinh_phong) == [
        ("31051", "Xã Vĩnh Phong"), ("31064", "Xã Vĩnh Bình"), ("31069", "Xã Vĩnh Thuận"),
    ]
    body = {"kind": "renovation", "title": "Cải tạo", "estimated_cost": 900, "plan_id": 1, "item_code": "II.5",
            "decision_no": "1/QĐ-UBND"}
    with pytest.raises(DomainError) as exc, InvestmentUnitOfWork(db) as uow:
        handlers.register_project(uow, body | {"station_code": "31074", "decision_date": "2025-07-01"}, today=TODAY)
    [err] = exc.value.errors
    assert (err["code"], err["successor"], err["field"]) == ("unit_not_in_force", "31051", "station_code")
    # The reused code, the day the new unit began: Xã Vĩnh Phong's station.
    with InvestmentUnitOfWork(db) as uow:
        made = handlers.register_project(
            uow, body | {"station_code": "31051", "decision_date": "2025-07-01"}, today=TODAY
        )
    assert made["station_name"] == "Trạm Y tế Xã Vĩnh Phong"
