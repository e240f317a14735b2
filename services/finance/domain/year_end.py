"""The budget year end (docs/domain.md §3; Luật NSNN 83/2015: the fiscal year is the calendar year).

What an allocation still holds on 31/12 of its fiscal year is either carried over to the next year
(chuyển nguồn: it stays the same allocation's money, paid out in year + 1) or closed (quyết toán: the money
lapses and is never paid out). Each is an append-only record; a correction is a negative record of the same
kind naming the one it reverses. These are their rules, over `AllocationFacts`.
"""

from __future__ import annotations

from datetime import date

from services.common.errors import DomainError, error
from services.common.money import format_vnd
from services.finance.domain.allocations import AllocationFacts
from services.finance.domain.checks import check_positive, check_reversal_size, raise_if

CARRY_OVER = "carry_over"
CLOSE = "close"
KINDS = (CARRY_OVER, CLOSE)
NAMES = {CARRY_OVER: "chuyển nguồn", CLOSE: "quyết toán"}


def year_end_of(fiscal_year: int) -> date:
    return date(fiscal_year, 12, 31)


def year_end_limit(alloc: AllocationFacts, kind: str) -> int:
    """How much a carry-over or a close may still take.

    Carry-over: the money held on 31/12 that nothing has decided yet (`year_end_open`), payments already
    dated in the next year included (a carry-over is what covers them). Close: the same less those payments
    not yet covered by a carry-over, since money already paid out cannot lapse (`remaining`)."""
    if kind == CARRY_OVER:
        return alloc.year_end_open
    return alloc.remaining


def check_year_end(alloc: AllocationFacts, kind: str, amount: int, on: date, today: date) -> None:
    """A carry-over or a close of `amount` dated `on` (`today` in Vietnam time).

    Only an allocation of a year already over; dated on or after 31/12 of its year and not in the future;
    a positive amount no larger than what the allocation still holds for the year (`year_end_limit`)."""
    if kind not in KINDS:
        raise DomainError.one("unknown_year_end_kind", f"Không có loại bút toán cuối năm '{kind}'.", "kind")
    if alloc.fiscal_year >= today.year:
        raise DomainError.one(
            "year_not_ended",
            f"Phân bổ số {alloc.id} thuộc năm ngân sách {alloc.fiscal_year}, chưa kết thúc: chỉ {NAMES[kind]} "
            "phân bổ của năm đã qua.",
            "id",
        )
    errs = check_positive(amount)
    end = year_end_of(alloc.fiscal_year)
    if on < end:
        errs.append(
            error(
                "before_year_end",
                f"Ngày {NAMES[kind]} {on.strftime('%d/%m/%Y')} trước ngày kết thúc năm ngân sách "
                f"{end.strftime('%d/%m/%Y')}.",
                "date",
            )
        )
    elif on > today:
        errs.append(
            error(
                "date_in_future",
                f"Ngày {NAMES[kind]} {on.strftime('%d/%m/%Y')} chưa tới (hôm nay {today.strftime('%d/%m/%Y')}).",
                "date",
            )
        )
    raise_if(errs)
    limit = year_end_limit(alloc, kind)
    if amount > limit:
        raise DomainError.one(
            "exceeds_undisbursed",
            f"Phân bổ số {alloc.id} chỉ còn {format_vnd(max(limit, 0))} chưa giải ngân để {NAMES[kind]} "
            f"(cuối năm {alloc.fiscal_year} còn {format_vnd(alloc.undisbursed_at_year_end)}, đã chuyển nguồn "
            f"{format_vnd(alloc.carried_over)}, đã quyết toán {format_vnd(alloc.closed)}, đã phân bổ xuống cấp "
            f"dưới {format_vnd(alloc.children)}); không thể {NAMES[kind]} {format_vnd(amount)}.",
            "amount",
        )


def check_year_end_reversal(
    alloc: AllocationFacts, kind: str, original_amount: int, already_reversed: int, amount: int, record_id: int
) -> None:
    """Undo (part of) a carry-over or a close: `amount` is the positive size. Never more than the record still
    unreversed; a carry-over never below what the next year already paid out of it (that money is spent).
    Undone money is the year's again, to carry over or close anew."""
    check_reversal_size(
        original_amount, already_reversed, amount, f"Bút toán {NAMES[kind]} số {record_id}", "exceeds_year_end_record"
    )
    if kind == CARRY_OVER and amount > alloc.carried_over_left:
        raise DomainError.one(
            "carried_over_paid",
            f"Số chuyển nguồn của phân bổ số {alloc.id} còn {format_vnd(alloc.carried_over_left)} chưa giải ngân "
            f"(đã giải ngân năm {alloc.fiscal_year + 1}: {format_vnd(alloc.disbursed_after)}); "
            f"không thể hủy {format_vnd(amount)}.",
            "amount",
        )
