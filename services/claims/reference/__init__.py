"""Reference data the claim checks need, shipped as package data.

- ``icd10_qd4469.csv``: the 12,137 ICD-10 codes of QĐ 4469/QĐ-BYT (code without dot, †/* mark).
- ``icd10_qd4469_restrictions.csv``: the same appendix's sheets A2 (not a main diagnosis),
  A3 (age) and A4 (sex), trimmed to codes of the list. Sheets A1 (dagger/asterisk pairs) and E1
  (outside DRG groups) are not used: they serve DRG grouping, not claim intake.
- ``luong_co_so.csv``: the base salary by effective date (for the 15 % low-cost rule).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from functools import lru_cache
from importlib import resources


@dataclass(frozen=True, slots=True)
class AgeRule:
    unit: str  # "days" | "years"
    low: int | None  # inclusive
    high: int | None  # inclusive
    text: str  # as the appendix writes it, e.g. "0-365 ngày", ">15 tuổi"

    def allows(self, age: int) -> bool:
        return (self.low is None or age >= self.low) and (self.high is None or age <= self.high)


def _age_rule(kind: str, value: str) -> AgeRule:
    unit = "days" if kind == "age_days" else "years"
    label = f"{value} {'ngày' if unit == 'days' else 'tuổi'}"
    if value.startswith(">="):
        return AgeRule(unit, int(value[2:]), None, label)
    if value.startswith(">"):
        return AgeRule(unit, int(value[1:]) + 1, None, label)
    low, high = value.split("-")
    return AgeRule(unit, int(low), int(high), label)


@dataclass(frozen=True, slots=True)
class IcdCatalogue:
    codes: frozenset[str]  # without dot: "I10", "J069"
    asterisk: frozenset[str]
    not_main: frozenset[str]
    sex: dict[str, str] = field(default_factory=dict)  # code -> "F" | "M"
    age: dict[str, tuple[AgeRule, ...]] = field(default_factory=dict)

    @staticmethod
    def key(code: str) -> str:
        return code.replace(".", "")

    def __contains__(self, code: str) -> bool:
        return code.replace(".", "") in self.codes

    def restriction(self, table: dict[str, object], code: str) -> object:
        """Exact code first, then its 3-character category."""
        key = code.replace(".", "")
        found = table.get(key)
        return found if found is not None else table.get(key[:3])


def _rows(name: str) -> list[dict[str, str]]:
    with resources.files(__package__).joinpath(name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@lru_cache(maxsize=1)
def load_icd_catalogue() -> IcdCatalogue:
    rows = _rows("icd10_qd4469.csv")
    codes = frozenset(r["code"] for r in rows)
    asterisk = frozenset(r["code"] for r in rows if r["mark"] == "*")
    not_main: set[str] = set()
    sex: dict[str, str] = {}
    age: dict[str, list[AgeRule]] = {}
    for r in _rows("icd10_qd4469_restrictions.csv"):
        kind, code = r["kind"], r["code"]
        if kind == "not_main_diagnosis":
            not_main.add(code)
        elif kind == "sex":
            sex[code] = r["value"]
        else:
            age.setdefault(code, []).append(_age_rule(kind, r["value"]))
    return IcdCatalogue(codes, asterisk, frozenset(not_main), sex, {k: tuple(v) for k, v in age.items()})


@lru_cache(maxsize=1)
def _base_salaries() -> tuple[tuple[date, Decimal], ...]:
    rows = _rows("luong_co_so.csv")
    return tuple(sorted((date.fromisoformat(r["effective_from"]), Decimal(r["amount"])) for r in rows))


def base_salary(on: date) -> Decimal | None:
    """Mức lương cơ sở in force on a day (None before the first one we ship)."""
    found = None
    for start, amount in _base_salaries():
        if start <= on:
            found = amount
    return found
