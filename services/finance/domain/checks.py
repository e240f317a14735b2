"""Small refusals every finance command shares: positive amounts, deciding documents, facility codes,
decimals typed as text. Each returns a list of errors (to gather several) or raises a `DomainError`."""

from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from services.common import facility_code, units
from services.common.errors import DomainError, error
from services.common.money import format_vnd


def raise_if(errors: list[dict]) -> None:
    if errors:
        raise DomainError(errors)


def check_positive(amount: int, field: str = "amount") -> list[dict]:
    if amount <= 0:
        return [error("amount_not_positive", "Số tiền phải lớn hơn 0 đồng.", field)]
    return []


def check_decision(number: str | None, on: date | None, today: date, prefix: str = "decision") -> list[dict]:
    """A deciding document needs its number, and cannot be dated in the future."""
    out = []
    if not number or not number.strip():
        out.append(error("invalid_decision", "Thiếu số quyết định (văn bản giao/điều chỉnh).", f"{prefix}_no"))
    if on is None:
        out.append(error("invalid_decision", "Thiếu ngày quyết định.", f"{prefix}_date"))
    elif on > today:
        out.append(
            error(
                "invalid_decision",
                f"Ngày quyết định {on.strftime('%d/%m/%Y')} chưa tới (sau ngày {today.strftime('%d/%m/%Y')}).",
                f"{prefix}_date",
            )
        )
    return out


def check_unit(code: str, on: date | None = None, field: str = "recipient_unit") -> list[dict]:
    """The recipient is a unit in force on the document's date (`on`), else unit_not_in_force naming its
    successor (services/common/units.py holds the one rule)."""
    return units.check_unit(code, on, field)


def parse_facility(code: object, field: str = "facility_code") -> str:
    """A facility code as finance stores it (services/common/facility_code.py), surrounding spaces forgiven."""
    text = code.strip() if isinstance(code, str) else None
    if not facility_code.is_code(text):
        raise DomainError.one("invalid_facility", f"{facility_code.MESSAGE}, không phải {code!r}.", field)
    return text  # type: ignore[return-value]


def parse_decimal(value: object, field: str) -> Decimal:
    """A decimal given as a string or an exact number; floats are refused (they are not exact)."""
    if isinstance(value, bool | float):
        raise DomainError.one("invalid_decimal", 'Hệ số phải là chuỗi số thập phân, ví dụ "1.05".', field)
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise DomainError.one("invalid_decimal", f"Giá trị {value!r} không phải số thập phân.", field) from None
    if not d.is_finite() or d <= 0:
        raise DomainError.one("invalid_decimal", "Hệ số phải là số dương.", field)
    return d


def check_reversal_size(
    original_amount: int, already_reversed: int, amount: int, record: str, exceeds_code: str
) -> None:
    """The one rule of every reversal (a payment's, a year-end record's): a reversal is not itself reversed,
    nothing fully reversed is reversed again, and a reversal never undoes more than is left of the original.
    `record` names the original for people ("Lần giải ngân số 7")."""
    if original_amount <= 0:
        raise DomainError.one("not_reversible", f"{record} là một bút toán hủy, không hủy tiếp được.", "id")
    left = original_amount - already_reversed
    if left == 0:
        raise DomainError.one("already_reversed", f"{record} đã bị hủy toàn bộ.", "id")
    raise_if(check_positive(amount))
    if amount > left:
        raise DomainError.one(
            exceeds_code,
            f"Chỉ còn {format_vnd(left)} của {record[0].lower() + record[1:]} chưa bị hủy; "
            f"không thể hủy {format_vnd(amount)}.",
            "amount",
        )
