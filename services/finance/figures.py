"""Finance's figures for the wall (services/common/business_metrics.py): the funding of every plan item in the
exposed fiscal years, read through the kept roll-up the API answers with (`funding_tree_kept`), so the gauges
and `GET /api/v1/funding/...` agree and a scrape reuses the answers the pages already asked for; and the
settlement steps overdue today of every quarter reported or contracted, the list BHXH's home page names
(views.overdue_steps)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.business_metrics import BusinessFigures, FundingFigure, OverdueStep, exposed_years
from services.finance import views
from services.finance.models import Plan


def stamp(session: Session) -> tuple[int, ...]:
    """The funding's data version and the settlement steps' (views.steps_version): the figures are computed again
    when either changed (or the day did: overdue is dated)."""
    return views.data_version(session) + views.steps_version(session)


def overdue_steps(session: Session) -> list[OverdueStep]:
    """Every facility-quarter's steps overdue today (views.overdue_steps, the list BHXH's home page names), by
    facility and quarter; an advance with what of it is still unpaid."""
    rows = [
        OverdueStep(
            o["facility_code"],
            o["quarter"],
            o["step"],
            max(0, int(o["amount"]) - int(o["paid"])) if o["step"] == "advance" else 0,
        )
        for o in views.overdue_steps(session)
    ]
    return sorted(rows, key=lambda r: (r.facility, r.period))


def business_figures(session: Session) -> BusinessFigures:
    rows: list[FundingFigure] = []
    years = exposed_years(clock.today())
    for plan_id, number in session.execute(select(Plan.id, Plan.number).order_by(Plan.id)):
        for year in years:
            tree = views.funding_tree_kept(session, plan_id, year)
            for code, item in tree["items"].items():
                for source, money in item["by_source"].items():
                    rows.append(FundingFigure(number, code, source, year, money["allocated"], money["disbursed"]))
    return BusinessFigures(funding=rows, overdue=overdue_steps(session))
