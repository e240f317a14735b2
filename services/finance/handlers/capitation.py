"""Finance commands on BHYT capitation: a facility's fund for a year (or a provisional quarter), the year's
settlement, and the quarter's capitation spend that claims announces."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.common import clock, outbox
from services.common.commands import load_command
from services.common.contracts.claims import CapitationSpendChangedV1
from services.common.contracts.finance import (
    CapitationFundCommandV1,
    SettlementCommandV1,
)
from services.common.errors import DomainError
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain, records
from services.finance.models import (
    CapitationFundRecord,
    CapitationSettlement,
    CapitationSpendReport,
)
from services.finance.reference import reference
from services.finance.unit_of_work import FinanceUnitOfWork


def _facility_fund_period(cmd: dict[str, Any]) -> tuple[str, int, Quarter | None]:
    """The facility and the fund's period: a year (the legal fund) or a quarter of it (provisional)."""
    facility = domain.parse_facility(cmd["facility_code"])
    year, quarter = domain.parse_fund_period(cmd["period"])
    return facility, year, quarter


def set_capitation_fund(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Quỹ định suất of a facility-year (or a provisional quarter); a later fund for the same period
    supersedes the earlier one."""
    cmd = load_command(CapitationFundCommandV1, data)
    facility, year, quarter = _facility_fund_period(cmd)
    period = str(quarter) if quarter else str(year)
    result = domain.capitation_fund(
        quarter or year,
        cmd["cards"],
        cmd["rate_per_card"],
        cmd["coefficient"],
        cmd["groups"],
        settings=reference().capitation,
    )
    if cmd["decision_no"] is not None or cmd["decision_date"] is not None:
        domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today()))
    uow.repo.serialize_writes()
    previous = uow.repo.latest_fund(facility, period)
    inputs = result.inputs() | ({"note": cmd["note"]} if cmd["note"] else {})
    if cmd["decision_no"]:  # the document that set the inputs (BHXH's notice of the fund)
        inputs["decision"] = {"number": cmd["decision_no"].strip(), "date": cmd["decision_date"].isoformat()}
    inputs["provisional"] = quarter is not None  # the legal fund is annual; a quarter's is a share of it
    row = uow.repo.add(
        CapitationFundRecord(
            facility_code=facility,
            period=period,
            cards=result.cards,
            coefficient=str(result.coefficient),
            fund=result.fund,
            inputs=inputs,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "capitation_fund_set",
        {
            "fund_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "cards": row.cards,
            "coefficient": row.coefficient,
            "supersedes_id": row.supersedes_id,
        },
    )
    return records.fund_dict(row)


def _year_figures(
    uow: FinanceUnitOfWork, facility: str, year: int
) -> tuple[CapitationFundRecord | None, int, Decimal, int | None, int]:
    """(fund record, fund, spend of the year, last spend report id, advanced). Without an annual fund, the
    latest fund of each quarter adds up; spend is Σ of each quarter's level in force."""
    quarters = [f"{year}-Q{q}" for q in range(1, 5)]
    record = uow.repo.latest_fund(facility, str(year))
    fund = int(record.fund) if record else 0
    if record is None:
        for p in quarters:
            f = uow.repo.latest_fund(facility, p)
            if f is not None:
                fund += int(f.fund)
                record = f
    spend = Decimal("0.00")
    last: int | None = None
    for p in quarters:
        r = uow.repo.latest_spend(facility, p)
        if r is not None:
            spend += Decimal(r.spend)
            last = r.id
    advanced = sum(uow.repo.advanced_total(facility, p) for p in quarters)
    return record, fund, spend, last, advanced


def _quarter_figures(
    uow: FinanceUnitOfWork, facility: str, period: str
) -> tuple[CapitationFundRecord | None, int, Decimal, int | None, int]:
    """The same figures for one provisional quarter: its fund and spend level in force, its advances."""
    fund = uow.repo.latest_fund(facility, period)
    report = uow.repo.latest_spend(facility, period)
    return (
        fund,
        int(fund.fund) if fund else 0,
        Decimal(report.spend) if report else Decimal("0.00"),
        report.id if report else None,
        uow.repo.advanced_total(facility, period),
    )


def settle_capitation(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Quyết toán định suất: the year (`YYYY`) is the final settlement — surplus to the facility, which passes
    the share its decision sets to the stations; a deficit borne by the facility. A quarter (`YYYY-Qn`) is a
    provisional view. A later settlement of the same period supersedes the earlier (e.g. after late claims)."""
    cmd = load_command(SettlementCommandV1, data)
    facility, year, quarter = _facility_fund_period(cmd)
    period = str(quarter) if quarter else str(year)
    uow.repo.serialize_writes()
    if quarter is not None:
        fund, fund_amount, spend, report_id, advanced = _quarter_figures(uow, facility, period)
    else:
        fund, fund_amount, spend, report_id, advanced = _year_figures(uow, facility, year)
    if fund is None:
        raise DomainError.one(
            "no_capitation_fund",
            f"Chưa có quỹ định suất {period} của cơ sở {facility}: không thể quyết toán.",
            "period",
        )
    decision_no, decision_date = cmd["station_share_decision_no"], cmd["station_share_decision_date"]
    if decision_no or decision_date:
        domain.raise_if(domain.check_decision(decision_no, decision_date, clock.today(), "station_share_decision"))
    result = domain.settle(
        fund_amount,
        spend,
        advanced,
        cmd["station_share_rate"],
        provisional=quarter is not None,
        decision_no=decision_no,
        decision_date=decision_date,
    )
    previous = uow.repo.latest_settlement(facility, period)
    final_share = quarter is None and result.surplus > 0
    row = uow.repo.add(
        CapitationSettlement(
            facility_code=facility,
            period=period,
            fund_id=fund.id,
            spend_report_id=report_id,
            fund=result.fund,
            spend=result.spend,
            spend_vnd=result.spend_vnd,
            advanced=result.advanced,
            balance=result.balance,
            station_share_rate=str(result.station_share_rate),
            station_share=result.station_share,
            provisional=quarter is not None,
            station_share_decision_no=decision_no.strip() if final_share else None,
            station_share_decision_date=decision_date if final_share else None,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "settlement_made",
        {
            "settlement_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "fund": row.fund,
            "spend": row.spend_vnd,
            "balance": row.balance,
            "spend_exact": result.spend,
            "advanced": row.advanced,
            "station_share": row.station_share,
            "supersedes_id": row.supersedes_id,
        },
    )
    return records.settlement_dict(row) | {"spend_reported": report_id is not None}


def record_capitation_spend(uow: FinanceUnitOfWork, envelope: dict[str, Any]) -> bool:
    """Consume claims' `capitation_spend_changed` (a level per facility-quarter). Idempotent by event id;
    returns False for a redelivery. Every report is kept; the latest by `occurred_at` is in force."""
    uow.repo.serialize_writes()  # before the inbox savepoint: on SQLite it must sit inside our transaction
    if not uow.first_delivery(envelope["event_id"], envelope["event_type"]):
        return False
    data = load_command(CapitationSpendChangedV1, envelope["data"])
    occurred = datetime.fromisoformat(envelope["occurred_at"])  # stored as the moment it is (Instant: UTC)
    uow.repo.add(
        CapitationSpendReport(
            event_id=envelope["event_id"],
            facility_code=domain.parse_facility(data["facility_code"]),
            period=str(quarter_or_refuse(data["period"])),
            spend=data["spend"],
            claims=data["claims"],
            occurred_at=occurred,
            received_at=outbox.utcnow(),
        )
    )
    return True
