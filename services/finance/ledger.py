"""Finance commands: one function per command, each one unit of work (its rows and its outbox events
commit together in the caller's transaction). Rules live in domain.py; this module reads the facts they
need, under a lock, and writes what they allow. Money rows are only ever inserted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any, TypeVar

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
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
    ReversalCommandV1,
    SettlementCommandV1,
)
from services.common.errors import DomainError, NotFound, error
from services.common.money import round_vnd
from services.finance import domain
from services.finance.domain import AllocationFacts, PlanFacts
from services.finance.models import (
    Adjustment,
    Allocation,
    CapitationAdvance,
    CapitationFundRecord,
    CapitationPayment,
    CapitationReport,
    CapitationResult,
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
        "use": row.surplus_use,
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
            ("use", parent.surplus_use),
        ):
            if cmd[key] is None:
                cmd[key] = value
    kind = cmd["kind"] or "budget"

    plan = plan_facts(session, cmd["plan_id"])
    errs: list[dict] = []
    if not item_exists(session, plan.id, cmd["item_code"]):
        errs.append(error("unknown_item", f"Kế hoạch {plan.number} không có mục {cmd['item_code']}.", "item_code"))
    errs += domain.check_source(cmd["source"], cmd["fiscal_year"], kind, cmd["fund_year"], cmd["use"])
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
        if cmd["use"] != parent.surplus_use:
            raise DomainError.one(
                "sub_allocation_mismatch",
                f"Phân bổ cấp dưới phải giữ nội dung sử dụng của phân bổ cấp trên số {parent.id}.",
                "use",
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
        surplus_use=cmd["use"],
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
            "use": row.surplus_use,
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


_Row = TypeVar("_Row", CapitationFundRecord, CapitationReport, CapitationResult)


def _latest(session: Session, model: type[_Row], facility: str, period: str) -> _Row | None:
    """The newest row (highest id) of an append-only facility-and-period table: the one in force."""
    return session.scalar(
        select(model).where(model.facility_code == facility, model.period == period).order_by(model.id.desc()).limit(1)
    )


def latest_fund(session: Session, facility: str, period: str) -> CapitationFundRecord | None:
    return _latest(session, CapitationFundRecord, facility, period)


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
    year, quarter = domain.parse_fund_period(cmd["period"])
    period = str(quarter) if quarter else str(year)
    result = domain.capitation_fund(
        quarter or year, cmd["cards"], cmd["rate_per_card"], cmd["coefficient"], cmd["groups"]
    )
    if cmd["decision_no"] is not None or cmd["decision_date"] is not None:
        domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], today()))
    serialize_writes(session)
    previous = latest_fund(session, facility, period)
    inputs = result.inputs() | ({"note": cmd["note"]} if cmd["note"] else {})
    if cmd["decision_no"]:  # the document that set the inputs (BHXH's notice of the fund)
        inputs["decision"] = {"number": cmd["decision_no"].strip(), "date": cmd["decision_date"].isoformat()}
    inputs["provisional"] = quarter is not None  # the legal fund is annual; a quarter's is a share of it
    row = CapitationFundRecord(
        facility_code=facility,
        period=period,
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


def latest_report(session: Session, facility: str, period: str) -> CapitationReport | None:
    return _latest(session, CapitationReport, facility, period)


def _first_contract_fund(session: Session, facility: str, quarter: Any) -> tuple[int | None, str | None]:
    """A facility contracting for the first time (no quarterly report yet): 80% of its notified fund
    (Luật BHYT Điều 32 k1b) — the quarter's fund, else a quarter of the year's."""
    earlier = session.scalar(select(func.count(CapitationReport.id)).where(CapitationReport.facility_code == facility))
    if earlier:
        return None, None
    fund = latest_fund(session, facility, str(quarter))
    if fund is not None:
        return domain.advance_of(Decimal(fund.fund)), f"80% quỹ định suất được thông báo quý {quarter}"
    annual = latest_fund(session, facility, str(quarter.year))
    if annual is not None:
        return (
            domain.advance_of(Decimal(annual.fund) / 4),
            f"80% của một phần tư quỹ định suất được thông báo năm {quarter.year}",
        )
    return None, None


def advance_suggestion(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """The advance of a quarter: 80% of the facility's report of the previous quarter (all payment methods),
    due 5 working days after BHXH received it; a first contract: 80% of the notified fund."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = domain.parse_quarter(period)
    previous = quarter.previous()
    report = latest_report(session, facility, str(previous))
    cap = domain.reference().capitation
    answer: dict[str, Any] = {
        "facility_code": facility,
        "period": str(quarter),
        "previous_period": str(previous),
        "share": str(cap.advance_share),
        "advanced": advanced_total(session, facility, str(quarter)),
        "legal_basis": cap.advance_legal_basis,
        "report": report_view(report) if report else None,
        "previous_total": domain_money(report.total) if report else None,
        "suggested": int(report.advance) if report else None,
        "due": report.advance_due.isoformat() if report else None,
        "basis": f"80% chi phí KCB BHYT (mọi phương thức) trong báo cáo quyết toán quý {previous}" if report else None,
        "message": None,
    }
    if report is None:
        first, basis = _first_contract_fund(session, facility, quarter)
        answer |= {"suggested": first, "basis": basis}
        if first is None:
            answer["message"] = f"Chưa nhận báo cáo quyết toán quý {previous} của cơ sở {facility}."
    return answer


