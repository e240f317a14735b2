"""Finance commands: one function per command, each one unit of work (its rows and its outbox events
commit together in the caller's transaction). Rules live in domain.py; this module reads the facts they
need, under a lock, and writes what they allow. Money rows are only ever inserted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from services.common import outbox, units
from services.common.contracts.claims import CapitationSpendChangedV1
from services.common.contracts.finance import (
    AdjustmentCommandV1,
    AdvanceCommandV1,
    AllocationCommandV1,
    CapitationFundCommandV1,
    DisbursementCommandV1,
    ReversalCommandV1,
    SettlementCommandV1,
)
from services.common.errors import DomainError, NotFound, error
from services.finance import domain
from services.finance.domain import AllocationFacts, PlanFacts
from services.finance.models import (
    Adjustment,
    Allocation,
    CapitationAdvance,
    CapitationFundRecord,
    CapitationSettlement,
    CapitationSpendReport,
    Disbursement,
    Inbox,
    Outbox,
    Plan,
    PlanItem,
)

VIETNAM = timezone(timedelta(hours=7))  # no daylight saving: a fixed offset is exact


def today() -> date:
    """Decisions are dated in Vietnamese local time."""
    return datetime.now(VIETNAM).date()


# --------------------------------------------------------------------------- locking


def serialize_writes(session: Session) -> None:
    """Make check-then-insert atomic. SQLite: take the write lock before the first read (BEGIN IMMEDIATE),
    so no other writer commits between our check and our insert. PostgreSQL: row locks (`_lock`)."""
    if session.get_bind().dialect.name != "sqlite":
        return
    dbapi = session.connection().connection.dbapi_connection
    if not dbapi.in_transaction:  # type: ignore[union-attr]
        session.execute(text("BEGIN IMMEDIATE"))


def _lock(session: Session, allocation_id: int) -> Allocation | None:
    stmt = select(Allocation).where(Allocation.id == allocation_id)
    if session.get_bind().dialect.name == "postgresql":
        # Locks the row, not the money: every command that checks an allocation's remaining money locks
        # that allocation first (parents before children), so two checks cannot both pass on stale sums.
        stmt = stmt.with_for_update()
    return session.scalar(stmt)


# --------------------------------------------------------------------------- facts


def plan_facts(session: Session, plan_id: int, field: str = "plan_id", status: int = 422) -> PlanFacts:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise DomainError.one("unknown_plan", f"Không có kế hoạch số hiệu {plan_id}.", field, status)
    return PlanFacts(plan.id, plan.number, plan.unit, plan.period_from, plan.period_to, plan.parent_id)


def plans_below(session: Session, plan_id: int) -> list[int]:
    """The plans applying `plan_id` at lower levels (the province plan's district plans), recursively."""
    out: list[int] = []
    frontier = [plan_id]
    while frontier:
        rows = list(session.scalars(select(Plan.id).where(Plan.parent_id.in_(frontier))))
        out.extend(rows)
        frontier = rows
    return out


def item_exists(session: Session, plan_id: int, code: str) -> bool:
    return session.scalar(select(PlanItem.id).where(PlanItem.plan_id == plan_id, PlanItem.code == code)) is not None


def _sum(stmt: Any) -> Any:
    return func.coalesce(stmt, 0)


def allocation_facts(session: Session, row: Allocation) -> AllocationFacts:
    """The allocation's own money and what is already used of it, summed in the database."""
    adj = select(_sum(func.sum(Adjustment.amount))).where(Adjustment.allocation_id == row.id).scalar_subquery()
    child_amount = select(_sum(func.sum(Allocation.amount))).where(Allocation.parent_id == row.id).scalar_subquery()
    child_adj = (
        select(_sum(func.sum(Adjustment.amount)))
        .join(Allocation, Allocation.id == Adjustment.allocation_id)
        .where(Allocation.parent_id == row.id)
        .scalar_subquery()
    )
    disb = select(_sum(func.sum(Disbursement.amount))).where(Disbursement.allocation_id == row.id).scalar_subquery()
    a, ca, cj, d = session.execute(select(adj, child_amount, child_adj, disb)).one()
    return AllocationFacts(
        id=row.id,
        plan_id=row.plan_id,
        item_code=row.item_code,
        source=row.source,
        fiscal_year=row.fiscal_year,
        recipient_unit=row.recipient_unit,
        kind=row.kind,
        parent_id=row.parent_id,
        amount=int(row.amount),
        adjustments=int(a),
        children=int(ca) + int(cj),
        disbursed=int(d),
    )


def get_allocation_row(session: Session, allocation_id: int, lock: bool = False) -> Allocation:
    row = _lock(session, allocation_id) if lock else session.get(Allocation, allocation_id)
    if row is None:
        raise NotFound([error("unknown_allocation", f"Không có phân bổ số {allocation_id}.", "id")])
    return row


def allocation_view(session: Session, row: Allocation, facts: AllocationFacts | None = None) -> dict[str, Any]:
    f = facts or allocation_facts(session, row)
    return {
        "id": row.id,
        "plan_id": row.plan_id,
        "item_code": row.item_code,
        "source": row.source,
        "fiscal_year": row.fiscal_year,
        "fund_year": row.fund_year,
        "recipient_unit": row.recipient_unit,
        "kind": row.kind,
        "amount": int(row.amount),
        "decision_no": row.decision_no,
        "decision_date": row.decision_date.isoformat(),
        "parent_allocation_id": row.parent_id,
        "note": row.note,
        "adjusted": f.adjustments,
        "allocated": f.allocated,
        "sub_allocated": f.children,
        "disbursed": f.disbursed,
        "remaining": f.remaining,
    }


# --------------------------------------------------------------------------- allocations


def _default_plan_for(session: Session, parent: Allocation, recipient: str) -> int:
    """A sub-allocation is booked to the most local plan whose territory holds the recipient (a province
    allocation passed to district 910 lands on the district plan 34/KH-UBND), else the parent's plan."""
    candidates = [parent.plan_id, *plans_below(session, parent.plan_id)]
    best, best_depth = parent.plan_id, -1
    for pid in candidates:
        plan = session.get(Plan, pid)
        if plan is not None and units.is_known_unit(plan.unit) and units.within(plan.unit, recipient):
            depth = len(plan.unit)
            if depth > best_depth:
                best, best_depth = pid, depth
    return best


def make_allocation(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Phân bổ (or, with `parent_allocation_id`, phân bổ tiếp xuống cấp dưới)."""
    cmd = AllocationCommandV1().load(data)
    serialize_writes(session)
    parent: Allocation | None = None
    if cmd["parent_allocation_id"] is not None:
        parent = _lock(session, cmd["parent_allocation_id"])
        if parent is None:
            raise DomainError.one(
                "unknown_allocation",
                f"Không có phân bổ cấp trên số {cmd['parent_allocation_id']}.",
                "parent_allocation_id",
            )
        recipient_ok = units.is_known_unit(cmd["recipient_unit"])
        if cmd["plan_id"] is None:
            cmd["plan_id"] = (
                _default_plan_for(session, parent, cmd["recipient_unit"]) if recipient_ok else parent.plan_id
            )
        for key, value in (
            ("item_code", parent.item_code),
            ("source", parent.source),
            ("fiscal_year", parent.fiscal_year),
            ("kind", parent.kind),
            ("fund_year", parent.fund_year),
        ):
            if cmd[key] is None:
                cmd[key] = value
    kind = cmd["kind"] or "budget"

    plan = plan_facts(session, cmd["plan_id"])
    errs: list[dict] = []
    if not item_exists(session, plan.id, cmd["item_code"]):
        errs.append(error("unknown_item", f"Kế hoạch {plan.number} không có mục {cmd['item_code']}.", "item_code"))
    errs += domain.check_source(cmd["source"], cmd["fiscal_year"], kind, cmd["fund_year"])
    errs += domain.check_unit(cmd["recipient_unit"], cmd["decision_date"])
    errs += domain.check_positive(cmd["amount"])
    errs += domain.check_decision(cmd["decision_no"], cmd["decision_date"], today())
    errs += domain.check_plan_year(plan, cmd["fiscal_year"])
    errs += domain.check_recipient_in_plan(plan, cmd["recipient_unit"])
    domain.raise_if(errs)

    if parent is not None:
        if cmd["fund_year"] != parent.fund_year:
            raise DomainError.one(
                "sub_allocation_mismatch",
                f"Phân bổ cấp dưới phải giữ năm quỹ của phân bổ cấp trên số {parent.id} ({parent.fund_year}).",
                "fund_year",
            )
        domain.check_sub_allocation(
            allocation_facts(session, parent),
            set(plans_below(session, parent.plan_id)),
            plan.id,
            cmd["item_code"],
            cmd["source"],
            cmd["fiscal_year"],
            kind,
            cmd["recipient_unit"],
            cmd["amount"],
        )

    row = Allocation(
        plan_id=plan.id,
        item_code=cmd["item_code"],
        source=cmd["source"],
        fiscal_year=cmd["fiscal_year"],
        fund_year=cmd["fund_year"],
        recipient_unit=cmd["recipient_unit"],
        kind=kind,
        amount=cmd["amount"],
        decision_no=cmd["decision_no"].strip(),
        decision_date=cmd["decision_date"],
        parent_id=parent.id if parent is not None else None,
        note=cmd["note"],
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "sub_allocation_made" if parent is not None else "allocation_made",
        {
            "allocation_id": row.id,
            "parent_allocation_id": row.parent_id,
            "plan_id": row.plan_id,
            "item_code": row.item_code,
            "source": row.source,
            "fiscal_year": row.fiscal_year,
            "recipient_unit": row.recipient_unit,
            "kind": row.kind,
            "amount": row.amount,
            "fund_year": row.fund_year,
            "decision_no": row.decision_no,
            "decision_date": row.decision_date,
        },
        correlation_id,
    )
    return allocation_view(session, row)


def disburse(
    session: Session, allocation_id: int, data: dict[str, Any], correlation_id: str | None = None
) -> dict[str, Any]:
    """Giải ngân: never beyond what the allocation has left (exceeds_allocation)."""
    cmd = DisbursementCommandV1().load(data)
    serialize_writes(session)
    row = get_allocation_row(session, allocation_id, lock=True)
    # Money is paid to a unit that exists on the day it is paid; after a merger, allocate to the successor.
    domain.raise_if(domain.check_unit(row.recipient_unit, cmd["date"], "date"))
    facts = allocation_facts(session, row)
    domain.check_disbursement(facts, cmd["amount"])
    d = Disbursement(
        allocation_id=row.id,
        amount=cmd["amount"],
        date=cmd["date"],
        reference=cmd["reference"],
        created_at=outbox.utcnow(),
    )
    session.add(d)
    session.flush()
    _disbursed_event(session, d, correlation_id)
    return disbursement_view(d) | {"allocation": allocation_view(session, row)}


def reverse_disbursement(
    session: Session, disbursement_id: int, data: dict[str, Any], correlation_id: str | None = None
) -> dict[str, Any]:
    """Hủy giải ngân: a negative row naming the original; never more than the original left unreversed."""
    cmd = ReversalCommandV1().load(data)
    serialize_writes(session)
    original = session.get(Disbursement, disbursement_id)
    if original is None:
        raise NotFound([error("unknown_disbursement", f"Không có lần giải ngân số {disbursement_id}.", "id")])
    row = get_allocation_row(session, original.allocation_id, lock=True)
    already = -int(
        session.scalar(select(_sum(func.sum(Disbursement.amount))).where(Disbursement.reverses_id == original.id))
    )
    amount = cmd["amount"] if cmd["amount"] is not None else int(original.amount) - already
    domain.check_reversal(int(original.amount), already, amount, original.id)
    d = Disbursement(
        allocation_id=row.id,
        amount=-amount,
        date=cmd["date"],
        reference=cmd["reference"],
        reverses_id=original.id,
        created_at=outbox.utcnow(),
    )
    session.add(d)
    session.flush()
    _disbursed_event(session, d, correlation_id)
    return disbursement_view(d) | {"allocation": allocation_view(session, row)}


def _disbursed_event(session: Session, d: Disbursement, correlation_id: str | None) -> None:
    outbox.record_event(
        session,
        Outbox,
        "disbursed",
        {
            "disbursement_id": d.id,
            "allocation_id": d.allocation_id,
            "amount": d.amount,
            "date": d.date,
            "reverses_id": d.reverses_id,
            "reference": d.reference,
        },
        correlation_id,
    )


def disbursement_view(d: Disbursement) -> dict[str, Any]:
    return {
        "id": d.id,
        "allocation_id": d.allocation_id,
        "amount": int(d.amount),
        "date": d.date.isoformat(),
        "reference": d.reference,
        "reverses_id": d.reverses_id,
    }


def adjust(
    session: Session, allocation_id: int, data: dict[str, Any], correlation_id: str | None = None
) -> dict[str, Any]:
    """Điều chỉnh (signed): up takes from the parent's remaining money; down never below what is used."""
    cmd = AdjustmentCommandV1().load(data)
    serialize_writes(session)
    row = get_allocation_row(session, allocation_id)
    parent_facts = None
    if row.parent_id is not None:
        parent_facts = allocation_facts(session, get_allocation_row(session, row.parent_id, lock=True))
    row = get_allocation_row(session, allocation_id, lock=True)
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], today()))
    facts = allocation_facts(session, row)
    domain.check_adjustment(facts, parent_facts, cmd["amount"])
    adj = Adjustment(
        allocation_id=row.id,
        amount=cmd["amount"],
        decision_no=cmd["decision_no"].strip(),
        decision_date=cmd["decision_date"],
        note=cmd["note"],
        created_at=outbox.utcnow(),
    )
    session.add(adj)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "adjusted",
        {
            "adjustment_id": adj.id,
            "allocation_id": row.id,
            "amount": adj.amount,
            "decision_no": adj.decision_no,
            "decision_date": adj.decision_date,
        },
        correlation_id,
    )
    return adjustment_view(adj) | {"allocation": allocation_view(session, row)}


