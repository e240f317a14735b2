"""The claims commands: one function per command, each given a `ClaimsUnitOfWork` and nothing else.

A handler validates its command with the contract schema, reads what it needs through `uow.repo`, asks the
domain (services/claims/domain/) for the decision, writes through `uow.repo` and announces what happened with
`uow.publish(...)`. It never commits: leaving the caller's `with uow:` does, rows and events together.
Events consumed from other services go through `uow.first_delivery(...)`, so a redelivery changes nothing.
The intake pipeline (services/claims/intake.py) calls `file_loaded` in the transaction that finishes a file.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.claims import reasons
from services.claims.domain import assessment, totals
from services.claims.domain.periods import settlement_period
from services.claims.models import CapitationAdvance, CapitationFund, ClaimFile, CommuneStation
from services.claims.unit_of_work import ClaimsUnitOfWork
from services.common import contracts
from services.common.contracts import claims as contract
from services.common.errors import DomainError
from services.common.money import CENT, decimal_str
from services.common.outbox import utcnow
from services.common.periods import Quarter

# --- files ----------------------------------------------------------------------------------------


def register_file(uow: ClaimsUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Record a stored file and queue it (event `file_received`, which this service itself consumes).

    The same bytes again answer the first file's id and queue nothing: nothing is counted twice.
    `facility_code` is the facility the gateway read from the envelope head and authorised the uploader for; the
    intake's check pass fails the file (`envelope_facility_mismatch`) if the envelope it parses names another."""
    args = contract.RegisterFileV1().load(data)
    existing = uow.repo.file_by_sha256(args["sha256"])
    if existing is None:
        row = ClaimFile(**args, status="processing")
        if uow.repo.add_file(row):
            uow.publish(
                "file_received",
                {"file_id": row.id, "sha256": row.sha256, "size": row.size, "facility_code": row.facility_code},
            )
            return _registered(row, duplicate=False)
        # The same bytes uploaded twice at the same moment: the other request registered them first.
        existing = uow.repo.file_by_sha256(args["sha256"])
        if existing is None:
            raise RuntimeError(f"file {args['sha256']} neither inserted nor found")
    return _registered(existing, duplicate=True)


def _registered(f: ClaimFile, duplicate: bool) -> dict[str, Any]:
    return {"id": f.id, "status": f.status, "sha256": f.sha256, "duplicate": duplicate}


def chunks_planned(uow: ClaimsUnitOfWork, file_id: int, chunks: list[tuple[int, int, int]]) -> None:
    """A checked file cut into (chunk, first, end): one `file_chunk_ready` per chunk when there are several, for
    any replica to take (this service consumes it). A file of one chunk is loaded by the worker that checked it;
    if that worker dies, the stall timer takes the chunk up."""
    if len(chunks) < 2:
        return
    for chunk, first, end in chunks:
        uow.publish("file_chunk_ready", {"file_id": file_id, "chunk": chunk, "first": first, "end": end})


def file_loaded(uow: ClaimsUnitOfWork, file_id: int) -> list[tuple[str, int, int]]:
    """The events of a file that has just been loaded: `records_accepted` per facility-month of the file, and
    `capitation_spend_changed` with the current spend of every facility-quarter whose fund the file's claims
    count against: the facility where each card is registered (MA_DKBD), wherever it was treated, so a card of B
    treated at A tells B's quarter. Returns those facility-quarters."""
    for facility, year, month, accepted, count, t_bhtt in uow.repo.file_months(file_id):
        uow.publish(
            "records_accepted",
            {
                "file_id": file_id,
                "facility_code": facility,
                "period": f"{year}-{month:02d}",
                "accepted": accepted,
                "rejected": count - accepted,
                "t_bhtt": decimal_str(Decimal(t_bhtt) * CENT),
            },
        )
    quarters = {
        (totals.registered_facility(ma_dkbd, treating), year, quarter)
        for ma_dkbd, treating, year, quarter in uow.repo.file_registrations(file_id)
    }
    # Under the rows' lock, the level told is the one committed last: another file's batch adding to the same
    # registered facility (from another treating facility) waits for this commit and tells its own level after.
    uow.repo.lock_totals(quarters)
    for facility, year, quarter in sorted(quarters):
        spend, claims = uow.repo.quarter_spend(facility, year, quarter)
        uow.publish(
            "capitation_spend_changed",
            {
                "facility_code": facility,
                "period": str(Quarter(year, quarter)),
                "spend": decimal_str(spend),
                "claims": claims,
            },
        )
    return sorted(quarters)


# --- assessments (giám định) ----------------------------------------------------------------------


