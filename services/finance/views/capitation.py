"""Finance's read side of BHYT capitation: a facility-quarter and a facility-year at a glance, the advance a
report gives, each quarter's dated settlement steps and every step past due (docs/finance.md)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from services.common import clock
from services.common.errors import DomainError
from services.common.kept import KeptAnswers
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain, records
from services.finance.models import (
    CapitationAdvance,
    CapitationFundRecord,
    CapitationPayment,
    CapitationReport,
    CapitationResult,
    CapitationSettlement,
    CapitationSpendReport,
)
from services.finance.reference import reference


def capitation_status(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """A facility-quarter at a glance: fund (and its history), advances, reported spend, settlement."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = str(quarter_or_refuse(period))
    funds = list(
        session.scalars(
            select(CapitationFundRecord)
            .where(CapitationFundRecord.facility_code == facility, CapitationFundRecord.period == quarter)
            .order_by(CapitationFundRecord.id.desc())
        )
    )
    advances = list(
        session.scalars(
            select(CapitationAdvance)
            .where(CapitationAdvance.facility_code == facility, CapitationAdvance.period == quarter)
            .order_by(CapitationAdvance.id)
        )
    )
    report = records.latest_spend(session, facility, quarter)
    settlement = records.latest(session, CapitationSettlement, facility, quarter)
    fund = int(funds[0].fund) if funds else None
    spend = records.money_str(report.spend) if report else None
    balance = None
    if fund is not None:
        balance = records.money_str(Decimal(fund) - (Decimal(report.spend) if report else Decimal(0)))
    year_fund = records.latest(session, CapitationFundRecord, facility, quarter[:4])
    return {
        "facility_code": facility,
        "period": quarter,
        "fund": fund,
        "fund_record": records.fund_dict(funds[0]) if funds else None,
        "fund_history": [records.fund_dict(f) for f in funds[1:]],
        "advances": [records.advance_dict(a) for a in advances],
        "advanced": sum(int(a.amount) for a in advances),
        "spend": spend,
        "spend_claims": report.claims if report else None,
        "spend_reported_at": report.occurred_at.isoformat() if report else None,
        "spend_reports": session.scalar(
            select(func.count())
            .select_from(CapitationSpendReport)
            .where(CapitationSpendReport.facility_code == facility, CapitationSpendReport.period == quarter)
        ),
        "balance": balance,
        "settlement": records.settlement_dict(settlement) if settlement else None,
        # The fund and its balance are settled by the year (NĐ 146/2018 Điều 25): a quarter is a provisional view.
        "provisional": True,
        "year_fund": records.fund_dict(year_fund) if year_fund else None,
        "schedule": quarter_schedule(session, facility, quarter),
    }


def capitation_year(session: Session, facility_code: str, year: int | str) -> dict[str, Any]:
    """A facility's capitation year: the annual fund in force (with its inputs and document) and the funds it
    superseded, the year's final settlement in force and the ones it superseded (newest first), and each
    quarter's provisional figures (its fund, spend level in force, advances, balance)."""
    facility = domain.parse_facility(facility_code, "facility")
    number, quarter = domain.parse_fund_period(str(year), "year")
    if quarter is not None:  # a quarter is capitation_status's; here only a year
        raise DomainError.one("invalid_year", f"Năm không hợp lệ: {year}.", "year")
    period = str(number)
    funds = _newest_first(session, CapitationFundRecord, facility, period)
    settlements = _newest_first(session, CapitationSettlement, facility, period)
    quarters: list[dict[str, Any]] = []
    for n in range(1, 5):
        p = f"{period}-Q{n}"
        fund = records.latest(session, CapitationFundRecord, facility, p)
        spend = records.latest_spend(session, facility, p)
        quarters.append(
            {
                "period": p,
                "fund": int(fund.fund) if fund else None,
                "spend": records.money_str(spend.spend) if spend else None,
                "advanced": records.advanced_total(session, facility, p),
                "balance": records.money_str(Decimal(fund.fund) - (Decimal(spend.spend) if spend else Decimal(0)))
                if fund
                else None,
            }
        )
    return {
        "facility_code": facility,
        "year": number,
        "fund": int(funds[0].fund) if funds else None,
        "fund_record": records.fund_dict(funds[0]) if funds else None,
        "fund_history": [records.fund_dict(f) for f in funds[1:]],
        "settlement": _year_settlement(settlements[0]) if settlements else None,
        "settlement_history": [_year_settlement(s) for s in settlements[1:]],
        "quarters": quarters,
        "advanced": sum(q["advanced"] for q in quarters),
    }


