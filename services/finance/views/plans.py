"""Finance's read side: the plans, their items and the funding sources, as the gateway answers them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import catalog, surplus
from services.common.errors import NotFound
from services.finance.models import (
    Plan,
    PlanItem,
)
from services.finance.reference import reference


def plan_dict(p: Plan) -> dict[str, Any]:
    return {
        "id": p.id,
        "number": p.number,
        "date": p.date.isoformat(),
        "title": p.title,
        "issuer": p.issuer,
        "level": p.level,
        "unit": p.unit,
        "parent_id": p.parent_id,
        "period": {"from": p.period_from, "to": p.period_to},
    }


def list_plans(session: Session) -> list[dict[str, Any]]:
    return [plan_dict(p) for p in session.scalars(select(Plan).order_by(Plan.id))]


def get_plan(session: Session, plan_id: int) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None:
        raise NotFound(
            [{"field": "plan_id", "code": "unknown_plan", "message": f"Không có kế hoạch số hiệu {plan_id}."}]
        )
    return plan


def plan_items(session: Session, plan_id: int) -> list[dict[str, Any]]:
    get_plan(session, plan_id)
    rows = session.scalars(select(PlanItem).where(PlanItem.plan_id == plan_id).order_by(PlanItem.position))
    return [
        {
            "code": i.code,
            "title": i.title,
            "parent_code": i.parent_code,
            "kind": i.kind,
            "text": i.text,
            "lead_agency": i.lead_agency,
            "co_agencies": i.co_agencies,
            "targets": i.targets,
        }
        for i in rows
    ]



def list_sources() -> list[dict[str, Any]]:
    """The funding sources, each with the plans whose section III names it (`plans`: a root allocation of a
    plan takes only those, `source_not_in_plan`)."""
    ref = reference()
    named = {
        p.id: {f.code for i in p.items if i.kind == "funding" for f in i.funding_sources} for p in catalog.load_plans()
    }
    out: list[dict[str, Any]] = []
    for s in ref.sources.values():
        row: dict[str, Any] = {"code": s.code, "name": s.name, "last_fund_year": None, "legal_basis": s.legal_basis}
        row["plans"] = sorted(pid for pid, codes in named.items() if s.code in codes)
        if s.code == surplus.SOURCE:  # the law's bounds and uses (services/common/surplus.py)
            row |= {
                "first_fund_year": surplus.FIRST_FUND_YEAR,
                "last_fund_year": surplus.LAST_FUND_YEAR,
                "uses": [{"code": c, "name": n} for c, n in surplus.USES],
            }
        out.append(row)
    return out
