"""Finance's read side: allocations listed by filter (the year end still to decide among them), one allocation
with its whole history, one disbursement."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock, units
from services.common.errors import NotFound, error
from services.finance import records
from services.finance.models import (
    Adjustment,
    Allocation,
    Disbursement,
    YearEndRecord,
)
from services.finance.views.funding import MONEY_ANSWERS, require_unit


def list_allocations(
    session: Session,
    plan_id: int | None = None,
    item_code: str | None = None,
    year: int | None = None,
    unit: str | None = None,
    source: str | None = None,
    kind: str | None = None,
    parent_id: int | None = None,
    page: int = 1,
    per_page: int = 50,
    level: str | None = None,
    year_end_due: bool = False,
    decision_no: str | None = None,
) -> dict[str, Any]:
    """Allocations matching the filters (an item includes its sub-items; a unit what lies below it; `level` the
    recipient's: province, district or commune; `decision_no` the decision's number as recorded, spaces around it
    aside), each with its money so far, oldest first, one page at a time. `year_end_due`: only those of a year
    already over that still hold money no carry-over or close has decided (the domain's `remaining`), with
    `remaining_total`, what they hold together."""
    require_unit(unit)
    today = clock.today()
    conds = []
    if plan_id is not None:
        conds.append(Allocation.plan_id == plan_id)
    if item_code is not None:
        conds.append((Allocation.item_code == item_code) | Allocation.item_code.like(item_code + ".%"))
    if year is not None:
        conds.append(Allocation.fiscal_year == year)
    if unit is not None and unit != units.PROVINCE_CODE:
        # What the unit answers for: inside it, or merged into a unit inside it (docs/domain.md §7).
        conds.append(Allocation.recipient_unit.in_(sorted(units.reaching(unit, today))))
    if source is not None:
        conds.append(Allocation.source == source)
    if kind is not None:
        conds.append(Allocation.kind == kind)
    if parent_id is not None:
        conds.append(Allocation.parent_id == parent_id)
    if decision_no is not None:
        # The number as an imported sheet's rows are matched by it (domain.import_key), served by its index.
        conds.append(Allocation.decision_no == decision_no.strip())
    if level is not None:
        above = {"province": [units.PROVINCE_CODE], "district": sorted(units.districts())}
        if level in above:
            conds.append(Allocation.recipient_unit.in_(above[level]))
        else:  # a commune: anything below the districts
            conds.append(Allocation.recipient_unit.not_in([units.PROVINCE_CODE, *sorted(units.districts())]))
    if year_end_due:
        # Asked on every visit of a finance person's home page, and a scan of every ended year's money: kept while
        # the money is unchanged (and for the day: the year and the merged units follow today).
        question = ("year_end_due", plan_id, item_code, year, unit, source, kind, parent_id, level, decision_no, today)
        ids, held = MONEY_ANSWERS.get(session, question, lambda: _year_end_due(session, conds, today.year))
        shown = ids[(page - 1) * per_page : page * per_page]
        items = records.allocations_with_money(session, Allocation.id.in_(shown))
        return {"items": items, "page": page, "per_page": per_page, "total": len(ids), "remaining_total": held}
    total = session.scalar(select(func.count()).select_from(Allocation).where(*conds))
    items = records.allocations_with_money(session, *conds, page=(page, per_page))
    return {"items": items, "page": page, "per_page": per_page, "total": int(total or 0)}


def _year_end_due(session: Session, conds: list[Any], this_year: int) -> tuple[tuple[int, ...], int]:
    """The ids, in order, of the allocations of a fiscal year before `this_year` whose money the year end has not
    all decided, and what they hold together: the domain's `remaining` of an ended year is what a carry-over or a
    close may still take (docs/finance.md "Budget year end")."""
    stmt = select(Allocation, *records.money_columns()).where(Allocation.fiscal_year < this_year, *conds)
    facts = [f for f in (records.facts_of(r[0], r) for r in session.execute(stmt)) if f.remaining > 0]
    return tuple(sorted(f.id for f in facts)), sum(f.remaining for f in facts)


def allocation_detail(session: Session, allocation_id: int) -> dict[str, Any]:
    """One allocation with its whole history: adjustments, disbursements (reversals too), sub-allocations."""
    found = records.allocations_with_money(session, Allocation.id == allocation_id)
    if not found:
        raise NotFound([error("unknown_allocation", f"Không có phân bổ số {allocation_id}.", "id")])
    view = found[0]
    view["sub_allocations"] = records.allocations_with_money(session, Allocation.parent_id == allocation_id)
    view["adjustments"] = [
        {
            "id": j.id,
            "amount": int(j.amount),
            "decision_no": j.decision_no,
            "decision_date": j.decision_date.isoformat(),
            "note": j.note,
            "created_at": j.created_at.isoformat(),
        }
        for j in session.scalars(
            select(Adjustment).where(Adjustment.allocation_id == allocation_id).order_by(Adjustment.id)
        )
    ]
    view["disbursements"] = [
        {
            "id": d.id,
            "amount": int(d.amount),
            "date": d.date.isoformat(),
            "reference": d.reference,
            "reverses_id": d.reverses_id,
            "created_at": d.created_at.isoformat(),
        }
        for d in session.scalars(
            select(Disbursement).where(Disbursement.allocation_id == allocation_id).order_by(Disbursement.id)
        )
    ]
    view["year_end"] = [
        records.year_end_dict(r)
        for r in session.scalars(
            select(YearEndRecord).where(YearEndRecord.allocation_id == allocation_id).order_by(YearEndRecord.id)
        )
    ]
    return view



def disbursement_detail(session: Session, disbursement_id: int) -> dict[str, Any]:
    d = session.get(Disbursement, disbursement_id)
    if d is None:
        raise NotFound([error("unknown_disbursement", f"Không có lần giải ngân số {disbursement_id}.", "id")])
    alloc = session.get(Allocation, d.allocation_id)
    reversed_ = session.scalar(
        select(func.coalesce(func.sum(Disbursement.amount), 0)).where(Disbursement.reverses_id == d.id)
    )
    return {
        "id": d.id,
        "allocation_id": d.allocation_id,
        "recipient_unit": alloc.recipient_unit if alloc else None,
        "amount": int(d.amount),
        "date": d.date.isoformat(),
        "reference": d.reference,
        "reverses_id": d.reverses_id,
        "reversed": -int(reversed_),
    }