def adjustment_view(a: Adjustment) -> dict[str, Any]:
    return {
        "id": a.id,
        "allocation_id": a.allocation_id,
        "amount": int(a.amount),
        "decision_no": a.decision_no,
        "decision_date": a.decision_date.isoformat(),
        "note": a.note,
    }


# --------------------------------------------------------------------------- capitation (định suất)


def latest_fund(session: Session, facility: str, period: str) -> CapitationFundRecord | None:
    return session.scalar(
        select(CapitationFundRecord)
        .where(CapitationFundRecord.facility_code == facility, CapitationFundRecord.period == period)
        .order_by(CapitationFundRecord.id.desc())
        .limit(1)
    )


def latest_spend(session: Session, facility: str, period: str) -> CapitationSpendReport | None:
    """The level in force: the latest report by the time claims computed it (a late replay never wins)."""
    return session.scalar(
        select(CapitationSpendReport)
        .where(CapitationSpendReport.facility_code == facility, CapitationSpendReport.period == period)
        .order_by(CapitationSpendReport.occurred_at.desc(), CapitationSpendReport.id.desc())
        .limit(1)
    )


def advanced_total(session: Session, facility: str, period: str) -> int:
    return int(
        session.scalar(
            select(_sum(func.sum(CapitationAdvance.amount))).where(
                CapitationAdvance.facility_code == facility, CapitationAdvance.period == period
            )
        )
    )


