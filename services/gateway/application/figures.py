"""Funding figures as the services answer them, joined by the gateway: plain Python, no Flask, no RPC.

Each money stream lives in one service: finance holds budget allocations (phân bổ) and their disbursements,
investment holds project capital (giao vốn) and its disbursements. The gateway adds them source by source and
year by year; capital that names the allocation funding it is that allocation's money, taken off once
(`count_once`), so each đồng is counted once. The services
already roll an item up over its sub-items and a province item over the same item of its district plans.
BHYT capitation figures (quỹ định suất, tạm ứng, chi phí KCB) are another kind of money and are shown beside
the plan's figures for item II.4, never added into them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from services.common.money import execution_rate

BREAKDOWNS = ("by_source", "by_year", "by_unit")
# The budget year end (finance only, docs/finance.md "Budget year end"): money carried into a year from the one
# before, carried out of it to the next, and closed (lapsed). Shown apart from `allocated`, never added into it:
# carried money stays its own year's allocation, so counting it again in the next year would count it twice.
YEAR_END = ("carried_over_in", "carried_over_out", "closed")
# Item II.4 (tài chính gắn với BHYT toàn dân) and the items above it carry the capitation block.
BHYT_ITEM = "II.4"


def _int(value: Any) -> int:
    """Whole đồng from a service answer (an int, or a string of one); anything else counts as 0."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    return 0


def empty() -> dict[str, Any]:
    return {
        "allocated": 0, "disbursed": 0, "by_source": {}, "by_year": {}, "by_unit": {},
        **dict.fromkeys(YEAR_END, 0), "year_end_by_year": {},
    }


def _year_end_by_year(value: Any) -> dict[str, dict[str, int]]:
    """`year_end_by_year` of an answer: {"YYYY": {carried_over_in, carried_over_out, closed}}."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(year): {k: _int(slot.get(k)) for k in YEAR_END} for year, slot in value.items() if isinstance(slot, Mapping)
    }


def normalise(answer: Any) -> dict[str, Any]:
    """One service's funding answer reduced to the fields the gateway adds up."""
    out = empty()
    if not isinstance(answer, Mapping):
        return out
    out["allocated"] = _int(answer.get("allocated"))
    out["disbursed"] = _int(answer.get("disbursed"))
    for key in YEAR_END:
        out[key] = _int(answer.get(key))
    out["year_end_by_year"] = _year_end_by_year(answer.get("year_end_by_year"))
    for breakdown in BREAKDOWNS:
        values = answer.get(breakdown)
        if isinstance(values, Mapping):
            for key, pair in values.items():
                if isinstance(pair, Mapping):
                    out[breakdown][str(key)] = {
                        "allocated": _int(pair.get("allocated")),
                        "disbursed": _int(pair.get("disbursed")),
                    }
    return out


