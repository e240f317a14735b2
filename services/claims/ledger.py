"""The claims service layer: one function per command, each one unit of work (rows + outbox events).

The caller (service.py, intake.py) opens the transaction; these functions write into it and never commit.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from sqlalchemy import case, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.claims import assessment, queries, totals
from services.claims.models import (
    Assessment,
    AssessmentBatch,
    CapitationAdvance,
    CapitationFund,
    Claim,
    ClaimFile,
    CommuneStation,
    Inbox,
    Outbox,
)
from services.common import contracts, outbox
from services.common.errors import DomainError
from services.common.money import decimal_str
from services.common.periods import PeriodError, Quarter

CENT = Decimal("0.01")


# --- files ----------------------------------------------------------------------------------------


def register_file(
    session: Session,
    sha256: str,
    size: int,
    blob_name: str,
    uploaded_by: str,
    facility_code: str | None = None,
    filename: str | None = None,
) -> dict[str, Any]:
    """Record a stored file and queue it (event `file_received`, which this service itself consumes).
    The same bytes again answer the first file's id and queue nothing: nothing is counted twice.
    `facility_code` is the facility the gateway read from the envelope head and authorised the uploader for; the
    check pass fails the file (`envelope_facility_mismatch`) if the envelope it parses names another."""
    existing = session.scalar(select(ClaimFile).where(ClaimFile.sha256 == sha256))
    if existing is not None:
        return {"id": existing.id, "status": existing.status, "sha256": sha256, "duplicate": True}
    row = ClaimFile(
        sha256=sha256,
        size=size,
        blob_name=blob_name,
        filename=filename,
        uploaded_by=uploaded_by,
        status="processing",
        facility_code=facility_code,
    )
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        # The same bytes uploaded twice at the same moment: the other request registered them first.
        existing = session.scalar(select(ClaimFile).where(ClaimFile.sha256 == sha256))
        if existing is None:
            raise
        return {"id": existing.id, "status": existing.status, "sha256": sha256, "duplicate": True}
    outbox.record_event(
        session,
        Outbox,
        "file_received",
        {"file_id": row.id, "sha256": sha256, "size": size, "facility_code": facility_code},
    )
    return {"id": row.id, "status": row.status, "sha256": sha256, "duplicate": False}


def file_finished_events(session: Session, file_id: int) -> list[tuple[str, int, int]]:
    """Events of a file that has just been loaded: `records_accepted` per facility-month of the file, and
    `capitation_spend_changed` with the current spend of every facility-quarter the file touched.
    Returns the facility-quarters touched."""
    accepted_row = Claim.status == "accepted"
    rows = session.execute(
        select(
            Claim.facility_code,
            Claim.period_year,
            Claim.period_month,
            func.sum(case((accepted_row, 1), else_=0)),
            func.count(Claim.id),
            queries.cents(case((accepted_row, func.coalesce(Claim.t_bhtt, 0)), else_=0)),
        )
        .where(Claim.file_id == file_id, Claim.period_year.is_not(None), Claim.period_month.is_not(None))
        .group_by(Claim.facility_code, Claim.period_year, Claim.period_month)
        .order_by(Claim.facility_code, Claim.period_year, Claim.period_month)
    ).all()
    quarters: set[tuple[str, int, int]] = set()
    for facility, year, month, accepted, count, t_bhtt in rows:
        accepted = int(accepted or 0)
        outbox.record_event(
            session,
            Outbox,
            "records_accepted",
            {
                "file_id": file_id,
                "facility_code": facility,
                "period": f"{year}-{month:02d}",
                "accepted": accepted,
                "rejected": int(count) - accepted,
                "t_bhtt": decimal_str(Decimal(int(t_bhtt or 0)) * CENT),
            },
        )
        if accepted:
            quarters.add((facility, int(year), Quarter.of_month(int(year), int(month)).quarter))
    for facility, year, quarter in sorted(quarters):
        publish_spend(session, facility, year, quarter)
    return sorted(quarters)


def publish_spend(session: Session, facility: str, year: int, quarter: int) -> None:
    spend, count = queries.spend_level(session, facility, year, quarter)
    outbox.record_event(
        session,
        Outbox,
        "capitation_spend_changed",
        {
            "facility_code": facility,
            "period": str(Quarter(year, quarter)),
            "spend": decimal_str(spend),
            "claims": count,
        },
    )


# --- assessments (giám định) ----------------------------------------------------------------------


def record_assessments(
    session: Session, facility_code: str, items: list[dict[str, Any]], assessed_by: str
) -> dict[str, Any]:
    """BHXH's results for claims of one facility, all or nothing: any refused item refuses the batch,
    naming every refused item. A claim assessed again gets a new row that supersedes the earlier one."""
    parsed = [
        assessment.Item(
            ma_lk=str(i["ma_lk"]).strip(),
            approved_amount=Decimal(i["approved_amount"]).quantize(CENT),
            reason_code=i.get("reason_code") or None,
            note=i.get("note") or None,
        )
        for i in items
    ]
    found = queries.accepted_requested(session, facility_code, sorted({i.ma_lk for i in parsed}))
    errors = assessment.check(parsed, {k: v[1] for k, v in found.items()}, assessment.reasons())
    if errors:
        raise DomainError(errors)
    batch = AssessmentBatch(facility_code=facility_code, assessed_by=assessed_by, items=len(parsed))
    session.add(batch)
    session.flush()
    now = outbox.utcnow()
    rows = []
    per_quarter: dict[tuple[int, int], list[Decimal]] = defaultdict(lambda: [Decimal(0), Decimal(0)])
    out_items = []
    for item in parsed:
        claim_id, requested, year, quarter = found[item.ma_lk]
        rows.append(
            {
                "batch_id": batch.id,
                "claim_id": claim_id,
                "facility_code": facility_code,
                "ma_lk": item.ma_lk,
                "requested": requested,
                "approved_amount": item.approved_amount,
                "reason_code": item.reason_code,
                "note": item.note,
                "created_at": now,
            }
        )
        acc = per_quarter[(year, quarter)]
        acc[0] += 1
        acc[1] += item.approved_amount
        out_items.append(
            {
                "ma_lk": item.ma_lk,
                "requested": decimal_str(requested),
                "approved_amount": decimal_str(item.approved_amount),
                "rejected": decimal_str(requested - item.approved_amount),
                "reason_code": item.reason_code,
                "outcome": assessment.outcome(requested, item.approved_amount),
            }
        )
    # The facility-quarter totals move in this transaction: lock their rows first, then read the assessments
    # these supersede (a concurrent batch on the same claims has committed by then), then insert.
    totals.lock(session, {totals.key_of(facility_code, v[2], v[3]) for v in found.values()})
    assessed = [(r["claim_id"], r["requested"], *found[r["ma_lk"]][2:], r["approved_amount"]) for r in rows]
    totals.apply(session, totals.for_assessments(session, facility_code, assessed))
    for start in range(0, len(rows), 1000):
        session.execute(insert(Assessment.__table__), rows[start : start + 1000])
    for (year, quarter), (count, approved) in sorted(per_quarter.items()):
        outbox.record_event(
            session,
            Outbox,
            "claims_assessed",
            {
                "facility_code": facility_code,
                "period": str(Quarter(year, quarter)),
                "assessed": int(count),
                "approved": decimal_str(approved),
            },
        )
    return {
        "id": batch.id,
        "facility_code": facility_code,
        "assessed": len(parsed),
        "requested": decimal_str(sum((r["requested"] for r in rows), Decimal(0))),
        "approved": decimal_str(sum((i.approved_amount for i in parsed), Decimal(0))),
        "items": out_items,
    }


# --- projections of finance's events --------------------------------------------------------------


def _period(text: str) -> tuple[str, int | None]:
    """Finance's period as the reconciliation keys it: `YYYY-Qn` (a month is folded into its quarter)."""
    t = text.strip()
    try:
        return str(Quarter.parse(t)), int(t[:4])
    except PeriodError:
        pass
    if len(t) == 7 and t[4] == "-" and t[:4].isdigit() and t[5:].isdigit() and 1 <= int(t[5:]) <= 12:
        return str(Quarter.of_month(int(t[:4]), int(t[5:]))), int(t[:4])
    return t[:10], int(t[:4]) if t[:4].isdigit() else None