def fund_view(f: CapitationFundRecord) -> dict[str, Any]:
    return {
        "id": f.id,
        "facility_code": f.facility_code,
        "period": f.period,
        "cards": int(f.cards),
        "coefficient": f.coefficient,
        "fund": int(f.fund),
        "inputs": f.inputs,
        "supersedes_id": f.supersedes_id,
        "created_at": f.created_at.isoformat(),
    }


def set_capitation_fund(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Quỹ định suất of a facility-quarter; a later fund for the same quarter supersedes the earlier one."""
    cmd = CapitationFundCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    result = domain.capitation_fund(quarter, cmd["cards"], cmd["rate_per_card"], cmd["coefficient"], cmd["groups"])
    serialize_writes(session)
    previous = latest_fund(session, facility, str(quarter))
    inputs = result.inputs() | ({"note": cmd["note"]} if cmd["note"] else {})
    row = CapitationFundRecord(
        facility_code=facility,
        period=str(quarter),
        cards=result.cards,
        coefficient=str(result.coefficient),
        fund=result.fund,
        inputs=inputs,
        supersedes_id=previous.id if previous else None,
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "capitation_fund_set",
        {
            "fund_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "cards": row.cards,
            "coefficient": row.coefficient,
            "supersedes_id": row.supersedes_id,
        },
        correlation_id,
    )
    return fund_view(row)


def advance_suggestion(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """The usual advance: 80% (reference data) of the previous quarter's capitation spend reported by claims."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = domain.parse_quarter(period)
    previous = quarter.previous()
    report = latest_spend(session, facility, str(previous))
    cap = domain.reference().capitation
    suggested = domain.advance_suggestion(report.spend if report else None)
    return {
        "facility_code": facility,
        "period": str(quarter),
        "previous_period": str(previous),
        "previous_spend": domain_money(report.spend) if report else None,
        "share": str(cap.advance_share),
        "suggested": suggested,
        "advanced": advanced_total(session, facility, str(quarter)),
        "legal_basis": cap.advance_legal_basis,
        "message": None
        if report
        else f"Chưa có số chi định suất quý {previous} của cơ sở {facility} từ dịch vụ hồ sơ BHYT.",
    }


def domain_money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def pay_advance(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Tạm ứng: any positive amount (the 80% suggestion is kept beside it for audit)."""
    cmd = AdvanceCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    domain.raise_if(domain.check_positive(cmd["amount"]))
    serialize_writes(session)
    report = latest_spend(session, facility, str(quarter.previous()))
    row = CapitationAdvance(
        facility_code=facility,
        period=str(quarter),
        amount=cmd["amount"],
        date=cmd["date"],
        reference=cmd["reference"],
        suggested=domain.advance_suggestion(report.spend if report else None),
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "advance_paid",
        {
            "advance_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "amount": row.amount,
            "date": row.date,
        },
        correlation_id,
    )
    return advance_view(row) | {"advanced": advanced_total(session, facility, row.period)}


def advance_view(a: CapitationAdvance) -> dict[str, Any]:
    return {
        "id": a.id,
        "facility_code": a.facility_code,
        "period": a.period,
        "amount": int(a.amount),
        "date": a.date.isoformat(),
        "reference": a.reference,
        "suggested": int(a.suggested) if a.suggested is not None else None,
    }


def settle_capitation(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Quyết toán quý: the latest fund against the latest spend claims reported; a later settlement of the
    same quarter supersedes the earlier (e.g. after late claims)."""
    cmd = SettlementCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    serialize_writes(session)
    fund = latest_fund(session, facility, str(quarter))
    if fund is None:
        raise DomainError.one(
            "no_capitation_fund",
            f"Chưa có quỹ định suất quý {quarter} của cơ sở {facility}: không thể quyết toán.",
            "period",
        )
    report = latest_spend(session, facility, str(quarter))
    spend = Decimal(report.spend) if report else Decimal("0.00")
    result = domain.settle(
        int(fund.fund), spend, advanced_total(session, facility, str(quarter)), cmd["station_share_rate"]
    )
    previous = session.scalar(
        select(CapitationSettlement)
        .where(CapitationSettlement.facility_code == facility, CapitationSettlement.period == str(quarter))
        .order_by(CapitationSettlement.id.desc())
        .limit(1)
    )
    row = CapitationSettlement(
        facility_code=facility,
        period=str(quarter),
        fund_id=fund.id,
        spend_report_id=report.id if report else None,
        fund=result.fund,
        spend=result.spend,
        spend_vnd=result.spend_vnd,
        advanced=result.advanced,
        balance=result.balance,
        station_share_rate=str(result.station_share_rate),
        station_share=result.station_share,
        supersedes_id=previous.id if previous else None,
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "settlement_made",
        {
            "settlement_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "spend": row.spend_vnd,
            "balance": row.balance,
            "spend_exact": result.spend,
            "advanced": row.advanced,
            "station_share": row.station_share,
            "supersedes_id": row.supersedes_id,
        },
        correlation_id,
    )
    return settlement_view(row) | {"spend_reported": report is not None}


def settlement_view(s: CapitationSettlement) -> dict[str, Any]:
    balance = int(s.balance)
    return {
        "id": s.id,
        "facility_code": s.facility_code,
        "period": s.period,
        "fund_id": s.fund_id,
        "fund": int(s.fund),
        "spend": domain_money(s.spend),
        "spend_vnd": int(s.spend_vnd),
        "balance": balance,
        "surplus": max(balance, 0),
        "deficit": max(-balance, 0),
        "station_share_rate": s.station_share_rate,
        "station_share": int(s.station_share),
        "advanced": int(s.advanced),
        "to_pay": int(s.fund) - int(s.advanced),
        "supersedes_id": s.supersedes_id,
        "created_at": s.created_at.isoformat(),
    }


def record_capitation_spend(session: Session, envelope: dict[str, Any]) -> bool:
    """Consume claims' `capitation_spend_changed` (a level per facility-quarter). Idempotent by event id;
    returns False for a redelivery. Every report is kept; the latest by `occurred_at` is in force."""
    serialize_writes(session)  # before the inbox savepoint: on SQLite it must sit inside our transaction
    if not outbox.claim_once(session, Inbox, envelope["event_id"], envelope["event_type"]):
        return False
    data = CapitationSpendChangedV1().load(envelope["data"])
    occurred = datetime.fromisoformat(envelope["occurred_at"])
    # One clock for ordering (SQLite keeps no offset): UTC.
    occurred = occurred.replace(tzinfo=UTC) if occurred.tzinfo is None else occurred.astimezone(UTC)
    session.add(
        CapitationSpendReport(
            event_id=envelope["event_id"],
            facility_code=domain.parse_facility(data["facility_code"]),
            period=str(domain.parse_quarter(data["period"])),
            spend=data["spend"],
            claims=data["claims"],
            occurred_at=occurred,
            received_at=outbox.utcnow(),
        )
    )
    return True
