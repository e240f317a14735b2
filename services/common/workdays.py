"""Working days (ngày làm việc) in Vietnam: Monday–Friday less the public holidays, plus the Saturdays
worked in a day swap. The days are data (`reference/holidays_vn.csv`, its sources in its header); a date
outside the years it covers is refused rather than guessed."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from datetime import date, timedelta
from functools import cache
from importlib import resources

OFF_KINDS = frozenset({"holiday", "compensatory", "swapped_off"})


class CalendarNotCovered(ValueError):
    """The holiday list does not cover the year asked for."""


@dataclass(frozen=True)
class Calendar:
    first_year: int
    last_year: int
    off: frozenset[date]
    worked_weekend: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        if not self.first_year <= day.year <= self.last_year:
            raise CalendarNotCovered(
                f"Danh mục ngày nghỉ lễ chỉ có các năm {self.first_year}–{self.last_year}, không có năm {day.year}."
            )
        if day in self.worked_weekend:
            return True
        return day.weekday() < 5 and day not in self.off

    def add_working_days(self, start: date, days: int) -> date:
        """The `days`-th working day after `start` ("within 5 working days of receiving" ends on it)."""
        day = start
        left = days
        while left > 0:
            day += timedelta(days=1)
            if self.is_working_day(day):
                left -= 1
        return day


def parse_calendar(lines: list[str]) -> Calendar:
    rows = csv.DictReader(line for line in lines if line.strip() and not line.startswith("#"))
    off: set[date] = set()
    worked: set[date] = set()
    years: set[int] = set()
    for row in rows:
        day = date.fromisoformat(row["date"])
        years.add(day.year)
        if row["kind"] == "working":
            if day.weekday() < 5:
                raise ValueError(f"{day}: a worked day in a swap is a weekend day")
            worked.add(day)
        elif row["kind"] in OFF_KINDS:
            off.add(day)
        else:
            raise ValueError(f"{day}: unknown kind {row['kind']!r}")
    if not years:
        raise ValueError("holiday list is empty")
    missing = set(range(min(years), max(years) + 1)) - years
    if missing:
        raise ValueError(f"holiday list has no line for {sorted(missing)}")
    return Calendar(min(years), max(years), frozenset(off), frozenset(worked))


@cache
def calendar() -> Calendar:
    text = resources.files("services.common.reference").joinpath("holidays_vn.csv").read_text(encoding="utf-8")
    return parse_calendar(text.splitlines())


def add_working_days(start: date, days: int) -> date:
    return calendar().add_working_days(start, days)
