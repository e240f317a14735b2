"""Finance's rows as both sides read them: what is left of an allocation, the record in force of a
facility-period, and every row as the contract answers it.

The repository (write side) and the views (read side) both need these and may not import each other, so
they live here once. Money rows are append-only: the newest row of a facility and period is the one in force.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import cache
from typing import Any, TypeVar

from sqlalchemy import extract, func, select
from sqlalchemy.orm import Session, aliased

from services.common.periods import Quarter
from services.finance.domain import CARRY_OVER, CLOSE, AllocationFacts, advance_of
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
    Plan,
    YearEndRecord,
)
from services.finance.reference import reference

# --------------------------------------------------------------------------- an allocation's money


@cache
def money_columns() -> tuple[Any, ...]:
    """Σ adjustments, Σ what its direct sub-allocations were given (their adjustments included) and Σ
    disbursements (reversals netted) of each `Allocation` row selected beside them: the one query of an
    allocation's money, for one row under lock or a page of a listing. Built once (immutable SQL constructs):
    building them was a seventh of finance's CPU under a steady stream of writes (py-spy, docs/benchmarks.md)."""
    adj = select(func.coalesce(func.sum(Adjustment.amount), 0)).where(Adjustment.allocation_id == Allocation.id)
    child = aliased(Allocation)
    child_amount = select(func.coalesce(func.sum(child.amount), 0)).where(child.parent_id == Allocation.id)
    child_adj = (
        select(func.coalesce(func.sum(Adjustment.amount), 0))
        .join(child, child.id == Adjustment.allocation_id)
        .where(child.parent_id == Allocation.id)
    )
    disb = select(func.coalesce(func.sum(Disbursement.amount), 0)).where(Disbursement.allocation_id == Allocation.id)
    # Paid on a date after the fiscal year (a reversal counts on its original's date, so it gives back the
    # money of the year the original took it from).
    original = aliased(Disbursement)
    paid_on = func.coalesce(original.date, Disbursement.date)
    after = (
        select(func.coalesce(func.sum(Disbursement.amount), 0))
        .select_from(Disbursement)
        .outerjoin(original, original.id == Disbursement.reverses_id)
        .where(Disbursement.allocation_id == Allocation.id, extract("year", paid_on) > Allocation.fiscal_year)
    )
    return (
        adj.scalar_subquery().label("adjusted"),
        (child_amount.scalar_subquery() + child_adj.scalar_subquery()).label("sub_allocated"),
        disb.scalar_subquery().label("disbursed"),
        _year_end_sum(CARRY_OVER).label("carried_over"),
        _year_end_sum(CLOSE).label("closed"),
        after.scalar_subquery().label("disbursed_after"),
    )


def _year_end_sum(kind: str) -> Any:
    return (
        select(func.coalesce(func.sum(YearEndRecord.amount), 0))
        .where(YearEndRecord.allocation_id == Allocation.id, YearEndRecord.kind == kind)
        .scalar_subquery()
    )


def facts_of(row: Allocation, money: Any) -> AllocationFacts:
    """The facts of an `Allocation` row from the `money_columns()` selected beside it."""
    return allocation_facts(
        row,
        money.adjusted,
        money.sub_allocated,
        money.disbursed,
        carried_over=money.carried_over,
        closed=money.closed,
        disbursed_after=money.disbursed_after,
    )


def allocation_facts(
    row: Allocation,
    adjusted: int,
    sub_allocated: int,
    disbursed: int,
    *,
    carried_over: int = 0,
    closed: int = 0,
    disbursed_after: int = 0,
) -> AllocationFacts:
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
        adjustments=int(adjusted),
        children=int(sub_allocated),
        disbursed=int(disbursed),
        fund_year=row.fund_year,
        use=row.surplus_use,
        carried_over=int(carried_over),
        closed=int(closed),
        disbursed_after=int(disbursed_after),
    )