def _newest_first(
    session: Session, model: type[CapitationFundRecord] | type[CapitationSettlement], facility: str, period: str
) -> list[Any]:
    """Every row of an append-only facility-and-period table, the one in force first."""
    return list(
        session.scalars(
            select(model).where(model.facility_code == facility, model.period == period).order_by(model.id.desc())
        )
    )


def _year_settlement(s: CapitationSettlement) -> dict[str, Any]:
    """A year's settlement as answered, with what is left to pay the facility or for it to refund (fund − advanced)."""
    out = records.settlement_dict(s)
    return out | {"refund": max(-out["to_pay"], 0), "recorded_at": out["created_at"]}


def advance_suggestion(session: Session, facility_code: str, period: str) -> dict[str, Any]:
    """The advance of a quarter: 80% of the facility's report of the previous quarter (all payment methods),
    due 5 working days after BHXH received it; a first contract: 80% of the notified fund."""
    facility = domain.parse_facility(facility_code, "facility")
    quarter = quarter_or_refuse(period)
    previous = quarter.previous()
    report, suggested, basis = records.suggested_advance(session, facility, quarter)
    cap = reference().capitation
    return {
        "facility_code": facility,
        "period": str(quarter),
        "previous_period": str(previous),
        "share": str(cap.advance_share),
        "advanced": records.advanced_total(session, facility, str(quarter)),
        "legal_basis": cap.advance_legal_basis,
        "report": records.report_dict(report) if report else None,
        "previous_total": records.money_str(report.total) if report else None,
        "suggested": suggested,
        "due": report.advance_due.isoformat() if report else None,
        "basis": basis,
        "message": None
        if report is not None or suggested is not None
        else f"Chưa nhận báo cáo quyết toán quý {previous} của cơ sở {facility}.",
    }


def quarter_schedule(session: Session, facility: str, period: str, on: date | None = None) -> dict[str, Any]:
    """Every dated step of a facility's quarter: its report, the advance it gives, BHXH's result, the payment;
    each with its due date, the date it happened, and whether it is late or overdue `on` (Vietnam today)."""
    quarter = quarter_or_refuse(period)
    now = on or clock.today()
    report = records.latest(session, CapitationReport, facility, str(quarter))
    result = records.latest(session, CapitationResult, facility, str(quarter))
    steps: dict[str, Any] = {
        "report": domain.step(domain.report_due(quarter), report.received_date if report else None, now)
    }
    if report is None and not _contracted_quarters(session, facility=facility, quarter=str(quarter)):
        steps["report"]["overdue"] = False  # no capitation fund for the quarter: no report is owed
    if report is not None:
        first_advance = session.scalar(
            select(func.min(CapitationAdvance.date)).where(
                CapitationAdvance.facility_code == facility, CapitationAdvance.period == report.advance_period
            )
        )
        steps["advance"] = domain.step(report.advance_due, first_advance, now) | {
            "period": report.advance_period,
            "amount": int(report.advance),
            "paid": records.advanced_total(session, facility, report.advance_period),
        }
        steps["result"] = domain.step(report.result_due, result.result_date if result else None, now)
    if result is not None:
        paid = records.payments_of(session, facility, str(quarter), result.id)
        done = sum(int(p.amount) for p in paid)
        owed = abs(int(result.to_pay))
        finished = max((p.date for p in paid), default=None) if done >= owed else None
        steps["payment"] = domain.step(result.payment_due, finished if owed else result.result_date, now) | {
            "to_pay": int(result.to_pay),
            "settled": done,
            "records": [records.payment_dict(p) for p in paid],
        }
    return {
        "facility_code": facility,
        "period": str(quarter),
        "report": records.report_dict(report) if report else None,
        "result": records.result_dict(result) if result else None,
        "steps": steps,
        "overdue": [name for name, s in steps.items() if s["overdue"]],
    }


