"""The shape of finance's reference data: funding sources, allocation kinds, capitation settings.

Plain values: the rules receive them as arguments. Reading them from `reference.yaml` is infrastructure
(services/finance/reference.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.common.sources import Source


@dataclass(frozen=True)
class AllocationKind:
    code: str
    name: str
    sources: frozenset[str] | None  # None: every source
    legal_basis: str | None = None


@dataclass(frozen=True)
class CapitationYear:
    rate_per_card: int | None
    coefficient: Decimal | None


@dataclass(frozen=True)
class CapitationSettings:
    advance_share: Decimal
    advance_legal_basis: str
    years: dict[int, CapitationYear] = field(default_factory=dict)


@dataclass(frozen=True)
class FinanceReference:
    sources: dict[str, Source]
    kinds: dict[str, AllocationKind]
    capitation: CapitationSettings
