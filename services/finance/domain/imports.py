"""When a row of an imported sheet of allocations is one the ledger already holds.

Offices keep their allocations in spreadsheets and send the same sheet again: with rows added, or after mending
a refused row, or after entering some rows by hand. An allocation is what a decision gave: one plan item, source,
fiscal year, kind, recipient and parent (and, for the 20% surplus, fund year and use). So a row with those of an
allocation already recorded is that allocation, whatever its note says. Rows alike in a sheet are matched in order:
the n-th such row is the n-th such allocation (by id), so a decision giving the same thing twice is kept twice,
and recorded once however often the sheet is sent.

The amount is not part of what a row is: a row whose allocation was recorded with another amount is refused
(`differs_from_recorded`), since recording it would count the money twice; a wrong amount is mended by an
adjustment (điều chỉnh), the ledger's way of correcting money.

Payments imported from a sheet are matched by services/common/imports.py, the one rule for finance's and
investment's sheets of disbursements.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from services.common.errors import DomainError
from services.common.money import format_vnd

ImportKey = tuple[Any, ...]


@dataclass(frozen=True)
class Recorded:
    """An allocation in the ledger, as an imported row is matched to it."""

    id: int
    amount: int


def import_key(cmd: Mapping[str, Any], parent_id: int | None) -> ImportKey:
    """What makes a row the same allocation: everything a decision gives, once a sub-allocation has taken what
    it leaves out from its parent (`_inherit_from_parent` in handlers/allocations.py); the decision number as it
    is stored."""
    return (
        cmd["plan_id"],
        cmd["item_code"],
        cmd["source"],
        cmd["fiscal_year"],
        cmd["kind"] or "budget",
        cmd["recipient_unit"],
        parent_id,
        cmd["fund_year"],
        cmd["use"],
        (cmd["decision_no"] or "").strip(),
        cmd["decision_date"],
    )


def recorded_twin(occurrence: int, recorded: Sequence[Recorded], amount: int) -> int | None:
    """The id of the allocation the `occurrence`-th row alike in the sheet is (counting from 1; `recorded` are
    those alike in the ledger, by id), or None when the row is a new one."""
    if occurrence > len(recorded):
        return None
    twin = recorded[occurrence - 1]
    if twin.amount != amount:
        raise DomainError.one(
            "differs_from_recorded",
            f"Phân bổ này (cùng quyết định, mục, nguồn, năm và đơn vị nhận) đã ghi là phân bổ số {twin.id} với "
            f"{format_vnd(twin.amount)}, tệp ghi {format_vnd(amount)}. Ghi lại sẽ tính tiền hai lần: "
            "sửa số tiền bằng một điều chỉnh của phân bổ số "
            f"{twin.id}, hoặc sửa lại ô này cho đúng số đã ghi.",
            "amount",
        )
    return twin.id
