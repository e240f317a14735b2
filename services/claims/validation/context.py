"""What the checks need to know beyond the claim itself."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from services.claims.reference import IcdCatalogue, load_icd_catalogue


@dataclass(slots=True)
class ValidationContext:
    envelope_facility: str  # THONGTINDONVI/MACSKCB of the file
    icd: IcdCatalogue = field(default_factory=load_icd_catalogue)
    # MA_LKs already accepted from this file; cross-file duplicates are the service's (duplicate_issue).
    seen_in_file: set[str] = field(default_factory=set)
    # The facility is a commune health station: Luật BHYT Điều 22 k1 điểm e pays 100 % there. The service
    # sets it from the station register it keeps by investment's events (services/claims/stations.py).
    commune_station: bool = False
    # MA_CSKCB of the province's facilities start with its code (Kiên Giang, then An Giang from 2025: 91).
    province: str = "91"
    # A visit costing less than this share of the base salary is paid at 100 % (Luật BHYT Điều 22
    # k1 điểm đ; NĐ 146/2018/NĐ-CP Điều 14). Configurable: guidance may change it.
    low_cost_share: Decimal = Decimal("0.15")
