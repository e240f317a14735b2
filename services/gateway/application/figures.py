"""Funding figures as the services answer them, joined by the gateway: plain Python, no Flask, no RPC.

Each money stream lives in one service and is distinct by construction: finance holds budget allocations
(phân bổ) and their disbursements, investment holds project capital (giao vốn) and its disbursements. So the
gateway adds them source by source and year by year, and each đồng is still counted once. The services
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
    return {"allocated": 0, "disbursed": 0, "by_source": {}, "by_year": {}, "by_unit": {}}


def normalise(answer: Any) -> dict[str, Any]:
    """One service's funding answer reduced to the fields the gateway adds up."""
    out = empty()
    if not isinstance(answer, Mapping):
        return out
    out["allocated"] = _int(answer.get("allocated"))
    out["disbursed"] = _int(answer.get("disbursed"))
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
                figures[code] = {k: summed[k] for k in ("allocated", "disbursed", *BREAKDOWNS)}


def carries_bhyt(code: str) -> bool:
    """II.4 itself and the items that contain it (II)."""
    return code == BHYT_ITEM or BHYT_ITEM.startswith(code + ".")