def domain_money(value: Decimal) -> str:
    return str(Decimal(value).quantize(Decimal("0.01")))


def pay_advance(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Tạm ứng: any positive amount (the 80% suggestion is kept beside it for audit)."""
    cmd = AdvanceCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    domain.raise_if(domain.check_positive(cmd["amount"]))
    serialize_writes(session)
    suggestion = advance_suggestion(session, facility, str(quarter))
    row = CapitationAdvance(
        facility_code=facility,
        period=str(quarter),
        amount=cmd["amount"],
        date=cmd["date"],
        reference=cmd["reference"],
        suggested=suggestion["suggested"],
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


def _year_figures(
    session: Session, facility: str, year: int
) -> tuple[CapitationFundRecord | None, int, Decimal, int | None]:
    """(annual fund record, fund, spend of the year, last spend report id). Without an annual fund, the latest
    fund of each quarter adds up; spend is Σ of each quarter's level in force."""
    annual = latest_fund(session, facility, str(year))
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    record = annual
    fund = int(annual.fund) if annual else 0
    if annual is None:
        for p in quarters:
            f = latest_fund(session, facility, p)
            if f is not None:
                fund += int(f.fund)
                record = f
    spend = Decimal("0.00")
    last: int | None = None
    for p in quarters:
        r = latest_spend(session, facility, p)
        if r is not None:
            spend += Decimal(r.spend)
            last = r.id
    return record, fund, spend, last


def settle_capitation(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Quyết toán định suất: the year (`YYYY`) is the final settlement — surplus to the facility, which passes
    the share its decision sets to the stations; a deficit borne by the facility. A quarter (`YYYY-Qn`) is a
    provisional view. A later settlement of the same period supersedes the earlier (e.g. after late claims)."""
    cmd = SettlementCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    year, quarter = domain.parse_fund_period(cmd["period"])
    period = str(quarter) if quarter else str(year)
    serialize_writes(session)
    if quarter is not None:
        fund = latest_fund(session, facility, period)
        report = latest_spend(session, facility, period)
        fund_amount = int(fund.fund) if fund else 0
        spend = Decimal(report.spend) if report else Decimal("0.00")
        report_id = report.id if report else None
        advanced = advanced_total(session, facility, period)
    else:
        fund, fund_amount, spend, report_id = _year_figures(session, facility, year)
        advanced = sum(advanced_total(session, facility, f"{year}-Q{q}") for q in range(1, 5))
    if fund is None:
        raise DomainError.one(
            "no_capitation_fund",
            f"Chưa có quỹ định suất {period} của cơ sở {facility}: không thể quyết toán.",
            "period",
        )
    if cmd["station_share_decision_no"] or cmd["station_share_decision_date"]:
        domain.raise_if(
            domain.check_decision(
                cmd["station_share_decision_no"], cmd["station_share_decision_date"], today(), "station_share_decision"
            )
        )
    result = domain.settle(
        fund_amount,
        spend,
        advanced,
        cmd["station_share_rate"],
        provisional=quarter is not None,
        decision_no=cmd["station_share_decision_no"],
        decision_date=cmd["station_share_decision_date"],
    )
    previous = session.scalar(
        select(CapitationSettlement)
        .where(CapitationSettlement.facility_code == facility, CapitationSettlement.period == period)
        .order_by(CapitationSettlement.id.desc())
        .limit(1)
    )
    final_share = quarter is None and result.surplus > 0
    row = CapitationSettlement(
        facility_code=facility,
        period=period,
        fund_id=fund.id,
        spend_report_id=report_id,
        fund=result.fund,
        spend=result.spend,
        spend_vnd=result.spend_vnd,
        advanced=result.advanced,
        balance=result.balance,
        station_share_rate=str(result.station_share_rate),
        station_share=result.station_share,
        provisional=quarter is not None,
        station_share_decision_no=cmd["station_share_decision_no"].strip() if final_share else None,
        station_share_decision_date=cmd["station_share_decision_date"] if final_share else None,
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
    return settlement_view(row) | {"spend_reported": report_id is not None}


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
        # A quarter is provisional and passes nothing; the year's share comes with its decision.
        "provisional": bool(s.provisional),
        "station_share_rate": None if s.provisional else s.station_share_rate,
        "station_share": None if s.provisional else int(s.station_share),
        "station_share_decision": {
            "number": s.station_share_decision_no,
            "date": s.station_share_decision_date.isoformat() if s.station_share_decision_date else None,
        }
        if s.station_share_decision_no
        else None,
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


# --------------------------------------------------------------------------- quarterly report, result, payment


def _claims_figures(figures: dict[str, Any]) -> dict[str, Any]:
    """The facility-quarter as the claims service answered it (its `reconciliation`), read exactly."""
    c = figures["claims"]
    by = c["by_payment_method"]
    return {
        "count": int(c["count"]),
        "assessed": int(c["assessed"]),
        "total": Decimal(c["requested"]),
        "approved": Decimal(c["approved"]),
        "pending": Decimal(c["pending"]),
        "fee_for_service": Decimal(by["fee_for_service"]),
        "capitation": Decimal(by["capitation"]),
        "drg": Decimal(by["drg"]),
    }


def report_view(r: CapitationReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "facility_code": r.facility_code,
        "period": r.period,
        "received_date": r.received_date.isoformat(),
        "claims": r.claims,
        "total": domain_money(r.total),
        "by_method": {
            "fee_for_service": domain_money(r.fee_for_service),
            "capitation": domain_money(r.capitation),
            "drg": domain_money(r.drg),
        },
        "advance": {
            "period": r.advance_period,
            "amount": int(r.advance),
            "due": r.advance_due.isoformat(),
            "share": str(domain.reference().capitation.advance_share),
        },
        "result_due": r.result_due.isoformat(),
        "supersedes_id": r.supersedes_id,
        "created_at": r.created_at.isoformat(),
    }


def record_report(
    session: Session,
    data: dict[str, Any],
    figures: dict[str, Any],
    actor: str | None = None,
    correlation_id: str | None = None,
) -> dict[str, Any]:
    """BHXH received a facility's quarterly settlement report: its figures are the claims accepted for the
    quarter that day (`figures`, claims' reconciliation), kept as they were; it gives the next quarter's
    advance and the dates of what follows. A later report of the same quarter supersedes the earlier."""
    cmd = QuarterlyReportCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    f = _claims_figures(figures)
    terms = domain.report_terms(quarter, cmd["received_date"], f["total"], today())
    serialize_writes(session)
    previous = latest_report(session, facility, str(quarter))
    row = CapitationReport(
        facility_code=facility,
        period=str(quarter),
        received_date=cmd["received_date"],
        claims=f["count"],
        total=f["total"],
        fee_for_service=f["fee_for_service"],
        capitation=f["capitation"],
        drg=f["drg"],
        advance=terms.advance,
        advance_period=str(terms.advance_period),
        advance_due=terms.advance_due,
        result_due=terms.result_due,
        recorded_by=actor,
        supersedes_id=previous.id if previous else None,
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "quarterly_report_received",
        {
            "report_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "received_date": row.received_date,
            "total": Decimal(row.total),
            "advance": row.advance,
            "advance_due": row.advance_due,
        },
        correlation_id,
    )
    return report_view(row)


def latest_result(session: Session, facility: str, period: str) -> CapitationResult | None:
    return _latest(session, CapitationResult, facility, period)


def result_view(r: CapitationResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "facility_code": r.facility_code,
        "period": r.period,
        "report_id": r.report_id,
        "result_date": r.result_date.isoformat(),
        "assessed": r.assessed,
        "pending": domain_money(r.pending),
        "approved": domain_money(r.approved),
        "approved_vnd": int(r.approved_vnd),
        "advanced": int(r.advanced),
        "to_pay": int(r.to_pay),
        "excess_advance": max(-int(r.to_pay), 0),
        "payment_due": r.payment_due.isoformat(),
        "reference": r.reference,
        "supersedes_id": r.supersedes_id,
        "created_at": r.created_at.isoformat(),
    }


def record_result(
    session: Session, data: dict[str, Any], figures: dict[str, Any], correlation_id: str | None = None
) -> dict[str, Any]:
    """BHXH's assessed result of the quarter: the approved amounts of the assessments as claims holds them,
    against the quarter's advances; `approved − advanced` is due 10 days later (negative: an excess advance)."""
    cmd = QuarterlyResultCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    f = _claims_figures(figures)
    serialize_writes(session)
    report = latest_report(session, facility, str(quarter))
    if report is None:
        raise DomainError.one(
            "no_quarterly_report",
            f"Chưa nhận báo cáo quyết toán quý {quarter} của cơ sở {facility}: chưa thể thông báo kết quả.",
            "period",
        )
    if cmd["result_date"] < report.received_date or cmd["result_date"] > today():
        raise DomainError.one(
            "invalid_date",
            f"Ngày thông báo kết quả phải từ ngày nhận báo cáo ({report.received_date:%d/%m/%Y}) đến hôm nay.",
            "result_date",
        )
    approved_vnd = round_vnd(f["approved"])
    advanced = advanced_total(session, facility, str(quarter))
    previous = latest_result(session, facility, str(quarter))
    row = CapitationResult(
        facility_code=facility,
        period=str(quarter),
        report_id=report.id,
        result_date=cmd["result_date"],
        assessed=f["assessed"],
        pending=f["pending"],
        approved=f["approved"],
        approved_vnd=approved_vnd,
        advanced=advanced,
        to_pay=approved_vnd - advanced,
        payment_due=domain.payment_due(cmd["result_date"]),
        reference=cmd["reference"],
        supersedes_id=previous.id if previous else None,
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "quarterly_result_notified",
        {
            "result_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "result_date": row.result_date,
            "approved": Decimal(row.approved),
            "advanced": row.advanced,
            "to_pay": row.to_pay,
        },
        correlation_id,
    )
    return result_view(row)


def payments_of(session: Session, facility: str, period: str, result_id: int | None = None) -> list[CapitationPayment]:
    stmt = select(CapitationPayment).where(
        CapitationPayment.facility_code == facility, CapitationPayment.period == period
    )
    if result_id is not None:
        stmt = stmt.where(CapitationPayment.result_id == result_id)
    return list(session.scalars(stmt.order_by(CapitationPayment.id)))


def payment_view(p: CapitationPayment) -> dict[str, Any]:
    return {
        "id": p.id,
        "facility_code": p.facility_code,
        "period": p.period,
        "result_id": p.result_id,
        "kind": p.kind,
        "amount": int(p.amount),
        "date": p.date.isoformat(),
        "offset_period": p.offset_period,
        "reference": p.reference,
    }


def record_payment(session: Session, data: dict[str, Any], correlation_id: str | None = None) -> dict[str, Any]:
    """Settle a quarter's result: BHXH pays `approved − advanced`; an excess advance is refunded or offset."""
    cmd = QuarterlyPaymentCommandV1().load(data)
    facility = domain.parse_facility(cmd["facility_code"])
    quarter = domain.parse_quarter(cmd["period"])
    offset = domain.parse_quarter(cmd["offset_period"], "offset_period") if cmd["offset_period"] else None
    serialize_writes(session)
    result = latest_result(session, facility, str(quarter))
    if result is None:
        raise DomainError.one(
            "no_quarterly_result", f"Chưa có kết quả giám định quý {quarter} của cơ sở {facility}.", "period"
        )
    if cmd["date"] < result.result_date or cmd["date"] > today():
        raise DomainError.one("invalid_date", "Ngày thanh toán phải từ ngày thông báo kết quả đến hôm nay.", "date")
    # PostgreSQL: concurrent payments of one result queue on its row, so Σ recorded never passes what is owed.
    session.execute(select(CapitationResult.id).where(CapitationResult.id == result.id).with_for_update())
    settled = sum(int(p.amount) for p in payments_of(session, facility, str(quarter), result.id))
    domain.check_payment(quarter, int(result.to_pay), settled, cmd["kind"], cmd["amount"], offset)
    row = CapitationPayment(
        facility_code=facility,
        period=str(quarter),
        result_id=result.id,
        kind=cmd["kind"],
        amount=cmd["amount"],
        date=cmd["date"],
        offset_period=str(offset) if offset else None,
        reference=cmd["reference"],
        created_at=outbox.utcnow(),
    )
    session.add(row)
    session.flush()
    outbox.record_event(
        session,
        Outbox,
        "quarterly_payment_made",
        {
            "payment_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "kind": row.kind,
            "amount": row.amount,
            "date": row.date,
            "offset_period": row.offset_period,
        },
        correlation_id,
    )
    return payment_view(row) | {"left": abs(int(result.to_pay)) - settled - row.amount}


def quarter_schedule(session: Session, facility: str, period: str, on: date | None = None) -> dict[str, Any]:
    """Every dated step of a facility's quarter: its report, the advance it gives, BHXH's result, the payment;
    each with its due date, the date it happened, and whether it is late or overdue `on` (Vietnam today)."""
    quarter = domain.parse_quarter(period)
    now = on or today()
    report = latest_report(session, facility, str(quarter))
    result = latest_result(session, facility, str(quarter))
    steps: dict[str, Any] = {
        "report": domain.step(domain.report_due(quarter), report.received_date if report else None, now)
    }
    if report is not None:
        first_advance = session.scalar(
            select(func.min(CapitationAdvance.date)).where(
                CapitationAdvance.facility_code == facility, CapitationAdvance.period == report.advance_period
            )
        )
        steps["advance"] = domain.step(report.advance_due, first_advance, now) | {
            "period": report.advance_period,
            "amount": int(report.advance),
            "paid": advanced_total(session, facility, report.advance_period),
        }
        steps["result"] = domain.step(report.result_due, result.result_date if result else None, now)
    if result is not None:
        paid = payments_of(session, facility, str(quarter), result.id)
        done = sum(int(p.amount) for p in paid)
        owed = abs(int(result.to_pay))
        finished = max((p.date for p in paid), default=None) if done >= owed else None
        steps["payment"] = domain.step(result.payment_due, finished if owed else result.result_date, now) | {
            "to_pay": int(result.to_pay),
            "settled": done,
            "records": [payment_view(p) for p in paid],
        }
    overdue = [name for name, s in steps.items() if s["overdue"]]
    return {
        "facility_code": facility,
        "period": str(quarter),
        "report": report_view(report) if report else None,
        "result": result_view(result) if result else None,
        "steps": steps,
        "overdue": overdue,
    }


def facilities_with_reports(session: Session, period: str) -> list[str]:
    return list(
        session.scalars(select(CapitationReport.facility_code).where(CapitationReport.period == period).distinct())
    )
