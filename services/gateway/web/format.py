"""How the pages write numbers and dates: the Vietnamese way (1.234.567.000 đ, 8,7 %, 22/10/2018).

Plain functions, registered as Jinja filters by web/__init__.py. Money arrives as integers of đồng (budget,
investment) or exact decimal strings with 2 places (claims): neither is ever turned into a float.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from services.common import clock
from services.common.money import execution_rate
from services.gateway.errors import field_label
from services.gateway.web.claim_codes import code_label

DONG = "đ"
NBSP = "\u00a0"  # keeps "1.234 đ" on one line


def _group(digits: str) -> str:
    """'1234567' -> '1.234.567' (Vietnamese thousands separator is the dot)."""
    out = []
    while len(digits) > 3:
        out.append(digits[-3:])
        digits = digits[:-3]
    out.append(digits)
    return ".".join(reversed(out))


def _decimal(value: Any) -> Decimal | None:
    if value is None or isinstance(value, (bool, float)):
        return None
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def number(value: Any, places: int = 0) -> str:
    """1234567 -> '1.234.567'; with places, '1.234.567,50' (decimal comma). '' for what is not a number."""
    d = _decimal(value)
    if d is None:
        return ""
    q = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    sign = "-" if q < 0 else ""
    whole, _, frac = f"{abs(q):f}".partition(".")
    return sign + _group(whole) + ("," + frac if places else "")


def vnd(value: Any) -> str:
    """Whole đồng: 1234567000 -> '1.234.567.000 đ'."""
    text = number(value)
    return f"{text}{NBSP}{DONG}" if text else "–"


def money2(value: Any) -> str:
    """A claim amount (decimal string, 2 places): '1903725.50' -> '1.903.725,50 đ'."""
    text = number(value, 2)
    return f"{text}{NBSP}{DONG}" if text else "–"


def percent(rate: Any, places: int = 1) -> str:
    """An execution rate as the services give it ('0.0870') -> '8,7 %'; '–' when there is none."""
    d = _decimal(rate)
    if d is None:
        return "–"
    return f"{number(d * 100, places)}{NBSP}%"


def rate(pair: Any) -> str | None:
    """The execution rate of {"allocated", "disbursed"} (disbursed ÷ allocated, services.common.money)."""
    if not isinstance(pair, dict):
        return None
    return execution_rate(int(pair.get("allocated") or 0), int(pair.get("disbursed") or 0))


def bar_width(rate: Any) -> str:
    """The width of a progress bar for a rate, clamped to 0–100 %, as a CSS percentage."""
    d = _decimal(rate)
    if d is None:
        return "0%"
    pct = min(Decimal(100), max(Decimal(0), d * 100))
    return f"{pct.quantize(Decimal('0.1'))}%"


def _when(value: Any) -> Any:
    """An ISO text as its date or datetime; a moment with a zone (a stored instant: uploaded, recorded, last
    seen) moved to Việt Nam's clock. A datetime without one (NGAY_VAO of a claim) is a local time as written."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
        except ValueError:
            return value
    if isinstance(value, datetime) and value.tzinfo is not None:
        value = clock.in_vietnam(value)
    return value


def vn_date(value: Any) -> str:
    """'2018-10-22' (or a date/datetime) -> '22/10/2018'; a datetime keeps its time ('22/10/2018 08:30'), read on
    Việt Nam's clock when it is a moment: '2024-07-15T02:30:00+00:00' -> '15/07/2024 09:30'."""
    if value is None or value == "":
        return ""
    value = _when(value)
    if isinstance(value, datetime):
        return value.strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return str(value)


def vn_day(value: Any) -> str:
    """The day alone, in Việt Nam: '2024-07-15T20:00:00+00:00' -> '16/07/2024'."""
    if value is None or value == "":
        return ""
    value = _when(value)
    return value.strftime("%d/%m/%Y") if isinstance(value, date) else str(value)


def period(value: str | None) -> str:
    """'2024-Q3' -> 'Quý III/2024'; '2024-07' -> 'Tháng 7/2024'; '2024' -> 'Năm 2024'."""
    if not value:
        return ""
    roman = {"1": "I", "2": "II", "3": "III", "4": "IV"}
    if "-Q" in value:
        year, q = value.split("-Q", 1)
        return f"Quý {roman.get(q, q)}/{year}"
    if "-" in value:
        year, month = value.split("-", 1)
        return f"Tháng {int(month)}/{year}" if month.isdigit() else value
    return f"Năm {value}"


FILTERS = {
    "vnd": vnd,
    "money2": money2,
    "number": number,
    "percent": percent,
    "bar_width": bar_width,
    "rate": rate,
    "vn_date": vn_date,
    "vn_day": vn_day,
    "period": period,
    "code_label": code_label,  # claim issue codes named in Vietnamese (web/claim_codes.py)
    "field_label": field_label,  # error messages on pages name the field in Vietnamese
}
