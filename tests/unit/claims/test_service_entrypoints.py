"""Every entrypoint of the claims service (service.py), called through nameko's `worker_factory` on a real SQLite
database built by the service's migrations and a real FilesystemBlobStore in a temporary directory: each decodes
its arguments, runs its one handler in a ClaimsUnitOfWork (committed, the relay woken for what it published) or
its one view, and answers a dict. The files they read are loaded by the intake worker's entrypoint (worker.py,
tests/unit/claims/test_worker_entrypoints.py) on the same database, as in a running stack. The rules behind each
answer are tested with the handlers, views and intake (tests/integration/claims)."""

from __future__ import annotations

import io
import os
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from nameko.testing.services import worker_factory
from sqlalchemy import update
from sqlalchemy.orm import Session, sessionmaker

from services.claims.models import CapitationAdvance, CapitationFund, ClaimFile, CommuneStation, Outbox
from services.claims.service import Service
from services.claims.worker import Worker
from services.common.blobstore import FilesystemBlobStore
from services.common.db import transaction
from services.common.errors import DomainError, NotFound
from services.common.messaging import DatabaseAccess
from services.common.outbox import utcnow
from services.devtools import claims_generator
from tests.support.services import entrypoint_names, outbox_rows, row_count

FACILITY = "91060"
CORRELATION = "corr-claims-entrypoints"

# What the tests below call; test_every_entrypoint_is_covered keeps this set equal to the service's.
COVERED = {
    "health",
    "register_file",
    "expire_blobs",
    "file_status",
    "file_issues",
    "list_files",
    "facilities_seen",
    "list_claims",
    "get_claim",
    "record_assessments",
    "rules",
    "reasons",
    "reconciliation",
    "quarters_on_record",
    "capitation_summary",
    "on_capitation_fund_set",
    "on_station_facility_set",
    "on_advance_paid",
}


@pytest.fixture
def service(factory: sessionmaker[Session], store: FilesystemBlobStore) -> Any:
    """A worker of the service with the real database; the relay, metrics and business figures are mocks."""
    return worker_factory(Service, db=DatabaseAccess(factory, CORRELATION))


def claim_file(records: int = 6, faults: dict[str, int] | None = None, seed: int = 1) -> bytes:
    buf = io.BytesIO()
    claims_generator.generate(
        buf, facility=FACILITY, records=records, year=2024, months=[7, 8, 9], seed=seed, faults=faults or {}
    )
    return buf.getvalue()


def upload(service: Any, store: FilesystemBlobStore, data: bytes) -> dict[str, Any]:
    """Store the bytes as the gateway does, then `register_file` them."""
    blob = store.put(io.BytesIO(data))
    return service.register_file(blob.sha256, blob.size, blob.name, "bhxh-test", FACILITY, "HoSo.xml")


def loaded(service: Any, store: FilesystemBlobStore, data: bytes) -> int:
    """A registered file processed by the event handler the relay's `file_received` reaches: the intake
    worker's (worker.py), on the service's database."""
    reg = upload(service, store, data)
    worker = worker_factory(Worker, db=service.db)
    worker.on_file_received({"data": {"file_id": reg["id"], "sha256": reg["sha256"], "size": len(data)}})
    return reg["id"]


def event(event_type: str, data: dict[str, Any], source: str = "finance") -> dict[str, Any]:
    return {
        "event_id": str(uuid.uuid4()),
        "event_type": event_type,
        "version": 1,
        "source": source,
        "occurred_at": utcnow().isoformat(),
        "correlation_id": None,
        "data": data,
    }


def outbox(factory: sessionmaker[Session], event_type: str) -> list[Outbox]:
    return outbox_rows(factory, Outbox, event_type)


def test_every_entrypoint_is_covered() -> None:
    # RPC methods, the event handlers (finance's and investment's events) and the blob sweep; the intake's
    # entrypoints are the worker's (test_worker_entrypoints.py).
    assert entrypoint_names(Service) == COVERED


def test_health(service: Any) -> None:
    assert service.health() == {"status": "ok"}


# --------------------------------------------------------------------------- files


