"""Claims' figures for the wall (services/common/business_metrics.py): the capitation fund and spend of every
facility in the exposed quarters, read through the reconciliation the API answers with (`views.reconciliation`),
so the gauges agree with `GET /api/v1/reconciliation` whatever the spend rule is."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.claims import views
from services.claims.models import CapitationFund, Claim
from services.common.business_metrics import VN_TZ, BusinessFigures, CapitationFigure, exposed_quarters


def business_figures(session: Session) -> BusinessFigures:
    """One reconciliation per facility with claims or a fund in the quarter (current and previous quarter)."""
    rows: list[CapitationFigure] = []
    for q in exposed_quarters(datetime.now(VN_TZ).date()):
        with_claims = select(Claim.facility_code).where(
            Claim.period_year == q.year, Claim.period_quarter == q.quarter, Claim.status == "accepted"
        )
        with_fund = select(CapitationFund.facility_code).where(CapitationFund.period == str(q))
        for facility in sorted(
            set(session.scalars(with_claims.distinct())) | set(session.scalars(with_fund.distinct()))
        ):
            capitation = views.reconciliation(session, facility, str(q))["capitation"]
            rows.append(CapitationFigure(facility, str(q), Decimal(capitation["fund"]), Decimal(capitation["spend"])))
    return BusinessFigures(capitation=rows)