def allocations_with_money(session: Session, *conditions: Any, page: tuple[int, int] | None = None) -> list[dict]:
    """The allocations matching `conditions`, oldest first, each as the contract shows it (its money so far)."""
    stmt = select(Allocation, *money_columns()).where(*conditions).order_by(Allocation.id)
    if page is not None:
        number, per_page = page
        stmt = stmt.offset((number - 1) * per_page).limit(per_page)
    return [allocation_dict(r[0], facts_of(r[0], r)) for r in session.execute(stmt)]


def allocation_dict(row: Allocation, facts: AllocationFacts) -> dict[str, Any]:
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
        "adjusted": facts.adjustments,
        "allocated": facts.allocated,
        "sub_allocated": facts.children,
        "disbursed": facts.disbursed,
        "remaining": facts.remaining,
        # The budget year end: carried over to the next year (and of it, what is still to pay), closed.
        "carried_over": facts.carried_over,
        "carried_over_left": facts.carried_over_left,
        "closed": facts.closed,
    }


def year_end_dict(r: YearEndRecord) -> dict[str, Any]:
    return {
        "id": r.id,
        "allocation_id": r.allocation_id,
        "kind": r.kind,
        "amount": int(r.amount),
        "date": r.date.isoformat(),
        "decision_no": r.decision_no,
        "decision_date": r.decision_date.isoformat(),
        "recorded_by": r.recorded_by,
        "note": r.note,
        "reverses_id": r.reverses_id,
    }


def plans_below(session: Session, plan_id: int) -> list[int]:
    """The plans applying `plan_id` at lower levels (the province plan's district plans), recursively."""
    out: list[int] = []
    frontier = [plan_id]
    while frontier:
        rows = list(session.scalars(select(Plan.id).where(Plan.parent_id.in_(frontier))))
        out.extend(rows)
        frontier = rows
    return out


def disbursement_dict(d: Disbursement) -> dict[str, Any]:
    return {
        "id": d.id,
        "allocation_id": d.allocation_id,
        "amount": int(d.amount),
        "date": d.date.isoformat(),
        "reference": d.reference,
        "reverses_id": d.reverses_id,
    }


def adjustment_dict(a: Adjustment) -> dict[str, Any]:
    return {
        "id": a.id,
        "allocation_id": a.allocation_id,
        "amount": int(a.amount),
        "decision_no": a.decision_no,
        "decision_date": a.decision_date.isoformat(),
        "note": a.note,
    }


# --------------------------------------------------------------------------- the record in force

_Row = TypeVar("_Row", CapitationFundRecord, CapitationReport, CapitationResult, CapitationSettlement)


def latest(session: Session, model: type[_Row], facility: str, period: str) -> _Row | None:
    """The newest row (highest id) of an append-only facility-and-period table: the one in force."""
    return session.scalar(
        select(model).where(model.facility_code == facility, model.period == period).order_by(model.id.desc()).limit(1)
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
            select(func.coalesce(func.sum(CapitationAdvance.amount), 0)).where(
                CapitationAdvance.facility_code == facility, CapitationAdvance.period == period
            )
        )
    )


def payments_of(session: Session, facility: str, period: str, result_id: int | None = None) -> list[CapitationPayment]:
    stmt = select(CapitationPayment).where(
        CapitationPayment.facility_code == facility, CapitationPayment.period == period
    )
    if result_id is not None:
        stmt = stmt.where(CapitationPayment.result_id == result_id)
    return list(session.scalars(stmt.order_by(CapitationPayment.id)))


