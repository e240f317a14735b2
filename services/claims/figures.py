"""Claims' figures for the wall (services/common/business_metrics.py): the capitation fund and spend of every
facility in the exposed quarters, read through the reconciliation the API answers with (`views.reconciliation`),
so the gauges agree with `GET /api/v1/reconciliation` whatever the spend rule is."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.claims import views
from services.claims.models import CapitationFund, FacilityQuarterTotal
from services.common import clock
from services.common.business_metrics import BusinessFigures, CapitationFigure, exposed_quarters


def business_figures(session: Session) -> BusinessFigures:
    """One reconciliation per facility with claims or a fund in the quarter (current and previous quarter): claims
    it treated, or claims of cards registered there and treated elsewhere (their spend is its fund's)."""
    rows: list[CapitationFigure] = []
    t = FacilityQuarterTotal
    for q in exposed_quarters(clock.today()):
        with_claims = select(t.facility_code).where(
            t.period_year == q.year, t.period_quarter == q.quarter, (t.claims > 0) | (t.registered_claims > 0)
        )
        with_fund = select(CapitationFund.facility_code).where(CapitationFund.period == str(q))
        for facility in sorted(
            set(session.scalars(with_claims.distinct())) | set(session.scalars(with_fund.distinct()))
        ):
            capitation = views.reconciliation(session, facility, str(q))["capitation"]
            rows.append(CapitationFigure(facility, str(q), Decimal(capitation["fund"]), Decimal(capitation["spend"])))
    return BusinessFigures(capitation=rows)
