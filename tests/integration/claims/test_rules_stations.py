"""Commune stations by event (issue 14): investment names the MA_CSKCB a station claims under
(`bhyt_facility_code` → event `station_facility_set`), claims projects it, and the benefit-level check of a
station's claims then knows the 100 % rule — no false `muc_huong_inconsistent`. Real SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.claims import handlers as claims_handlers
from services.common.db import make_engine, transaction
from services.common.errors import DomainError
from services.common.migrate import upgrade
from services.common.outbox import utcnow
from services.investment import handlers as investment_handlers
from services.investment.models import Outbox as InvestmentOutbox
from services.investment.register_loader import sync_register
from services.investment.unit_of_work import InvestmentUnitOfWork
from tests.integration.claims.conftest import ClaimsEnv, generate

STATION = "31069"  # Trạm Y tế xã Vĩnh Thuận


def _investment(url: str) -> sessionmaker:
    upgrade("investment", url)
    factory = sessionmaker(make_engine(url), expire_on_commit=False)
    with transaction(factory) as s:
        sync_register(s)
    return factory


def _published(factory: sessionmaker) -> list[dict]:
    """Investment's outbox rows of the event, as the relay would publish them."""
    with transaction(factory) as s:
        rows = s.scalars(select(InvestmentOutbox).where(InvestmentOutbox.event_type == "station_facility_set")).all()
        return [
            {"event_id": r.event_id, "event_type": r.event_type, "version": 1, "source": "investment",
             "occurred_at": utcnow().isoformat(), "correlation_id": None, "data": r.payload}
            for r in rows
        ]


def _record(factory: sessionmaker, value: object, year: int) -> dict:
    with InvestmentUnitOfWork(factory) as uow:
        return investment_handlers.record_station_status(
            uow, STATION, {"attribute": "bhyt_facility_code", "value": value, "year": year}
        )


def _muc_huong_warnings(env: ClaimsEnv, facility: str, year: int = 2024) -> tuple[int, int]:
    data, summary = generate(records=60, facility=facility, year=year, faults={"muc_huong_inconsistent": 3})
    status = env.load(data)
    assert status["records"]["accepted"] == summary.accepted == 60
    return sum(e["code"] == "muc_huong_inconsistent" for e in status["errors"]), status["records"]["accepted"]


def test_a_station_named_by_investment_gets_no_false_benefit_level_warning(
    db_url_factory, tmp_path: Path
) -> None:
    from services.common.blobstore import FilesystemBlobStore

    investment = _investment(db_url_factory("investment"))
    claims_url = db_url_factory("claims")
    upgrade("claims", claims_url)
    factory = sessionmaker(make_engine(claims_url), expire_on_commit=False)
    env = ClaimsEnv(factory, FilesystemBlobStore(tmp_path / "blobs"))

    # Before investment says so, 91060 is not known as a station: the three 100 % lines on 80 % cards are flagged.
    assert _muc_huong_warnings(env, "91060") == (3, 60)

    try:
        _record(investment, "9106", 2024)
        raise AssertionError("a 4-character MA_CSKCB was recorded")
    except DomainError as exc:
        assert exc.errors[0]["code"] == "invalid_value"
    _record(investment, "91061", 2023)  # an older code of the same station…
    _record(investment, "91060", 2024)  # …superseded by the newer year
    events = _published(investment)
    assert [e["data"] for e in events] == [
        {"station_code": STATION, "facility_code": "91061", "year": 2023},
        {"station_code": STATION, "facility_code": "91060", "year": 2024},
    ]
    for body in reversed(events):  # out of order, and one delivered twice
        assert env.run(claims_handlers.record_station, body)
    assert not env.run(claims_handlers.record_station, events[0])
    with env.uow() as uow:
        assert uow.repo.commune_station_facilities() == {"91060"}

    # The same kind of file from the station now: 100 % is its right (Luật BHYT Điều 22 k1 e), no warning.
    assert _muc_huong_warnings(env, "91060", 2025) == (0, 60)
    # Another facility is still checked.
    assert _muc_huong_warnings(env, "91062") == (3, 60)
