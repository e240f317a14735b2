"""Investment's figures for the wall (services/common/business_metrics.py): whether each target of a plan was
met at the end of the last finished year, measured as `GET /api/v1/plans/{id}/targets` measures it
(views.targets, province scope), so the gauge and the page agree.

The year is the last finished one (Việt Nam time), kept at the plan's last year once the plan is over: the
outcome of a finished plan stays on the wall (the alert on it looks only at a year ended less than a year
ago). Targets of that year and those the plan states without a year are reported; targets of other years
are not "of the year". Bound: 2 plans × ≤ 20 targets, one year."""

from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session

from services.common import catalog, clock
from services.common.business_metrics import BusinessFigures, TargetFigure
from services.investment import views


def reviewed_year(plan: catalog.Plan, today: date) -> int | None:
    """The finished year whose targets are looked at: last year, or the plan's last year once it is over;
    None before the plan's first year has ended."""
    year = min(today.year - 1, plan.period_to)
    return year if year >= plan.period_from else None


def target_figures(session: Session, today: date) -> list[TargetFigure]:
    rows: list[TargetFigure] = []
    for plan in catalog.load_plans():
        year = reviewed_year(plan, today)
        if year is None:
            continue
        answer = views.targets(session, plan.id, year, None, today)
        for t in answer["items"]:
            if t["target_year"] not in (year, None):
                continue
            rows.append(TargetFigure(plan.number, t["item_code"], t["key"], year, t["met"]))
    return rows


def business_figures(session: Session) -> BusinessFigures:
    return BusinessFigures(targets=target_figures(session, clock.today()))
