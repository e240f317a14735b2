"""A facility's quarter after it ends (Luật BHYT Điều 32 as amended by Luật 51/2024; NĐ 146/2018 Điều 36 k5):
its settlement report gives the next quarter's advance; BHXH's assessed result, against the advances, says
what is still owed and when; the payment (or the refund or offset of an excess advance) settles it. Every
step has a due date, and is late or overdue against it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from services.common import workdays
from services.common.errors import DomainError, error
from services.common.money import format_vnd, round_vnd
from services.common.periods import Quarter
from services.finance.domain.capitation import parse_fund_period
from services.finance.domain.checks import check_positive, raise_if

ADVANCE_WORKING_DAYS = 5  # the advance: within 5 working days of receiving the report
REPORT_DAYS = 15  # the report: within the first 15 days of the next quarter
PAYMENT_DAYS = 10  # the payment: within 10 days of the result
LONG_Q4_FROM = date(2025, 7, 1)  # Luật 51/2024: 60 days for quarter 4 from 01/7/2025


@dataclass(frozen=True)
class QuarterFigures:
    """A facility-quarter as the claims service answers it (its `reconciliation`), read exactly."""

    count: int
    assessed: int
    total: Decimal
    approved: Decimal
    pending: Decimal
    fee_for_service: Decimal
    capitation: Decimal
    drg: Decimal

    @classmethod
    def read(cls, figures: dict[str, Any]) -> QuarterFigures:
        c = figures["claims"]
        by = c["by_payment_method"]
        return cls(
            count=int(c["count"]),
            assessed=int(c["assessed"]),
            total=Decimal(c["requested"]),
            approved=Decimal(c["approved"]),
            pending=Decimal(c["pending"]),
            fee_for_service=Decimal(by["fee_for_service"]),
            capitation=Decimal(by["capitation"]),
            drg=Decimal(by["drg"]),
        )


def quarters_owing_report(funds: Iterable[tuple[str, str, int]]) -> set[tuple[str, str]]:
    """(facility, quarter) of every quarter a facility owes a settlement report for (Luật BHYT Điều 32 k2): the
    quarters it holds a capitation fund for. `funds`: (facility, period, fund) of the fund records in the order they
    were recorded, so the last of a facility and period is the one in force. A year's fund (`YYYY`) covers each of
    its four quarters, a provisional one (`YYYY-Qn`) its own quarter; a fund of 0 in force (no cards) owes nothing."""
    in_force = {(facility, period): fund for facility, period, fund in funds}
    owing: set[tuple[str, str]] = set()
    for (facility, period), fund in in_force.items():
        if fund <= 0:
            continue
        year, quarter = parse_fund_period(period)
        quarters = [quarter] if quarter is not None else [Quarter(year, n) for n in range(1, 5)]
        owing.update((facility, str(q)) for q in quarters)
    return owing


def result_days(quarter: Quarter, received: date) -> int:
    """Days BHXH has to notify its assessed result after receiving the report."""
    return 60 if quarter.quarter == 4 and received >= LONG_Q4_FROM else 30


def report_due(quarter: Quarter) -> date:
    return quarter.next().start + timedelta(days=REPORT_DAYS - 1)


def advance_of(total: Decimal, share: Decimal) -> int:
    """80% (`share`, the reference data's advance_share) of the report's BHYT cost, all payment methods, half up
    to the đồng."""
    return round_vnd(Decimal(total) * share)


@dataclass(frozen=True)
class ReportTerms:
    advance: int
    advance_period: Quarter
    advance_due: date
    result_due: date


def report_terms(quarter: Quarter, received: date, total: Decimal, today: date, share: Decimal) -> ReportTerms:
    if received <= quarter.end:
        raise DomainError.one(
            "report_before_quarter_end",
            f"Báo cáo quyết toán quý {quarter} chỉ nhận được sau khi hết quý ({quarter.end:%d/%m/%Y}).",
            "received_date",
        )
    if received > today:
        raise DomainError.one("date_in_future", "Ngày nhận báo cáo không được sau hôm nay.", "received_date")
    try:
        advance_due = workdays.add_working_days(received, ADVANCE_WORKING_DAYS)
    except workdays.CalendarNotCovered as exc:
        raise DomainError.one("calendar_not_covered", str(exc), "received_date") from None
    return ReportTerms(
        advance_of(total, share),
        quarter.next(),
        advance_due,
        received + timedelta(days=result_days(quarter, received)),
    )


def payment_due(result_date: date) -> date:
    return result_date + timedelta(days=PAYMENT_DAYS)


def check_result_date(received: date, result_date: date, today: date) -> None:
    """BHXH notifies its result after it received the report, and not in the future."""
    if result_date < received or result_date > today:
        raise DomainError.one(
            "invalid_date",
            f"Ngày thông báo kết quả phải từ ngày nhận báo cáo ({received:%d/%m/%Y}) đến hôm nay.",
            "result_date",
        )


def check_payment_date(result_date: date, paid: date, today: date) -> None:
    if paid < result_date or paid > today:
        raise DomainError.one("invalid_date", "Ngày thanh toán phải từ ngày thông báo kết quả đến hôm nay.", "date")


PAYMENT_KINDS = ("payment", "refund", "offset")


def check_payment(
    quarter: Quarter, to_pay: int, settled: int, kind: str, amount: int, offset_period: Quarter | None
) -> None:
    """`to_pay` > 0: BHXH pays it; < 0: the excess advance comes back as a refund or an offset against a later
    quarter. Never more than is left (`settled`: what is already recorded)."""
    errs = check_positive(amount)
    if kind not in PAYMENT_KINDS:
        errs.append(error("invalid_kind", "Loại phải là payment, refund hoặc offset.", "kind"))
    elif to_pay >= 0 and kind != "payment":
        errs.append(error("no_excess_advance", "Quý này không có tạm ứng thừa để thu hồi hay bù trừ.", "kind"))
    elif to_pay < 0 and kind == "payment":
        errs.append(
            error(
                "excess_advance",
                f"Tạm ứng vượt số được duyệt {format_vnd(-to_pay)}: ghi thu hồi (refund) hoặc bù trừ (offset).",
                "kind",
            )
        )
    if kind == "offset":
        if offset_period is None:
            errs.append(error("required", "Bù trừ phải ghi quý được trừ (offset_period).", "offset_period"))
        elif offset_period <= quarter:
            errs.append(error("invalid_period", "Quý bù trừ phải sau quý quyết toán.", "offset_period"))
    elif offset_period is not None:
        errs.append(error("not_applicable", "Chỉ bù trừ mới ghi quý được trừ.", "offset_period"))
    if not errs and settled + amount > abs(to_pay):
        errs.append(
            error(
                "exceeds_result",
                f"Còn {format_vnd(abs(to_pay) - settled)} phải thanh toán theo kết quả quý {quarter}; "
                f"không ghi {format_vnd(amount)}.",
                "amount",
            )
        )
    raise_if(errs)


def step(due: date | None, done: date | None, today: date) -> dict:
    """A dated step: when it was due, when it happened, and whether it is late or overdue now."""
    return {
        "due": due.isoformat() if due else None,
        "date": done.isoformat() if done else None,
        "late": bool(due and done and done > due),
        "overdue": bool(due and done is None and today > due),
    }
