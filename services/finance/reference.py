"""Finance reference data (`reference.yaml`): funding sources, allocation kinds, capitation settings.

Infrastructure: reads and checks the YAML file once, into the plain values of `domain/reference.py` that the
handlers pass to the rules. Nothing here touches a database.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

import yaml

from services.common.sources import SOURCES
from services.finance.domain.reference import (
    AllocationKind,
    CapitationSettings,
    CapitationYear,
    FinanceReference,
)


def _decimal(value: Any, where: str) -> Decimal:
    if isinstance(value, float | bool):
        raise ValueError(f"{where}: write decimals as quoted strings, got {value!r}")
    try:
        d = Decimal(str(value))
    except InvalidOperation as exc:
        raise ValueError(f"{where}: not a decimal: {value!r}") from exc
    if not d.is_finite() or d < 0:
        raise ValueError(f"{where}: must be a finite non-negative decimal, got {value!r}")
    return d


def parse_reference(data: dict[str, Any]) -> FinanceReference:
    """Build and check the reference data; raises ValueError on any inconsistency."""
    sources = dict(SOURCES)  # one register for every service (services/common/sources.py)
    kinds: dict[str, AllocationKind] = {}
    for code, raw in data["allocation_kinds"].items():
        allowed = raw.get("sources")
        if allowed is not None and not set(allowed) <= set(sources):
            raise ValueError(f"kind {code}: unknown sources {set(allowed) - set(sources)}")
        kinds[code] = AllocationKind(
            code, raw["name"], frozenset(allowed) if allowed is not None else None, raw.get("legal_basis")
        )
    if "budget" not in kinds:
        raise ValueError("allocation kind 'budget' (the default) is missing")
    cap = data["capitation"]
    years = {
        int(y): CapitationYear(
            rate_per_card=int(v["rate_per_card"]) if v.get("rate_per_card") is not None else None,
            coefficient=_decimal(v["coefficient"], f"capitation.years.{y}") if v.get("coefficient") else None,
        )
        for y, v in (cap.get("years") or {}).items()
    }
    share = _decimal(cap["advance_share"], "capitation.advance_share")
    if "station_surplus_share" in cap:
        # The law sets no share (NĐ 146/2018 Điều 25): it is an input of each year's settlement, with its decision.
        raise ValueError("capitation.station_surplus_share: no default share exists; give it per settlement")
    if share > 1:
        raise ValueError("capitation shares are fractions between 0 and 1")
    return FinanceReference(
        sources=sources,
        kinds=kinds,
        capitation=CapitationSettings(share, cap["advance_legal_basis"], years),
    )


@cache
def reference() -> FinanceReference:
    text = resources.files("services.finance").joinpath("reference.yaml").read_text(encoding="utf-8")
    return parse_reference(yaml.safe_load(text))
