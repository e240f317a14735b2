"""Finance's read side of the 20% BHYT surplus (docs/domain.md §5): money allocated and disbursed by legal use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import surplus
from services.finance.models import (
    Adjustment,
    Allocation,
    Disbursement,
)


def surplus_uses(session: Session) -> list[dict[str, Any]]:
    """The 20% BHYT surplus allocated and disbursed per fund year and legal use. Money entering the ledger is
    counted at the root allocations (sub-allocations keep the source, fund year and use: the same money);
    disbursements at every level."""
    src = surplus.SOURCE
    adjusted = (
        select(Adjustment.allocation_id, func.sum(Adjustment.amount).label("adj"))
        .group_by(Adjustment.allocation_id)
        .subquery()
    )
    allocated = session.execute(
        select(
            Allocation.fund_year,
            Allocation.surplus_use,
            func.sum(Allocation.amount + func.coalesce(adjusted.c.adj, 0)),
        )
        .outerjoin(adjusted, adjusted.c.allocation_id == Allocation.id)
        .where(Allocation.source == src, Allocation.parent_id.is_(None))
        .group_by(Allocation.fund_year, Allocation.surplus_use)
    ).all()
    disbursed = session.execute(
        select(Allocation.fund_year, Allocation.surplus_use, func.sum(Disbursement.amount))
        .join(Disbursement, Disbursement.allocation_id == Allocation.id)
        .where(Allocation.source == src)
        .group_by(Allocation.fund_year, Allocation.surplus_use)
    ).all()
    rows: dict[tuple[int | None, str | None], dict[str, Any]] = {}
    for fund_year, use, amount in allocated:
        rows.setdefault((fund_year, use), {"allocated": 0, "disbursed": 0})["allocated"] = int(amount or 0)
    for fund_year, use, amount in disbursed:
        rows.setdefault((fund_year, use), {"allocated": 0, "disbursed": 0})["disbursed"] = int(amount or 0)
    return [{"fund_year": fy, "use": use, **figures} for (fy, use), figures in rows.items()]
