"""Money roll-ups: where a station's figure belongs after a merger, the funding-status shape the gateway sums
with finance's answer, and the medium-term public investment periods."""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any

from services.common import units
from services.common.money import execution_rate


@cache
def resolve_station(code: str, year: int, after_end: bool = True) -> str:
    """Where a station's figure belongs in a roll-up for `year`: the station itself, or — for a figure
    dated after the station ceased (`after_end`) — the commune it was merged into, as of 31/12 of the year."""
    if not after_end:
        return code
    return units.successor_on(code, date(year, 12, 31))


class FundingTotals:
    """Adds grouped capital and disbursement figures into the funding-status shape the gateway sums
    with finance's answer: allocated = capital, disbursed = disbursements, by source and by year; and the part of
    the capital a finance allocation funds (`linked`), by allocation, which finance's answer already counts."""

    def __init__(self) -> None:
        self.allocated = 0
        self.disbursed = 0
        self.by_source: dict[str, dict[str, int]] = {}
        self.by_year: dict[str, dict[str, int]] = {}
        self.linked: dict[str, dict[str, Any]] = {}

    def add(self, kind: str, source: str, year: int, amount: int) -> None:
        """`kind` is 'allocated' (capital, by fiscal year) or 'disbursed' (by year of the payment)."""
        setattr(self, kind, getattr(self, kind) + amount)
        self.by_source.setdefault(source, {"allocated": 0, "disbursed": 0})[kind] += amount
        self.by_year.setdefault(str(year), {"allocated": 0, "disbursed": 0})[kind] += amount

    def link(self, allocation_id: int, source: str, year: int, amount: int) -> None:
        """Capital (already added as 'allocated') that finance allocation `allocation_id` funds."""
        slot = self.linked.setdefault(str(allocation_id), {"amount": 0, "source": source, "by_year": {}})
        slot["amount"] += amount
        slot["by_year"][str(year)] = slot["by_year"].get(str(year), 0) + amount

    @property
    def linked_total(self) -> int:
        return sum(slot["amount"] for slot in self.linked.values())

    def merge(self, other: FundingTotals) -> None:
        self.allocated += other.allocated
        self.disbursed += other.disbursed
        for allocation_id, slot in other.linked.items():
            for year, amount in slot["by_year"].items():
                self.link(int(allocation_id), slot["source"], int(year), amount)
        for mine, theirs in ((self.by_source, other.by_source), (self.by_year, other.by_year)):
            for key, fig in theirs.items():
                slot = mine.setdefault(key, {"allocated": 0, "disbursed": 0})
                slot["allocated"] += fig["allocated"]
                slot["disbursed"] += fig["disbursed"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocated": self.allocated,
            "disbursed": self.disbursed,
            "execution_rate": execution_rate(self.allocated, self.disbursed),
            "by_source": {k: dict(v) for k, v in sorted(self.by_source.items())},
            "by_year": {k: dict(v) for k, v in sorted(self.by_year.items())},
        }

    def linked_dict(self) -> dict[str, Any]:
        """The funding answer's linked part: Σ capital funded by finance allocations and the same by allocation
        (its source and the fiscal years), so the gateway counts that money once."""
        return {
            "linked_to_finance": self.linked_total,
            "linked_by_allocation": {
                k: {"amount": v["amount"], "source": v["source"], "by_year": dict(sorted(v["by_year"].items()))}
                for k, v in sorted(self.linked.items(), key=lambda kv: int(kv[0]))
            },
        }


# Medium-term public investment plans (kế hoạch đầu tư công trung hạn, Luật Đầu tư công 2014/2019).
MEDIUM_TERM_PERIODS = ((2016, 2020), (2021, 2025))


def period_name(year: int) -> str:
    for start, end in MEDIUM_TERM_PERIODS:
        if start <= year <= end:
            return f"{start}-{end}"
    return "other"
