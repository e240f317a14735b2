"""Periods as the contract writes them: `2024` (year), `2024-Q3` (quarter), `2024-07` (month)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from services.common.errors import DomainError

_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class PeriodError(ValueError):
    pass


@dataclass(frozen=True, order=True)
class Quarter:
    year: int
    quarter: int

    @classmethod
    def parse(cls, text: str) -> Quarter:
        m = _QUARTER.match(text.strip()) if isinstance(text, str) else None
        if not m:
            raise PeriodError("kỳ phải có dạng YYYY-Qn, ví dụ 2024-Q3")
        return cls(int(m.group(1)), int(m.group(2)))

    @classmethod
    def of_month(cls, year: int, month: int) -> Quarter:
        return cls(year, (month - 1) // 3 + 1)

    @property
    def months(self) -> tuple[int, int, int]:
        first = (self.quarter - 1) * 3 + 1
        return (first, first + 1, first + 2)

    @property
    def start(self) -> date:
        return date(self.year, self.months[0], 1)

    @property
    def end(self) -> date:
        """The last day of the quarter."""
        nxt = self.next()
        return date.fromordinal(nxt.start.toordinal() - 1)

    def previous(self) -> Quarter:
        return Quarter(self.year - 1, 4) if self.quarter == 1 else Quarter(self.year, self.quarter - 1)

    def next(self) -> Quarter:
        return Quarter(self.year + 1, 1) if self.quarter == 4 else Quarter(self.year, self.quarter + 1)

    def __str__(self) -> str:
        return f"{self.year}-Q{self.quarter}"


def parse_period(text: str) -> tuple[date, date]:
    """Any of the three forms -> (first day, last day)."""
    text = (text or "").strip()
    if m := _YEAR.match(text):
        y = int(m.group(1))
        return date(y, 1, 1), date(y, 12, 31)
    if _QUARTER.match(text):
        q = Quarter.parse(text)
        return q.start, q.end
    if m := _MONTH.match(text):
        y, mo = int(m.group(1)), int(m.group(2))
        nxt = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        return date(y, mo, 1), date.fromordinal(nxt.toordinal() - 1)
    raise PeriodError("kỳ phải có dạng YYYY, YYYY-Qn hoặc YYYY-MM")


_ROMAN = {"I": 1, "II": 2, "III": 3, "IV": 4}
# The forms people type for a quarter: the contract's "2024-Q3", the app's own display "Quý III/2024",
# "Q3/2024", "quý 3 năm 2024", "3/2024", "2024 Q3". Case, spaces and the diacritics of "Quý" are forgiven.
_QUARTER_FIRST = re.compile(
    r"^(?:qu[yý]|q)?\s*(I{1,3}|IV|[1-4])\s*(?:/|-|\.|\s)\s*(?:n[aă]m\s*)?(\d{4})$", re.IGNORECASE
)
_YEAR_FIRST = re.compile(r"^(\d{4})\s*[-/ ]?\s*(?:qu[yý]|q)\s*(I{1,3}|IV|[1-4])$", re.IGNORECASE)


def read_quarter(text: str) -> Quarter:
    """The one reader of a quarter typed by a person (pages, forms): every form above -> Quarter.
    Anything else is refused with a Vietnamese message naming the accepted forms."""
    t = re.sub(r"\s+", " ", text.strip()) if isinstance(text, str) else ""
    m = _QUARTER_FIRST.match(t)
    if m:
        number, year = m.group(1), m.group(2)
    elif m := _YEAR_FIRST.match(t):
        year, number = m.group(1), m.group(2)
    else:
        raise PeriodError("Kỳ phải là một quý, ví dụ Quý III/2024, Q3/2024 hoặc 2024-Q3.")
    quarter = int(number) if number.isdigit() else _ROMAN[number.upper()]
    return Quarter(int(year), quarter)



def quarter_or_refuse(text: object, field: str = "period") -> Quarter:
    """A quarter as the contract writes it ("2024-Q3"), or the named refusal every service answers with."""
    try:
        return Quarter.parse(text)  # type: ignore[arg-type]
    except PeriodError:
        raise DomainError.one(
            "invalid_period", f"Kỳ phải có dạng YYYY-Qn (ví dụ 2024-Q3), không phải {text!r}.", field
        ) from None
