"""Loads the reviewed plan catalog (services/common/reference/plans/*.yaml) into finance's tables.

Idempotent: run by `ytcs migrate` every time; a changed catalog updates titles and texts in place
(reference data, not money), and never deletes an item that money may point at.
"""

from __future__ import annotations

import dataclasses

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.catalog import load_plans
from services.finance.models import Plan, PlanItem


def sync_catalog(session: Session) -> int:
    plans = load_plans()
    by_number = {p.number: p for p in plans}
    for p in sorted(plans, key=lambda p: p.parent_number is not None):
        parent = by_number.get(p.parent_number) if p.parent_number else None
        row = session.get(Plan, p.id) or Plan(id=p.id)
        row.number, row.date, row.title, row.issuer = p.number, p.date, p.title, p.issuer
        row.level, row.unit, row.parent_id = p.level, p.unit, parent.id if parent else None
        row.period_from, row.period_to = p.period_from, p.period_to
        session.add(row)
        session.flush()
        existing = {i.code: i for i in session.scalars(select(PlanItem).where(PlanItem.plan_id == p.id))}
        for position, item in enumerate(p.items):
            irow = existing.get(item.code) or PlanItem(plan_id=p.id, code=item.code)
            irow.parent_code, irow.title, irow.kind, irow.text = item.parent_code, item.title, item.kind, item.text
            irow.lead_agency, irow.co_agencies = item.lead_agency, list(item.co_agencies)
            irow.targets = [dataclasses.asdict(t) for t in item.targets]
            irow.position = position
            session.add(irow)
    return sum(len(p.items) for p in plans)