def test_register_file_queues_it_once(service: Any, store: FilesystemBlobStore, factory: sessionmaker) -> None:
    data = claim_file()
    first = upload(service, store, data)
    assert (first["status"], first["duplicate"]) == ("processing", False)
    again = upload(service, store, data)
    assert (again["id"], again["duplicate"]) == (first["id"], True)
    [queued] = outbox(factory, "file_received")
    assert queued.payload["file_id"] == first["id"] and queued.correlation_id == CORRELATION
    assert service.relay.call_count == 2  # woken after each call, so the event leaves at once


def test_expire_blobs_deletes_a_refused_file_s_bytes(
    service: Any, store: FilesystemBlobStore, factory: sessionmaker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YTCS_FAILED_BLOB_TTL_SECONDS", "3600")
    refused, kept = upload(service, store, b"<not-xml/>" * 10), upload(service, store, claim_file())
    with transaction(factory) as s:
        s.execute(
            update(ClaimFile)
            .where(ClaimFile.id == refused["id"])
            .values(status="failed", finished_at=utcnow() - timedelta(hours=2))
        )
    old = time.time() - 7200
    for name in (refused["sha256"], kept["sha256"]):
        os.utime(store.root / name, (old, old))
    service.expire_blobs()
    assert not store.exists(refused["sha256"]) and store.exists(kept["sha256"])


def test_file_status_and_issues_page(service: Any, store: FilesystemBlobStore) -> None:
    file_id = loaded(service, store, claim_file(records=10, faults={"missing_field": 2, "amount_mismatch": 1}))
    st = service.file_status(file_id, limit=1, severity="critical")
    assert len(st["errors"]) == 1 and st["errors"][0]["severity"] == "critical"
    assert st["errors_total"] >= 2 and sum(st["errors_by_code"].values()) >= 3
    page = service.file_issues(file_id, 0, 1)
    assert len(page["items"]) == 1
    rest = service.file_issues(file_id, page["last_id"], 10_000)  # the limit is capped, not refused
    assert len(page["items"]) + len(rest["items"]) == sum(st["errors_by_code"].values())
    with pytest.raises(NotFound):
        service.file_status(999)
    with pytest.raises(NotFound):
        service.file_issues(999)


def test_list_files_and_facilities_seen(service: Any, store: FilesystemBlobStore) -> None:
    file_id = loaded(service, store, claim_file())
    listed = service.list_files(1, 10, [FACILITY], "done")
    assert [f["id"] for f in listed["items"]] == [file_id] and listed["items"][0]["filename"] == "HoSo.xml"
    assert service.list_files(1, 10, [], None)["total"] == 0  # an empty scope sees nothing
    assert [f["facility_code"] for f in service.facilities_seen([])] == [FACILITY]
    assert service.facilities_seen([FACILITY]) == []


# --------------------------------------------------------------------------- claims and assessments


def test_list_and_get_claims_mask_personal_data(service: Any, store: FilesystemBlobStore) -> None:
    loaded(service, store, claim_file())
    masked = service.list_claims(False, [FACILITY], period="2024-Q3", status="accepted")
    assert masked["total"] == 6 and masked["items"][0]["ho_ten"] == "***"
    shown = service.list_claims(True, None, ma_lk=masked["items"][0]["ma_lk"])["items"][0]
    assert shown["ho_ten"] not in (None, "***")
    one = service.get_claim(FACILITY, shown["ma_lk"], False)
    assert one["ma_lk"] == shown["ma_lk"] and one["ho_ten"] == "***" and one["lines"]
    with pytest.raises(NotFound):
        service.get_claim(FACILITY, shown["ma_lk"], True, ["91999"])  # outside the caller's scope
    with pytest.raises(DomainError):
        service.list_claims(True, None, period="Q3")


def test_record_assessments_decodes_and_publishes(
    service: Any, store: FilesystemBlobStore, factory: sessionmaker
) -> None:
    loaded(service, store, claim_file())
    claim = service.list_claims(True, None, status="accepted")["items"][0]
    service.relay.reset_mock()
    out = service.record_assessments(
        FACILITY, [{"ma_lk": claim["ma_lk"], "approved_amount": "0", "reason_code": "sai_gia"}], "bhxh-test"
    )
    assert out["assessed"] == 1 and out["items"][0]["outcome"] == "refused"
    [published] = outbox(factory, "claims_assessed")
    assert published.payload["facility_code"] == FACILITY and published.correlation_id == CORRELATION
    assert service.relay.call_count == 1
    with pytest.raises(DomainError) as refused:
        service.record_assessments(FACILITY, [{"ma_lk": "KHONG-CO", "approved_amount": "1"}], "bhxh-test")
    assert refused.value.errors[0]["code"] == "unknown_claim"


def test_rules_and_reasons(service: Any) -> None:
    book = service.rules()
    assert {"duplicate_claim", "envelope_invalid"} <= {c["code"] for c in book["codes"]} and book["items"]
    reasons = {r["code"]: r for r in service.reasons()}
    assert reasons["khac"]["requires_note"] and reasons["sai_gia"]["kind"] == "tu_choi"


# --------------------------------------------------------------------------- finance's and investment's events


def test_funds_advances_and_the_reconciliation(service: Any, store: FilesystemBlobStore, factory: sessionmaker) -> None:
    loaded(service, store, claim_file())
    fund = event("capitation_fund_set", {"fund_id": 1, "facility_code": FACILITY, "period": "2024-Q3", "fund": 9000})
    assert service.on_capitation_fund_set(fund) is True
    assert service.on_capitation_fund_set(fund) is False  # a redelivery: counted as a duplicate
    advance = event("advance_paid", {"advance_id": 1, "facility_code": FACILITY, "period": "2024-08", "amount": 500})
    assert service.on_advance_paid(advance) is True
    assert service.on_advance_paid(advance) is False
    assert (row_count(factory, CapitationFund), row_count(factory, CapitationAdvance)) == (1, 1)
    rec = service.reconciliation(FACILITY, "2024-Q3")
    assert rec["capitation"]["fund"] == "9000.00" and rec["payments"] == {"advanced": "500.00"}
    assert rec["claims"]["count"] == 6
    assert service.reconciliation(FACILITY, "2024-Q3", ["91999"])["claims"]["count"] == 0
    with pytest.raises(DomainError) as bad:
        service.reconciliation(FACILITY, "2024-13")
    assert bad.value.errors[0]["code"] == "invalid_period"
    summary = service.capitation_summary([FACILITY], 2024)
    assert summary["fund"] == "9000.00" and summary["advanced"] == "500.00"
    assert summary["requested"] == rec["claims"]["requested"]

    # The quarters the pages' pickers offer: the claims' (kept totals), the funds' and the advances', newest first,
    # within the caller's facilities; a period finance sent that names no quarter is not offered.
    for n, (facility, period) in enumerate((("91061", "2025-Q1"), ("91061", "2025"), (FACILITY, "2023-Q4")), 2):
        body = event("capitation_fund_set", {"fund_id": n, "facility_code": facility, "period": period, "fund": 1})
        assert service.on_capitation_fund_set(body) is True
    later = event("advance_paid", {"advance_id": 2, "facility_code": FACILITY, "period": "2025-02", "amount": 5})
    assert service.on_advance_paid(later) is True
    assert service.quarters_on_record() == [
        {"facility": "91061", "period": "2025-Q1"},
        {"facility": FACILITY, "period": "2025-Q1"},
        {"facility": FACILITY, "period": "2024-Q3"},
        {"facility": FACILITY, "period": "2023-Q4"},
    ]
    assert [p["period"] for p in service.quarters_on_record(["91061"])] == ["2025-Q1"]
    assert service.quarters_on_record([]) == []


def test_a_station_s_facility_code_is_projected(service: Any, factory: sessionmaker) -> None:
    body = event(
        "station_facility_set", {"station_code": "31069", "facility_code": FACILITY, "year": 2024}, "investment"
    )
    assert service.on_station_facility_set(body) is True
    assert service.on_station_facility_set(body) is False
    assert row_count(factory, CommuneStation) == 1
