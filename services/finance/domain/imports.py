"""When a row of an imported sheet (allocations, disbursements) is one the ledger already holds.

Offices keep their allocations in spreadsheets and send the same sheet again: with rows added, or after mending
a refused row, or after entering some rows by hand. An allocation is what a decision gave: one plan item, source,
fiscal year, kind, recipient and parent (and, for the 20% surplus, fund year and use). So a row with those of an
allocation already recorded is that allocation, whatever its note says. Rows alike in a sheet are matched in order:
the n-th such row is the n-th such allocation (by id), so a decision giving the same thing twice is kept twice,
and recorded once however often the sheet is sent.

The amount is not part of what a row is: a row whose allocation was recorded with another amount is refused
(`differs_from_recorded`), since recording it would count the money twice; a wrong amount is mended by an
adjustment (điều chỉnh), the ledger's way of correcting money.

A disbursement is a payment voucher (chứng từ: a treasury payment order, an ủy nhiệm chi) paid from one
allocation, so a row of a sheet of disbursements is the one recorded from the same allocation with the same
voucher number (spaces and case aside) in the same year: voucher numbers start again each year, and an
allocation carried over is paid from in two. A row whose date or amount differs from that record is refused
(`differs_from_recorded`); a wrong payment is mended by reversing it (hủy giải ngân) and sending the sheet again.
A payment recorded by hand without a voucher number cannot be told from a row by its number, so a row of the same
allocation, date and amount as such a payment is refused (`recorded_without_reference`) rather than recorded a
second time. A payment reversed in full stands only for a row giving exactly its date and amount.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
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
    it leaves out from its parent (handlers._inherit_from_parent); the decision number as it is stored."""
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


@dataclass(frozen=True)
class RecordedPayment:
    """A disbursement in the ledger (not a reversal), as an imported row is matched to it; `reversed` is how much
    of it reversals have taken back (positive)."""

    id: int
    allocation_id: int
    reference: str | None
    date: date
    amount: int
    reversed: int = 0

    @property
    def undone(self) -> bool:
        """Reversed in full: it no longer pays anything."""
        return self.reversed >= self.amount


def voucher(reference: str | None) -> str:
    """A voucher number as it is compared: "UNC 0012" and " unc  0012" are one voucher; "" is none."""
    return " ".join((reference or "").split()).casefold()


class PaymentMatcher:
    """Matches the rows of one sheet, in order, to the payments the ledger held before it.

    A payment reversed in full is matched only by a row giving exactly its date and amount (the sheet sent again
    must not pay it anew); a row that differs from it is a new payment, so a payment recorded wrong is mended by
    reversing it and sending the sheet again. For the same reason a payment without a voucher number that was
    reversed in full no longer stands in a row's way."""

    def __init__(self, recorded: Sequence[RecordedPayment]) -> None:
        self._live: dict[tuple[int, str, int], list[RecordedPayment]] = {}
        self._undone: dict[tuple[int, str, int], list[RecordedPayment]] = {}
        self._unreferenced: dict[tuple[int, date, int], list[RecordedPayment]] = {}
        for p in sorted(recorded, key=lambda p: p.id):
            if voucher(p.reference):
                kept = self._undone if p.undone else self._live
                kept.setdefault((p.allocation_id, voucher(p.reference), p.date.year), []).append(p)
            elif not p.undone:
                self._unreferenced.setdefault((p.allocation_id, p.date, p.amount), []).append(p)
        self._seen: dict[tuple[Any, ...], int] = {}
        self._claimed: set[int] = set()

    def _next(self, key: tuple[Any, ...], recorded: Mapping[Any, list[RecordedPayment]]) -> RecordedPayment | None:
        """The n-th payment alike for the n-th row alike, or None past them."""
        self._seen[key] = self._seen.get(key, 0) + 1
        alike = recorded.get(key[1:], [])
        return alike[self._seen[key] - 1] if self._seen[key] <= len(alike) else None

    def match(self, allocation_id: int, reference: str, on: date, amount: int) -> int | None:
        """The id of the disbursement this row is, or None when it is a new payment; refuses a row that differs
        from its record, or that may be a payment recorded without a voucher number."""
        key = (allocation_id, voucher(reference), on.year)
        twin = self._next(("voucher", *key), self._live)
        if twin is not None:
            if (twin.date, twin.amount) != (on, amount):
                raise DomainError.one(
                    "differs_from_recorded",
                    f"Chứng từ {reference} của phân bổ số {allocation_id} đã ghi là lần giải ngân số {twin.id}: "
                    f"ngày {twin.date:%d/%m/%Y}, {format_vnd(twin.amount)}; tệp ghi ngày {on:%d/%m/%Y}, "
                    f"{format_vnd(amount)}. Ghi lại sẽ tính tiền hai lần: sửa dòng này cho đúng số đã ghi, hoặc "
                    f"hủy lần giải ngân số {twin.id} rồi gửi lại tệp.",
                    "amount" if twin.amount != amount else "date",
                )
            return twin.id
        undone = next(
            (
                p
                for p in self._undone.get(key, [])
                if p.id not in self._claimed and (p.date, p.amount) == (on, amount)
            ),
            None,
        )
        if undone is not None:
            self._claimed.add(undone.id)
            return undone.id
        blind = self._next(("unreferenced", allocation_id, on, amount), self._unreferenced)
        if blind is not None:
            raise DomainError.one(
                "recorded_without_reference",
                f"Phân bổ số {allocation_id} đã có lần giải ngân số {blind.id} ngày {on:%d/%m/%Y}, "
                f"{format_vnd(amount)}, ghi không có số chứng từ: có thể chính là dòng này. Nếu đúng, bỏ dòng "
                f"này khỏi tệp, hoặc hủy lần giải ngân số {blind.id} rồi gửi lại tệp để ghi kèm số chứng từ; nếu "
                "là một khoản chi khác, ghi nó ở trang của phân bổ.",
                "reference",
            )
        return None
