"""Finance's figures for the wall (services/common/business_metrics.py): the funding of every plan item in the
exposed fiscal years, read through the kept roll-up the API answers with (`funding_tree_kept`), so the gauges
and `GET /api/v1/funding/...` agree and a scrape reuses the answers the pages already asked for."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common.business_metrics import VN_TZ, BusinessFigures, FundingFigure, exposed_years
from services.finance import queries
from services.finance.models import Plan


def business_figures(session: Session) -> BusinessFigures:
    rows: list[FundingFigure] = []
    years = exposed_years(datetime.now(VN_TZ).date())
    for plan_id, number in session.execute(select(Plan.id, Plan.number).order_by(Plan.id)):
        for year in years:
            tree = queries.funding_tree_kept(session, plan_id, year)
            for code, item in tree["items"].items():
                for source, money in item["by_source"].items():
                    rows.append(FundingFigure(number, code, source, year, money["allocated"], money["disbursed"]))
    return BusinessFigures(funding=rows)