def suggested_advance(
    session: Session, facility: str, quarter: Quarter
) -> tuple[CapitationReport | None, int | None, str | None]:
    """(the previous quarter's report, the advance it suggests, why). Without a report, a facility contracting
    for the first time gets 80% of its notified fund (Luật BHYT Điều 32 k1b): the quarter's fund, else a
    quarter of the year's."""
    previous = quarter.previous()
    report = latest(session, CapitationReport, facility, str(previous))
    if report is not None:
        return report, int(report.advance), (
            f"80% chi phí KCB BHYT (mọi phương thức) trong báo cáo quyết toán quý {previous}"
        )
    earlier = session.scalar(select(func.count(CapitationReport.id)).where(CapitationReport.facility_code == facility))
    if earlier:
        return None, None, None
    share = reference().capitation.advance_share
    fund = latest(session, CapitationFundRecord, facility, str(quarter))
    if fund is not None:
        return None, advance_of(Decimal(fund.fund), share), f"80% quỹ định suất được thông báo quý {quarter}"
    annual = latest(session, CapitationFundRecord, facility, str(quarter.year))
    if annual is not None:
        return (
            None,
            advance_of(Decimal(annual.fund) / 4, share),
            f"80% của một phần tư quỹ định suất được thông báo năm {quarter.year}",
        )
    return None, None, None


# --------------------------------------------------------------------------- capitation rows as answered


def money_str(value: Decimal) -> str:
    """Claim amounts cross the wire as strings with 2 places."""
    return str(Decimal(value).quantize(Decimal("0.01")))


def _iso(day: date | None) -> str | None:
    return day.isoformat() if day else None


def fund_dict(f: CapitationFundRecord) -> dict[str, Any]:
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


def advance_dict(a: CapitationAdvance) -> dict[str, Any]:
    return {
        "id": a.id,
        "facility_code": a.facility_code,
        "period": a.period,
        "amount": int(a.amount),
        "date": a.date.isoformat(),
        "reference": a.reference,
        "suggested": int(a.suggested) if a.suggested is not None else None,
    }


def settlement_dict(s: CapitationSettlement) -> dict[str, Any]:
    balance = int(s.balance)
    return {
        "id": s.id,
        "facility_code": s.facility_code,
        "period": s.period,
        "fund_id": s.fund_id,
        "fund": int(s.fund),
        "spend": money_str(s.spend),
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
            "date": _iso(s.station_share_decision_date),
        }
        if s.station_share_decision_no
        else None,
        "advanced": int(s.advanced),
        "to_pay": int(s.fund) - int(s.advanced),
        "supersedes_id": s.supersedes_id,
        "created_at": s.created_at.isoformat(),
    }


def report_dict(r: CapitationReport) -> dict[str, Any]:
    return {
        "id": r.id,
        "facility_code": r.facility_code,
        "period": r.period,
        "received_date": r.received_date.isoformat(),
        "claims": r.claims,
        "total": money_str(r.total),
        "by_method": {
            "fee_for_service": money_str(r.fee_for_service),
            "capitation": money_str(r.capitation),
            "drg": money_str(r.drg),
        },
        "advance": {
            "period": r.advance_period,
            "amount": int(r.advance),
            "due": r.advance_due.isoformat(),
            "share": str(reference().capitation.advance_share),
        },
        "result_due": r.result_due.isoformat(),
        "supersedes_id": r.supersedes_id,
        "created_at": r.created_at.isoformat(),
    }


def result_dict(r: CapitationResult) -> dict[str, Any]:
    return {
        "id": r.id,
        "facility_code": r.facility_code,
        "period": r.period,
        "report_id": r.report_id,
        "result_date": r.result_date.isoformat(),
        "assessed": r.assessed,
        "pending": money_str(r.pending),
        "approved": money_str(r.approved),
        "approved_vnd": int(r.approved_vnd),
        "advanced": int(r.advanced),
        "to_pay": int(r.to_pay),
        "excess_advance": max(-int(r.to_pay), 0),
        "payment_due": r.payment_due.isoformat(),
        "reference": r.reference,
        "supersedes_id": r.supersedes_id,
        "created_at": r.created_at.isoformat(),
    }


def payment_dict(p: CapitationPayment) -> dict[str, Any]:
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