def steps_version(session: Session) -> tuple[int, ...]:
    """A stamp that moves with every record a quarter's steps are read from: funds (which quarters are contracted),
    reports, advances, results and payments, all append-only, so their row counts grow with every such commit."""
    tables = (CapitationFundRecord, CapitationReport, CapitationAdvance, CapitationResult, CapitationPayment)
    counts = [select(func.count()).select_from(m).scalar_subquery() for m in tables]
    return tuple(int(v) for v in session.execute(select(*counts)).one())


_KEPT_STEPS = KeptAnswers(steps_version, size=8)


def overdue_steps(session: Session, facilities: list[str] | None = None) -> list[dict[str, Any]]:
    """Every settlement step past its due date today of every facility-quarter in play (reported, or contracted
    and its report past due; within `facilities`), newest quarter first, each with its `quarter` (an advance's own
    `period` is the quarter it is paid for): what BHXH's home page names and the `ytcs_settlement_steps_overdue`
    gauge counts (figures.py). Read once per step or fund record written or per day: a province's reports (~250
    facilities × 4 quarters a year) are a schedule each."""
    today = clock.today()
    every = _KEPT_STEPS.get(session, ("overdue", today), lambda: _overdue_steps(session, today))
    return [o for o in every if facilities is None or o["facility_code"] in facilities]


def _overdue_steps(session: Session, today: date) -> list[dict[str, Any]]:
    reported: set[tuple[str, str]] = {
        (f, p) for f, p in session.execute(select(CapitationReport.facility_code, CapitationReport.period).distinct())
    }
    # A contracted quarter no report came for is overdue from the 16th day of the next quarter on; later quarters
    # have nothing due yet, so their schedules are not read.
    unreported = {
        (facility, period)
        for facility, period in _contracted_quarters(session)
        if (facility, period) not in reported and today > domain.report_due(Quarter.parse(period))
    }
    out: list[dict[str, Any]] = []
    for facility, period in sorted(reported | unreported, key=_newest_quarter_first):
        schedule = quarter_schedule(session, facility, period, on=today)
        out += [
            {"facility_code": facility, "quarter": period, "step": step, **schedule["steps"][step]}
            for step in schedule["overdue"]
        ]
    return out


def _newest_quarter_first(pair: tuple[str, str]) -> tuple[int, str]:
    quarter = Quarter.parse(pair[1])
    return -(quarter.year * 4 + quarter.quarter), pair[0]


def reported_facilities(session: Session, period: str) -> list[str]:
    """The facilities whose quarterly report for `period` was received."""
    return list(
        session.scalars(select(CapitationReport.facility_code).where(CapitationReport.period == period).distinct())
    )


def _contracted_quarters(
    session: Session, facility: str | None = None, quarter: str | None = None
) -> set[tuple[str, str]]:
    """(facility, quarter) of every quarter owing a report (`domain.quarters_owing_report`), from the fund records;
    `facility` and `quarter` (YYYY-Qn) narrow it."""
    funds = select(CapitationFundRecord.facility_code, CapitationFundRecord.period, CapitationFundRecord.fund)
    if quarter is not None:  # its own fund, or its year's
        funds = funds.where(CapitationFundRecord.period.in_([quarter, quarter[:4]]))
    if facility is not None:
        funds = funds.where(CapitationFundRecord.facility_code == facility)
    owing = domain.quarters_owing_report(
        (f, period, int(fund)) for f, period, fund in session.execute(funds.order_by(CapitationFundRecord.id))
    )
    return owing if quarter is None else {p for p in owing if p[1] == quarter}


def settlement_facilities(session: Session, period: str) -> list[str]:
    """The facilities with a settlement to follow in quarter `period`: those that reported it, and those contracted
    for it (a capitation fund of its year or of the quarter), whose report is then awaited or overdue."""
    quarter = str(quarter_or_refuse(period))
    contracted = {f for f, _ in _contracted_quarters(session, quarter=quarter)}
    return sorted(contracted | set(reported_facilities(session, quarter)))
