"""Money is exact: budget and investment figures are whole VND (int); claim amounts are Decimal(·, 2 places)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

CENT = Decimal("0.01")
RATE_PLACES = Decimal("0.0001")


class MoneyError(ValueError):
    pass


def decimal2(value: object) -> Decimal:
    """A claim amount with 2 decimal places, as in the QĐ 130 standard."""
    if isinstance(value, float):
        raise MoneyError("số tiền không dùng số thực")
    try:
        d = Decimal(str(value).strip()) if not isinstance(value, Decimal) else value
    except InvalidOperation as exc:
        raise MoneyError("số tiền không hợp lệ") from exc
    if not d.is_finite():
        raise MoneyError("số tiền không hợp lệ")
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def round_vnd(value: Decimal) -> int:
    """Round half up to a whole đồng (the usual rounding of Vietnamese public finance)."""
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def format_vnd(amount: int | Decimal) -> str:
    """1234567000 -> '1.234.567.000 đ' (dots group thousands in Vietnamese)."""
    if isinstance(amount, Decimal) and amount != amount.to_integral_value():
        whole, frac = f"{amount:,.2f}".split(".")
        return f"{whole.replace(',', '.')},{frac} đ"
    return f"{int(amount):,}".replace(",", ".") + " đ"


def decimal_str(value: Decimal) -> str:
    """Claim amounts cross the wire as strings with 2 places: never floats."""
    return str(value.quantize(CENT))


def execution_rate(allocated: int, disbursed: int) -> str | None:
    """Tỷ lệ giải ngân = disbursed ÷ allocated as a decimal string with 4 places ("0.4523"), half up; None when
    nothing (or less than nothing) is allocated, so a rate is never divided by zero nor made negative."""
    if allocated <= 0:
        return None
    return str((Decimal(disbursed) / Decimal(allocated)).quantize(RATE_PLACES, rounding=ROUND_HALF_UP))