def record_assessments(uow: ClaimsUnitOfWork, data: dict[str, Any], assessed_by: str) -> dict[str, Any]:
    """BHXH's results for claims of one facility, all or nothing: any refused item refuses the batch,
    naming every refused item. A claim assessed again gets a new row that supersedes the earlier one."""
    req = contract.AssessmentRequestV1().load(data)
    facility = req["facility_code"]
    items = [assessment.read_item(i) for i in req["items"]]
    found = uow.repo.accepted_claims(facility, sorted({i.ma_lk for i in items}))
    errors = assessment.check(items, {k: c.requested for k, c in found.items()}, reasons.catalog())
    if errors:
        raise DomainError(errors)
    batch = uow.repo.add_assessment_batch(facility, assessed_by, len(items))
    now = utcnow()
    rows = [
        {
            "batch_id": batch.id,
            "claim_id": found[i.ma_lk].claim_id,
            "facility_code": facility,
            "ma_lk": i.ma_lk,
            "requested": found[i.ma_lk].requested,
            "approved_amount": i.approved_amount,
            "reason_code": i.reason_code,
            "note": i.note,
            "created_at": now,
        }
        for i in items
    ]
    # The facility-quarter totals move in this transaction: lock their rows first, then read the assessments
    # these supersede (a concurrent batch on the same claims has committed by then), then insert.
    uow.repo.lock_totals({totals.key_of(facility, c.year, c.quarter) for c in found.values()})
    assessed = [
        (c.claim_id, c.requested, c.year, c.quarter, i.approved_amount) for i in items for c in (found[i.ma_lk],)
    ]
    previous = uow.repo.newest_approved([a[0] for a in assessed])
    uow.repo.add_to_totals(totals.for_assessments(facility, assessed, previous))
    uow.repo.insert_assessments(rows)
    for (year, quarter), (count, approved) in assessment.by_quarter(items, found).items():
        uow.publish(
            "claims_assessed",
            {
                "facility_code": facility,
                "period": str(Quarter(year, quarter)),  # type: ignore[arg-type] - an accepted claim has its period
                "assessed": count,
                "approved": decimal_str(approved),
            },
        )
    return {
        "id": batch.id,
        "facility_code": facility,
        "assessed": len(items),
        "requested": decimal_str(sum((r["requested"] for r in rows), Decimal(0))),
        "approved": decimal_str(sum((i.approved_amount for i in items), Decimal(0))),
        "items": [assessment.item_answer(i, found[i.ma_lk].requested) for i in items],
    }


# --- projections of finance's and investment's events ---------------------------------------------


def _first_delivery(uow: ClaimsUnitOfWork, body: dict[str, Any]) -> dict[str, Any] | None:
    """The event's data, validated by its contract; None when the inbox has seen this event id before."""
    if not uow.first_delivery(body["event_id"], body["event_type"]):
        return None
    schema, _version = contracts.event_schema(body["event_type"])
    return schema.load(body["data"])


def record_fund(uow: ClaimsUnitOfWork, body: dict[str, Any]) -> bool:
    """Finance's `capitation_fund_set` (once per event id). False for a redelivery."""
    return _record_finance_figure(uow, body, CapitationFund, "fund_id", "fund")


def record_advance(uow: ClaimsUnitOfWork, body: dict[str, Any]) -> bool:
    """Finance's `advance_paid` (tạm ứng), once per event id. False for a redelivery."""
    return _record_finance_figure(uow, body, CapitationAdvance, "advance_id", "amount")


def _record_finance_figure(
    uow: ClaimsUnitOfWork,
    body: dict[str, Any],
    model: type[CapitationFund] | type[CapitationAdvance],
    id_field: str,
    amount_field: str,
) -> bool:
    """A fund or an advance of finance's, kept once: not for a redelivered event, nor for the same figure
    re-published under a new event id. Its period is keyed as the reconciliation reads it."""
    data = _first_delivery(uow, body)
    if data is None or uow.repo.has_finance_figure(model, id_field, data[id_field]):
        return False
    period, year = settlement_period(data["period"])
    uow.repo.add(
        model(
            **{id_field: data[id_field], amount_field: data[amount_field]},
            facility_code=data["facility_code"],
            period=period,
            year=year,
            event_id=body["event_id"],
        )
    )
    return True


def record_station(uow: ClaimsUnitOfWork, body: dict[str, Any]) -> bool:
    """Investment's `station_facility_set` (once per event id): the MA_CSKCB a commune station claims under,
    so its claims get the 100 % benefit level of Luật BHYT Điều 22 k1 e. False for a redelivery."""
    data = _first_delivery(uow, body)
    if data is None:
        return False
    uow.repo.add(
        CommuneStation(
            station_code=data["station_code"],
            facility_code=data["facility_code"],
            year=data["year"],
            event_id=body["event_id"],
        )
    )
    return True

