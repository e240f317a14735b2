"""views.capitation_year on SQLite: the year's annual fund in force and the one it superseded, the year's final
settlement in force and the one it superseded, and the quarters' provisional figures; every figure by hand.

The rows are written through the service's own entrypoints (a worker of the real `Service` over a SQLite finance
database), then read with the view directly."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import make_engine, transaction
from services.common.errors import DomainError
from services.common.messaging import DatabaseAccess
from services.finance import views
from services.finance.models import FinanceBase
from services.finance.service import Service

FACILITY = "91302"


@pytest.fixture
def factory(tmp_path: Path) -> Iterator[sessionmaker[Session]]:
    engine = make_engine(f"sqlite:///{tmp_path / 'finance.db'}")
    FinanceBase.metadata.create_all(engine)
    yield sessionmaker(engine, expire_on_commit=False)
    engine.dispose()


@pytest.fixture
def service(factory: sessionmaker[Session]) -> Service:
    return worker_factory(Service, db=DatabaseAccess(factory, "corr-test"), relay=lambda: None)


def spend(service: Service, period: str, amount: str, n: int) -> None:
    service.on_capitation_spend_changed(
        {
            "event_id": f"spend-{period}-{n}",
            "event_type": "capitation_spend_changed",
            "occurred_at": f"2025-01-0{n}T08:00:00+07:00",
            "data": {"facility_code": FACILITY, "period": period, "spend": amount, "claims": 10},
        }
    )


def year(factory: sessionmaker[Session], value: Any = 2024) -> dict[str, Any]:
    with transaction(factory) as s:
        return views.capitation_year(s, FACILITY, value)


def test_a_year_with_no_fund_answers_empty(factory: sessionmaker[Session]):
    got = year(factory)
    assert (got["fund"], got["fund_record"], got["settlement"], got["settlement_history"]) == (None, None, None, [])
    assert [q["period"] for q in got["quarters"]] == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"]
    assert all(q == {"period": q["period"], "fund": None, "spend": None, "advanced": 0, "balance": None}
               for q in got["quarters"])  # fmt: skip


def test_the_settlement_in_force_and_the_superseded_one(service: Service, factory: sessionmaker[Session]):
    body = {"facility_code": FACILITY, "period": "2024", "cards": 1000, "rate_per_card": 300_000}
    service.set_capitation_fund(body | {"coefficient": "1.1"})  # 330 000 000, superseded
    service.set_capitation_fund(
        body | {"coefficient": "1.2", "decision_no": "15/TB-BHXH", "decision_date": "2024-01-20"}
    )  # 1000 × 300 000 × 1,2 = 360 000 000
    service.set_capitation_fund(
        {"facility_code": FACILITY, "period": "2024-Q1", "cards": 250, "rate_per_card": 300_000, "coefficient": "1"}
    )  # a provisional Q1 share: 75 000 000
    spend(service, "2024-Q1", "80000000.40", 1)
    spend(service, "2024-Q2", "90000000.20", 2)
    for period, amount in (("2024-Q1", 50_000_000), ("2024-Q2", 60_000_000)):
        service.pay_advance({"facility_code": FACILITY, "period": period, "amount": amount, "date": "2024-05-02"})
    first = service.settle_capitation(
        {
            "facility_code": FACILITY,
            "period": "2024",
            "station_share_rate": "0.25",
            "station_share_decision_no": "7/QĐ-TTYT",
            "station_share_decision_date": "2025-01-15",
        }
    )
    # Later claims (Q3) and a Q3 advance: settled again, now in deficit, with more advanced than the fund.
    spend(service, "2024-Q3", "200000000.00", 3)
    service.pay_advance({"facility_code": FACILITY, "period": "2024-Q3", "amount": 300_000_000, "date": "2024-08-01"})
    second = service.settle_capitation({"facility_code": FACILITY, "period": "2024"})

    got = year(factory)
    assert got["fund"] == 360_000_000 and got["fund_record"]["inputs"]["decision"] == {
        "number": "15/TB-BHXH",
        "date": "2024-01-20",
    }
    assert [f["fund"] for f in got["fund_history"]] == [330_000_000]
    assert got["fund_record"]["supersedes_id"] == got["fund_history"][0]["id"]

    s = got["settlement"]
    # Spend 80 000 000,40 + 90 000 000,20 + 200 000 000,00 = 370 000 000,60 → 370 000 001 đ; deficit 10 000 001.
    # Advanced 50 + 60 + 300 tr. = 410 000 000 against the fund of 360 000 000: 50 000 000 to refund.
    assert (s["id"], s["supersedes_id"], s["provisional"]) == (second["id"], first["id"], False)
    assert (s["fund"], s["spend"], s["spend_vnd"], s["surplus"], s["deficit"]) == (
        360_000_000,
        "370000000.60",
        370_000_001,
        0,
        10_000_001,
    )
    assert (s["station_share"], s["station_share_decision"], s["advanced"], s["to_pay"], s["refund"]) == (
        0,
        None,
        410_000_000,
        -50_000_000,
        50_000_000,
    )
    # SQLite keeps no time zone: the same instant, read back without its offset.
    assert s["recorded_at"] == s["created_at"] and s["created_at"][:26] == second["created_at"][:26]

    [old] = got["settlement_history"]
    # Spend 170 000 000,60 → 170 000 001 đ; surplus 360 000 000 − 170 000 001 = 189 999 999; 25% of it is
    # 47 499 999,75 → 47 500 000 to the stations; advanced 110 000 000, so 250 000 000 still to pay.
    assert (old["id"], old["spend_vnd"], old["surplus"], old["deficit"]) == (first["id"], 170_000_001, 189_999_999, 0)
    assert (old["station_share_rate"], old["station_share"], old["to_pay"], old["refund"]) == (
        "0.25",
        47_500_000,
        250_000_000,
        0,
    )
    assert old["station_share_decision"] == {"number": "7/QĐ-TTYT", "date": "2025-01-15"}

    q1, q2, q3, q4 = got["quarters"]
    assert q1 == {"period": "2024-Q1", "fund": 75_000_000, "spend": "80000000.40", "advanced": 50_000_000,
                  "balance": "-5000000.40"}  # fmt: skip
    assert (q2["fund"], q2["spend"], q2["advanced"], q2["balance"]) == (None, "90000000.20", 60_000_000, None)
    assert (q3["spend"], q3["advanced"], q4["spend"], q4["advanced"]) == ("200000000.00", 300_000_000, None, 0)
    assert got["advanced"] == 410_000_000


def test_a_quarter_or_a_malformed_year_is_refused(factory: sessionmaker[Session]):
    for value, code in (("2024-Q1", "invalid_year"), ("24", "invalid_period"), (1999, "invalid_period")):
        with pytest.raises(DomainError) as exc:
            year(factory, value)
        assert exc.value.errors[0]["code"] == code, value
    with pytest.raises(DomainError) as exc, transaction(factory) as s:
        views.capitation_year(s, "bad", 2024)
    assert exc.value.errors[0]["code"] == "invalid_facility"
