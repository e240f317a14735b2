"""Periods as the contract writes them: `2024` (year), `2024-Q3` (quarter), `2024-07` (month)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

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
