"""Imported sheets (finance's allocations and payments, investment's project payments): the rows taken in order,
and when a row of payments is a payment the ledger already holds.

A disbursement is a payment voucher (chứng từ: a treasury payment order, an ủy nhiệm chi) paid from one account:
a finance allocation, or one source of a project's capital. So a row of a sheet of disbursements is the payment
recorded from the same account with the same voucher number (spaces and case aside) in the same year: voucher
numbers start again each year, and an allocation carried over is paid from in two. Rows alike pair in order with
the payments alike (one voucher paying an account twice is two payments). A row whose date or amount differs from
its payment is refused (`differs_from_recorded`): recording it would count the money twice. A payment recorded by
hand without a voucher number cannot be told from a row by its number, so a row of the same account, date and
amount as such a payment is refused (`recorded_without_reference`) rather than recorded a second time.

Finance reverses a payment by a row naming it (hủy giải ngân): a payment reversed in full stands only for a row
giving exactly its date and amount, so the sheet sent again never pays it anew, while a payment imported wrong is
mended by reversing it and sending the mended sheet again. Investment records a return (thu hồi) as a payment of
its own, negative, with its own voucher: it is matched like any other payment.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from services.common.errors import DomainError
from services.common.money import format_vnd


def take_rows(rows: list[dict[str, Any]], take: Callable[[dict[str, Any]], tuple[int, bool]]) -> dict[str, Any]:
    """An imported sheet's rows, in order, each through `take` (its record's id and whether it is new, or its
    refusals raised). A row is refused before anything of it is written (every check comes before the insert),
    so the rows after it are checked against the ledger as the sheet would leave it; one refused row refuses the
    sheet, every refusal naming its row."""
    done: list[dict[str, Any]] = []
    errs: list[dict] = []
    for row in rows:
        n = row.pop("row")
        try:
            record_id, new = take(row)
            done.append({"row": n, "id": record_id, "status": "recorded" if new else "already_recorded"})
        except DomainError as exc:
            errs += [{**e, "row": n} for e in exc.errors]
    if errs:
        raise DomainError(errs)
    recorded = sum(1 for r in done if r["status"] == "recorded")
    return {"recorded": recorded, "already_recorded": len(done) - recorded, "rows": done}


@dataclass(frozen=True)
class RecordedPayment:
    """A payment in the ledger (not a reversal naming one), as an imported row is matched to it: `account` is what
    it was paid from; `reversed`, how much of it reversals naming it have taken back (positive)."""

    id: int
    account: Hashable
    reference: str | None
    date: date
    amount: int
    reversed: int = 0

    @property
    def undone(self) -> bool:
        """Reversed in full: it no longer pays anything (a return, negative, is never reversed so)."""
        return 0 < self.amount <= self.reversed


def voucher(reference: str | None) -> str:
    """A voucher number as it is compared: "UNC 0012" and " unc  0012" are one voucher; "" is none."""
    return " ".join((reference or "").split()).casefold()


class PaymentMatcher:
    """Matches the rows of one sheet, in order, to the payments the ledger held before it. The refusals word an
    account by `name` ("phân bổ số 12", "dự án số 3, nguồn NSĐP") and say how that ledger reverses a payment by
    `undo` (its id and voucher number: "hủy lần giải ngân số 7").

    A payment reversed in full is matched only by a row giving exactly its date and amount (the sheet sent again
    must not pay it anew); a row that differs from it is a new payment, so a payment recorded wrong is mended by
    reversing it and sending the sheet again. For the same reason a payment without a voucher number that was
    reversed in full no longer stands in a row's way."""

    def __init__(
        self, recorded: Sequence[RecordedPayment], name: Callable[[Any], str], undo: Callable[[int, str], str]
    ) -> None:
        self._name, self._undo = name, undo
        self._live: dict[tuple[Any, str, int], list[RecordedPayment]] = {}
        self._undone: dict[tuple[Any, str, int], list[RecordedPayment]] = {}
        self._unreferenced: dict[tuple[Any, date, int], list[RecordedPayment]] = {}
        for p in sorted(recorded, key=lambda p: p.id):
            if voucher(p.reference):
                kept = self._undone if p.undone else self._live
                kept.setdefault((p.account, voucher(p.reference), p.date.year), []).append(p)
            elif not p.undone:
                self._unreferenced.setdefault((p.account, p.date, p.amount), []).append(p)
        self._seen: dict[tuple[Any, ...], int] = {}
        self._claimed: set[int] = set()

    def _next(self, key: tuple[Any, ...], recorded: Mapping[Any, list[RecordedPayment]]) -> RecordedPayment | None:
        """The n-th payment alike for the n-th row alike, or None past them."""
        self._seen[key] = self._seen.get(key, 0) + 1
        alike = recorded.get(key[1:], [])
        return alike[self._seen[key] - 1] if self._seen[key] <= len(alike) else None

    def match(self, account: Hashable, reference: str, on: date, amount: int) -> int | None:
        """The id of the payment this row is, or None when it is a new one; refuses a row that differs from its
        record, or that may be a payment recorded without a voucher number."""
        key = (account, voucher(reference), on.year)
        twin = self._next(("voucher", *key), self._live)
        if twin is not None:
            if (twin.date, twin.amount) != (on, amount):
                raise DomainError.one(
                    "differs_from_recorded",
                    f"Chứng từ {reference} của {self._name(account)} đã ghi là lần giải ngân số {twin.id}: "
                    f"ngày {twin.date:%d/%m/%Y}, {format_vnd(twin.amount)}; tệp ghi ngày {on:%d/%m/%Y}, "
                    f"{format_vnd(amount)}. Ghi lại sẽ tính tiền hai lần: sửa dòng này cho đúng số đã ghi, hoặc "
                    f"{self._undo(twin.id, twin.reference or reference)} rồi gửi lại tệp.",
                    "amount" if twin.amount != amount else "date",
                )
            return twin.id
        undone = next(
            (p for p in self._undone.get(key, []) if p.id not in self._claimed and (p.date, p.amount) == (on, amount)),
            None,
        )
        if undone is not None:
            self._claimed.add(undone.id)
            return undone.id
        blind = self._next(("unreferenced", account, on, amount), self._unreferenced)
        if blind is not None:
            raise DomainError.one(
                "recorded_without_reference",
                f"Đã có lần giải ngân số {blind.id} của {self._name(account)} ngày {on:%d/%m/%Y}, "
                f"{format_vnd(amount)}, ghi không có số chứng từ: có thể chính là dòng này. Nếu đúng, bỏ dòng "
                f"này khỏi tệp, hoặc {self._undo(blind.id, '')} rồi gửi lại tệp để ghi kèm số chứng từ; nếu là "
                "một khoản chi khác, ghi riêng lần chi đó, không qua tệp.",
                "reference",
            )
        return None