def add(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """The sum of normalised figures, key by key, with the execution rate of the whole."""
    total = empty()
    for part in parts:
        total["allocated"] += part["allocated"]
        total["disbursed"] += part["disbursed"]
        for key in YEAR_END:
            total[key] += part.get(key, 0)
        for year, slot in part.get("year_end_by_year", {}).items():
            into = total["year_end_by_year"].setdefault(year, dict.fromkeys(YEAR_END, 0))
            for key in YEAR_END:
                into[key] += slot.get(key, 0)
        for breakdown in BREAKDOWNS:
            for key, pair in part[breakdown].items():
                slot = total[breakdown].setdefault(key, {"allocated": 0, "disbursed": 0})
                slot["allocated"] += pair["allocated"]
                slot["disbursed"] += pair["disbursed"]
    return finish(total)


def finish(figures: dict[str, Any]) -> dict[str, Any]:
    """Sorted breakdowns and the rate, for a stable answer."""
    out = {
        "allocated": figures["allocated"],
        "disbursed": figures["disbursed"],
        "execution_rate": execution_rate(figures["allocated"], figures["disbursed"]),
    }
    for breakdown in BREAKDOWNS:
        out[breakdown] = dict(sorted(figures[breakdown].items()))
    for key in YEAR_END:
        out[key] = figures.get(key, 0)
    out["year_end_by_year"] = dict(sorted(figures.get("year_end_by_year", {}).items()))
    return out


def tree_map(answer: Any) -> dict[str, dict[str, Any]]:
    """A service's tree answer (`{"items": [...]}`, a list of items, or a mapping by code) by item code."""
    items: Any = answer
    if isinstance(answer, Mapping) and isinstance(answer.get("items"), (list, Mapping)):
        items = answer["items"]
    if isinstance(items, list):
        return {str(i["code"]): normalise(i) for i in items if isinstance(i, Mapping) and "code" in i}
    if isinstance(items, Mapping):
        return {str(code): normalise(v) for code, v in items.items() if isinstance(v, Mapping)}
    return {}


def complete_tree(codes_parents: list[tuple[str, str | None]], figures: dict[str, dict[str, Any]]) -> None:
    """Fill in items a service did not report from their direct sub-items (deepest first), so an ancestor
    always shows at least what is below it. Items the service did report are kept as they are (rolled up)."""
    children: dict[str, list[str]] = {}
    for code, parent in codes_parents:
        if parent is not None:
            children.setdefault(parent, []).append(code)
    for code, _parent in sorted(codes_parents, key=lambda cp: cp[0].count("."), reverse=True):
        if code not in figures and code in children:
            below = [figures[c] for c in children[code] if c in figures]
            if below:
                summed = add(below)
                figures[code] = {k: summed[k] for k in ("allocated", "disbursed", *BREAKDOWNS, *YEAR_END)}
                figures[code]["year_end_by_year"] = summed["year_end_by_year"]


def year_end_by_source(
    allocations: Iterable[Mapping[str, Any]], codes: Iterable[str], year: int | None
) -> dict[str, dict[str, dict[str, int]]]:
    """The budget year end per item (sub-items included) and source, from finance's allocations (each carries
    over or closes only what it itself holds, so their sum counts each đồng once): for `year`, what its own
    allocations carried out and closed, and what the year before's carried in; for the whole period (None)
    every carry-over is both out of its year and into the next. {code: {source: {carried_over_in, …}}}."""
    rows = [a for a in allocations if _int(a.get("carried_over")) or _int(a.get("closed"))]
    out: dict[str, dict[str, dict[str, int]]] = {}
    for code in codes:
        for a in rows:
            item = str(a.get("item_code") or "")
            if item != code and not item.startswith(code + "."):
                continue
            fiscal_year = _int(a.get("fiscal_year"))
            if year is not None and fiscal_year not in (year, year - 1):
                continue
            carried, closed = _int(a.get("carried_over")), _int(a.get("closed"))
            slot = out.setdefault(code, {}).setdefault(str(a.get("source") or ""), dict.fromkeys(YEAR_END, 0))
            if year is None or fiscal_year == year:
                slot["carried_over_out"] += carried
                slot["closed"] += closed
            if year is None or fiscal_year == year - 1:
                slot["carried_over_in"] += carried
    return {code: dict(sorted(by_source.items())) for code, by_source in out.items()}


def carries_bhyt(code: str) -> bool:
    """II.4 itself and the items that contain it (II)."""
    return code == BHYT_ITEM or BHYT_ITEM.startswith(code + ".")


# --------------------------------------------------------------------------- capital funded by an allocation
#
# A II.5 allocation (finance) and the project capital it pays for (investment) are the same money recorded in
# both services when the capital names the allocation (`funded_by_allocation`, issue 16). Investment answers that
# capital apart (`linked_by_allocation`); the join takes it off once for each allocation finance's figure of the
# same scope counts, and shows it as `linked_capital`.


def links(answer: Any) -> dict[str, dict[str, Any]]:
    """Investment's capital funded by finance allocations, by allocation id: {amount, source, by_year}."""
    raw = answer.get("linked_by_allocation") if isinstance(answer, Mapping) else None
    out: dict[str, dict[str, Any]] = {}
    if not isinstance(raw, Mapping):
        return out
    for key, slot in raw.items():
        if isinstance(slot, Mapping):
            years = slot.get("by_year")
            out[str(key)] = {
                "amount": _int(slot.get("amount")),
                "source": str(slot.get("source") or ""),
                "by_year": {str(y): _int(v) for y, v in years.items()} if isinstance(years, Mapping) else {},
            }
    return out


def tree_links(answer: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """`links` of each item of investment's tree answer, by item code."""
    items = answer.get("items") if isinstance(answer, Mapping) else None
    if isinstance(items, list):
        return {str(i["code"]): links(i) for i in items if isinstance(i, Mapping) and "code" in i}
    if isinstance(items, Mapping):
        return {str(code): links(v) for code, v in items.items()}
    return {}


def count_once(total: dict[str, Any], linked: dict[str, dict[str, Any]], counted: Iterable[str]) -> dict[str, Any]:
    """`total` (added figures) less the linked capital of the allocations finance's figure already counts
    (`counted`), by source and year too, with that capital as `linked_capital`."""
    out = {**total, **{b: {k: dict(v) for k, v in total.get(b, {}).items()} for b in BREAKDOWNS}}
    out["year_end_by_year"] = {y: dict(v) for y, v in total.get("year_end_by_year", {}).items()}
    amount = 0
    for key in sorted(set(counted)):
        slot = linked.get(key)
        if slot is None:
            continue
        amount += slot["amount"]
        if slot["source"] in out["by_source"]:
            out["by_source"][slot["source"]]["allocated"] -= slot["amount"]
        for year, value in slot["by_year"].items():
            if year in out["by_year"]:
                out["by_year"][year]["allocated"] -= value
    out["allocated"] = total["allocated"] - amount
    out["execution_rate"] = execution_rate(out["allocated"], out["disbursed"])
    out["linked_capital"] = amount
    return out
