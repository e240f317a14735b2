"""A unit's funding for a year across the money streams, its predecessors' money included.

The unit `code` names on `as_of` (by default 31/12 of the year, today for the running year or for all years)
receives what was allocated and paid in `year` to it and to every unit that had become part of it by `as_of`
(services/common/units.py `predecessors`). Finance answers for allocations and their disbursements,
investment for project capital and its disbursements; both are asked in parallel per predecessor and added
here, each predecessor's share kept apart in `by_unit`. Never half an answer: a refusal or an unavailable
service is raised.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.common import clock, units
from services.common.errors import DomainError
from services.common.money import execution_rate
from services.gateway.application.figures import YEAR_END
from services.gateway.application.remote import Call, clients

TIMEOUT = 10.0  # seconds for the whole fan-out; a service not answering by then is a 503


def default_as_of(year: int | None, today: date) -> date:
    return today if year is None else min(date(year, 12, 31), today)


class _Sum:
    def __init__(self) -> None:
        self.allocated = 0
        self.disbursed = 0
        self.by_source: dict[str, dict[str, int]] = {}
        self.by_year: dict[str, dict[str, int]] = {}
        # The budget year end, apart from `allocated` (finance only; figures.YEAR_END).
        self.year_end: dict[str, int] = dict.fromkeys(YEAR_END, 0)
        self.year_end_by_year: dict[str, dict[str, int]] = {}


def _add_answer(total: _Sum, part: _Sum, answer: dict[str, Any]) -> tuple[int, int]:
    """Add one service's funding answer (by_source and by_year in {allocated, disbursed}); returns its totals."""
    a, d = int(answer.get("allocated") or 0), int(answer.get("disbursed") or 0)
    for sink in (total, part):
        sink.allocated += a
        sink.disbursed += d
        for table, rows in ((sink.by_source, answer.get("by_source")), (sink.by_year, answer.get("by_year"))):
            for name, figs in (rows or {}).items():
                row = table.setdefault(name, {"allocated": 0, "disbursed": 0})
                row["allocated"] += int(figs.get("allocated") or 0)
                row["disbursed"] += int(figs.get("disbursed") or 0)
        for key in YEAR_END:
            sink.year_end[key] += int(answer.get(key) or 0)
        for y, figs in (answer.get("year_end_by_year") or {}).items():
            row = sink.year_end_by_year.setdefault(str(y), dict.fromkeys(YEAR_END, 0))
            for key in YEAR_END:
                row[key] += int(figs.get(key) or 0)
    return a, d


def _province_investment(answer: dict[str, Any], year: int | None) -> dict[str, Any]:
    """Investment's medium-term answer (capital/disbursed by period, source and year) as a funding answer."""
    out: dict[str, Any] = {"allocated": 0, "disbursed": 0, "by_source": {}, "by_year": {}}
    for period in answer.get("periods", []):
        for src, figs in period.get("by_source", {}).items():
            for y, f in figs.get("by_year", {}).items():
                if year is not None and y != str(year):
                    continue
                cap, paid = int(f.get("capital") or 0), int(f.get("disbursed") or 0)
                out["allocated"] += cap
                out["disbursed"] += paid
                for table, name in ((out["by_source"], src), (out["by_year"], y)):
                    row = table.setdefault(name, {"allocated": 0, "disbursed": 0})
                    row["allocated"] += cap
                    row["disbursed"] += paid
    return out


def _calls(unit: units.Unit, codes: list[str], year: int | None) -> dict[str, Call]:
    """The RPCs: finance per recipient code (a district or the province covers its own territory at once),
    investment per commune station (the province through its medium-term answer)."""
    if unit.level in ("province", "district"):
        finance = {f"finance:{unit.code}": ("finance", "funding_by_unit", (unit.code, year), {})}
    else:
        finance = {f"finance:{c}": ("finance", "funding_by_unit", (c, year), {}) for c in codes}
    if unit.level == "province":
        investment = {"investment:*": ("investment", "medium_term", (None,), {})}
    else:
        communes = {c.code for c in units.communes()}
        stations = [c for c in codes if c in communes]
        investment = {f"investment:{c}": ("investment", "station_funding", (c, year), {}) for c in stations}
    return finance | investment


def unit_funding(code: str, year: int | None, requested_as_of: date | None) -> dict[str, Any]:
    """The answer of GET /api/v1/units/{code}/funding (UnitFundingAnswerV1, not yet dumped) for a unit the caller
    sees."""
    floor = default_as_of(year, clock.today())
    as_of: date = requested_as_of or floor
    if as_of < floor:
        raise DomainError.one(
            "out_of_range",
            f"Ngày xem bản đồ đơn vị {as_of:%d/%m/%Y} phải từ {floor:%d/%m/%Y} trở đi: tiền của một năm được xem "
            "theo các đơn vị cuối năm đó hoặc sau đó.",
            "as_of",
        )
    units.require_unit(code, as_of, "code")
    unit = units.unit_on(code, as_of)
    assert unit is not None  # require_unit has refused otherwise
    codes = sorted(units.predecessors(code, as_of))
    results = clients().fan_out(_calls(unit, codes, year), timeout=TIMEOUT)
    for value in results.values():
        if isinstance(value, Exception):
            raise value  # a refusal (4xx) or an unavailable service (503): never half an answer

    total, parts = _Sum(), {"finance": _Sum(), "investment": _Sum()}
    shares: dict[str, list[int]] = {}
    by_item: list[dict[str, Any]] = []
    for name, answer in sorted(results.items()):
        service, who = name.split(":", 1)
        if who == "*":
            answer = _province_investment(answer, year)
        a, d = _add_answer(total, parts[service], answer)
        share = shares.setdefault(code if who == "*" else who, [0, 0])
        share[0], share[1] = share[0] + a, share[1] + d
        if service == "finance":
            by_item += [{**row, "unit": who} for row in answer.get("by_item", [])]

    def share_row(c: str) -> dict[str, Any]:
        version = units.unit_on(c, as_of) or next(
            (u for u in reversed(units.unit_versions()[c]) if u.valid_to is not None and u.valid_to < as_of),
            units.unit_versions()[c][-1],
        )
        a, d = shares.get(c, [0, 0])
        return {"code": c, "name": version.name, "valid_to": version.valid_to, "allocated": a, "disbursed": d}

    listed = [code] + [c for c in codes if c != code] if unit.level == "commune" else [code]
    return {
        "unit": code,
        "name": unit.name,
        "level": unit.level,
        "year": year,
        "as_of": as_of,
        "allocated": total.allocated,
        "disbursed": total.disbursed,
        "execution_rate": execution_rate(total.allocated, total.disbursed),
        "by_source": dict(sorted(total.by_source.items())),
        "by_year": dict(sorted(total.by_year.items())),
        **total.year_end,
        "year_end_by_year": dict(sorted(total.year_end_by_year.items())),
        "parts": {k: {"allocated": v.allocated, "disbursed": v.disbursed} for k, v in parts.items()},
        "by_unit": [share_row(c) for c in listed],
        "by_item": by_item,
    }
