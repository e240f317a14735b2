"""Assessment (giám định) rules in plain Python: what BHXH may record as its result for a claim.

- an item names a claim accepted for the facility (`unknown_claim` otherwise);
- `approved_amount` is between 0 and the claim's `T_BHTT` (`amount_negative`, `approved_exceeds_requested`);
- paying less than asked needs a reason from the catalog (`reason_required`, `unknown_reason`), and the
  reason "khác" needs a note (`note_required`) — partial approval is a lower amount with its reason;
- one claim appears once per batch (`duplicate_item`).
A later assessment of the same claim is a new row that supersedes the earlier one (append-only).
The reason catalog itself is read from services/claims/reasons.yaml by services/claims/reasons.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from services.common.errors import error
from services.common.money import CENT, decimal_str

ZERO = Decimal("0.00")


@dataclass(frozen=True)
class Reason:
    code: str
    kind: str  # tu_choi (từ chối thanh toán) | xuat_toan (xuất toán)
    title: str
    basis: str | None = None
    requires_note: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "kind": self.kind,
            "title": self.title,
            "basis": self.basis,
            "requires_note": self.requires_note,
        }


@dataclass(frozen=True)
class Item:
    ma_lk: str
    approved_amount: Decimal
    reason_code: str | None = None
    note: str | None = None


def outcome(requested: Decimal, approved: Decimal) -> str:
    """approved (in full) | partial | refused (nothing paid)."""
    if approved >= requested:
        return "approved"
    return "refused" if approved == ZERO else "partial"


def check(items: list[Item], requested: Mapping[str, Decimal], catalog: Mapping[str, Reason]) -> list[dict[str, Any]]:
    """Every refusal of a batch at once, each naming its item (`items.<i>.<field>`). `requested` maps the
    MA_LK of each claim accepted for the facility to its T_BHTT."""
    errors: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, item in enumerate(items):
        where = f"items.{i}"
        if item.ma_lk in seen:
            errors.append(
                error("duplicate_item", f"MA_LK {item.ma_lk} xuất hiện hơn một lần trong lần gửi.", f"{where}.ma_lk")
            )
            continue
        seen.add(item.ma_lk)
        asked = requested.get(item.ma_lk)
        if asked is None:
            errors.append(
                error(
                    "unknown_claim",
                    f"Không có hồ sơ MA_LK {item.ma_lk} đã được tiếp nhận của cơ sở này.",
                    f"{where}.ma_lk",
                )
            )
            continue
        if item.approved_amount < ZERO:
            errors.append(error("amount_negative", "Số tiền chấp nhận không được âm.", f"{where}.approved_amount"))
            continue
        if item.approved_amount > asked:
            errors.append(
                error(
                    "approved_exceeds_requested",
                    f"Số tiền chấp nhận {item.approved_amount} lớn hơn số đề nghị quỹ BHYT thanh toán "
                    f"(T_BHTT) {asked}.",
                    f"{where}.approved_amount",
                )
            )
            continue
        if item.reason_code is not None and item.reason_code not in catalog:
            errors.append(
                error(
                    "unknown_reason",
                    f"Mã lý do {item.reason_code} không có trong danh mục lý do từ chối/xuất toán.",
                    f"{where}.reason_code",
                )
            )
            continue
        if item.approved_amount < asked and item.reason_code is None:
            errors.append(
                error(
                    "reason_required",
                    "Chấp nhận thấp hơn số đề nghị thì phải ghi mã lý do từ chối hoặc xuất toán.",
                    f"{where}.reason_code",
                )
            )
            continue
        if item.reason_code is not None and catalog[item.reason_code].requires_note and not (item.note or "").strip():
            errors.append(error("note_required", "Lý do “khác” cần ghi rõ nội dung.", f"{where}.note"))
    return errors


@dataclass(frozen=True)
class AcceptedClaim:
    """What an assessment needs of the accepted claim it names."""

    claim_id: int
    requested: Decimal  # the claim's T_BHTT, quantized to 0.01
    year: int | None
    quarter: int | None


def read_item(data: Mapping[str, Any]) -> Item:
    """One item of the request as the rules judge it (MA_LK trimmed, the amount to the cent)."""
    return Item(
        ma_lk=str(data["ma_lk"]).strip(),
        approved_amount=Decimal(data["approved_amount"]).quantize(CENT),
        reason_code=data.get("reason_code") or None,
        note=data.get("note") or None,
    )


def item_answer(item: Item, requested: Decimal) -> dict[str, Any]:
    """How one recorded item is answered to BHXH."""
    return {
        "ma_lk": item.ma_lk,
        "requested": decimal_str(requested),
        "approved_amount": decimal_str(item.approved_amount),
        "rejected": decimal_str(requested - item.approved_amount),
        "reason_code": item.reason_code,
        "outcome": outcome(requested, item.approved_amount),
    }


def by_quarter(
    items: list[Item], claims: Mapping[str, AcceptedClaim]
) -> dict[tuple[int | None, int | None], tuple[int, Decimal]]:
    """(year, quarter) -> (items assessed, Σ approved): one `claims_assessed` event each."""
    out: dict[tuple[int | None, int | None], tuple[int, Decimal]] = {}
    for item in items:
        claim = claims[item.ma_lk]
        key = (claim.year, claim.quarter)
        count, approved = out.get(key, (0, ZERO))
        out[key] = (count + 1, approved + item.approved_amount)
    return dict(sorted(out.items()))  # type: ignore[type-var] - an accepted claim has its period
