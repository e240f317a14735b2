"""Finance commands on a facility's quarter after it ends (Luật BHYT Điều 32): the advance, the settlement
report, BHXH's assessed result and the payment."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from services.common import clock, outbox
from services.common.commands import load_command
from services.common.contracts.finance import (
    AdvanceCommandV1,
    QuarterlyPaymentCommandV1,
    QuarterlyReportCommandV1,
    QuarterlyResultCommandV1,
)
from services.common.errors import DomainError
from services.common.money import round_vnd
from services.common.periods import Quarter, quarter_or_refuse
from services.finance import domain, records
from services.finance.models import (
    CapitationAdvance,
    CapitationPayment,
    CapitationReport,
    CapitationResult,
)
from services.finance.reference import reference
from services.finance.unit_of_work import FinanceUnitOfWork


def _facility_quarter(cmd: dict[str, Any]) -> tuple[str, Quarter]:
    """The facility and quarter every quarterly command names, or their named refusals."""
    return domain.parse_facility(cmd["facility_code"]), quarter_or_refuse(cmd["period"])


def pay_advance(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Tạm ứng: any positive amount (the 80% suggestion is kept beside it for audit)."""
    cmd = load_command(AdvanceCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    domain.raise_if(domain.check_positive(cmd["amount"]))
    uow.repo.serialize_writes()
    row = uow.repo.add(
        CapitationAdvance(
            facility_code=facility,
            period=str(quarter),
            amount=cmd["amount"],
            date=cmd["date"],
            reference=cmd["reference"],
            suggested=uow.repo.suggested_advance(facility, quarter),
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "advance_paid",
        {
            "advance_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "amount": row.amount,
            "date": row.date,
        },
    )
    return records.advance_dict(row) | {"advanced": uow.repo.advanced_total(facility, row.period)}


def check_quarter(data: dict[str, Any]) -> None:
    """Refuse a malformed facility or period before the claims service is asked for the quarter's figures."""
    domain.parse_facility(data.get("facility_code"))
    quarter_or_refuse(data.get("period"))


def record_report(
    uow: FinanceUnitOfWork, data: dict[str, Any], figures: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """BHXH received a facility's quarterly settlement report: its figures are the claims accepted for the
    quarter that day (`figures`, claims' reconciliation), kept as they were; it gives the next quarter's
    advance and the dates of what follows. A later report of the same quarter supersedes the earlier."""
    cmd = load_command(QuarterlyReportCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    f = domain.QuarterFigures.read(figures)
    share = reference().capitation.advance_share
    terms = domain.report_terms(quarter, cmd["received_date"], f.total, clock.today(), share)
    uow.repo.serialize_writes()
    previous = uow.repo.latest_report(facility, str(quarter))
    row = uow.repo.add(
        CapitationReport(
            facility_code=facility,
            period=str(quarter),
            received_date=cmd["received_date"],
            claims=f.count,
            total=f.total,
            fee_for_service=f.fee_for_service,
            capitation=f.capitation,
            drg=f.drg,
            advance=terms.advance,
            advance_period=str(terms.advance_period),
            advance_due=terms.advance_due,
            result_due=terms.result_due,
            recorded_by=actor,
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_report_received",
        {
            "report_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "received_date": row.received_date,
            "total": Decimal(row.total),
            "advance": row.advance,
            "advance_due": row.advance_due,
        },
    )
    return records.report_dict(row)


def record_result(uow: FinanceUnitOfWork, data: dict[str, Any], figures: dict[str, Any]) -> dict[str, Any]:
    """BHXH's assessed result of the quarter: the approved amounts of the assessments as claims holds them,
    against the quarter's advances; `approved − advanced` is due 10 days later (negative: an excess advance)."""
    cmd = load_command(QuarterlyResultCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    f = domain.QuarterFigures.read(figures)
    uow.repo.serialize_writes()
    report = uow.repo.latest_report(facility, str(quarter))
    if report is None:
        raise DomainError.one(
            "no_quarterly_report",
            f"Chưa nhận báo cáo quyết toán quý {quarter} của cơ sở {facility}: chưa thể thông báo kết quả.",
            "period",
        )
    domain.check_result_date(report.received_date, cmd["result_date"], clock.today())
    approved_vnd = round_vnd(f.approved)
    advanced = uow.repo.advanced_total(facility, str(quarter))
    previous = uow.repo.latest_result(facility, str(quarter))
    row = uow.repo.add(
        CapitationResult(
            facility_code=facility,
            period=str(quarter),
            report_id=report.id,
            result_date=cmd["result_date"],
            assessed=f.assessed,
            pending=f.pending,
            approved=f.approved,
            approved_vnd=approved_vnd,
            advanced=advanced,
            to_pay=approved_vnd - advanced,
            payment_due=domain.payment_due(cmd["result_date"]),
            reference=cmd["reference"],
            supersedes_id=previous.id if previous else None,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_result_notified",
        {
            "result_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "result_date": row.result_date,
            "approved": Decimal(row.approved),
            "advanced": row.advanced,
            "to_pay": row.to_pay,
        },
    )
    return records.result_dict(row)


def record_payment(uow: FinanceUnitOfWork, data: dict[str, Any]) -> dict[str, Any]:
    """Settle a quarter's result: BHXH pays `approved − advanced`; an excess advance is refunded or offset."""
    cmd = load_command(QuarterlyPaymentCommandV1, data)
    facility, quarter = _facility_quarter(cmd)
    offset = quarter_or_refuse(cmd["offset_period"], "offset_period") if cmd["offset_period"] else None
    uow.repo.serialize_writes()
    result = uow.repo.latest_result(facility, str(quarter))
    if result is None:
        raise DomainError.one(
            "no_quarterly_result", f"Chưa có kết quả giám định quý {quarter} của cơ sở {facility}.", "period"
        )
    domain.check_payment_date(result.result_date, cmd["date"], clock.today())
    settled = uow.repo.settled_on(result)
    domain.check_payment(quarter, int(result.to_pay), settled, cmd["kind"], cmd["amount"], offset)
    row = uow.repo.add(
        CapitationPayment(
            facility_code=facility,
            period=str(quarter),
            result_id=result.id,
            kind=cmd["kind"],
            amount=cmd["amount"],
            date=cmd["date"],
            offset_period=str(offset) if offset else None,
            reference=cmd["reference"],
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        "quarterly_payment_made",
        {
            "payment_id": row.id,
            "facility_code": facility,
            "period": row.period,
            "kind": row.kind,
            "amount": row.amount,
            "date": row.date,
            "offset_period": row.offset_period,
        },
    )
    return records.payment_dict(row) | {"left": abs(int(result.to_pay)) - settled - row.amount}