def _load(body: dict[str, Any]) -> dict[str, Any]:
    schema, _version = contracts.event_schema(body["event_type"])
    return schema.load(body["data"])


def record_fund(session: Session, body: dict[str, Any]) -> bool:
    """Finance's `capitation_fund_set` (once per event id). False for a redelivery."""
    if not outbox.claim_once(session, Inbox, body["event_id"], body["event_type"]):
        return False
    data = _load(body)
    if session.scalar(select(CapitationFund.id).where(CapitationFund.fund_id == data["fund_id"])) is not None:
        return False  # the same fund re-published under a new event id
    period, year = _period(data["period"])
    session.add(
        CapitationFund(
            fund_id=data["fund_id"],
            facility_code=data["facility_code"],
            period=period,
            year=year,
            fund=data["fund"],
            event_id=body["event_id"],
        )
    )
    return True


def record_station(session: Session, body: dict[str, Any]) -> bool:
    """Investment's `station_facility_set` (once per event id): the MA_CSKCB a commune station claims under.
    False for a redelivery."""
    if not outbox.claim_once(session, Inbox, body["event_id"], body["event_type"]):
        return False
    data = _load(body)
    session.add(
        CommuneStation(
            station_code=data["station_code"],
            facility_code=data["facility_code"],
            year=data["year"],
            event_id=body["event_id"],
        )
    )
    return True


def record_advance(session: Session, body: dict[str, Any]) -> bool:
    """Finance's `advance_paid` (tạm ứng), once per event id. False for a redelivery."""
    if not outbox.claim_once(session, Inbox, body["event_id"], body["event_type"]):
        return False
    data = _load(body)
    if session.scalar(select(CapitationAdvance.id).where(CapitationAdvance.advance_id == data["advance_id"])):
        return False
    period, year = _period(data["period"])
    session.add(
        CapitationAdvance(
            advance_id=data["advance_id"],
            facility_code=data["facility_code"],
            period=period,
            year=year,
            amount=data["amount"],
            event_id=body["event_id"],
        )
    )
    return True
