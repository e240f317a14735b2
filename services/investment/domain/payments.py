"""Investment's disbursements as payments, for a treasury statement imported as a sheet (services/common/imports.py
matches its rows to them).

Investment has no reversal naming a payment: a payment recorded wrong is undone by a negative disbursement, and
money the contractor returns (thu hồi) is one too. The two are told apart by the voucher number. A negative row with
the voucher of a payment from the same project, source and year reverses that payment (a payment of exactly its
size first, else the earliest with that much left), so the statement sent again is matched to what is still paid.
A negative row with a voucher of its own, or more than any such payment has left, is a return: a payment of its
own, listed on the statement like the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date

from services.common import sources
from services.common.imports import RecordedPayment, voucher


@dataclass(frozen=True)
class Disbursed:
    """A disbursement row as the ledger holds it."""

    id: int
    project_id: int
    source: str
    reference: str | None
    date: date
    amount: int


def account(project_id: int, source: str) -> tuple[int, str]:
    """What a project's payment is drawn from: one source of its capital."""
    return (project_id, source)


def account_name(paid_from: tuple[int, str]) -> str:
    return f"dự án số {paid_from[0]}, nguồn {sources.name(paid_from[1])}"


def undo_advice(payment_id: int, reference: str) -> str:
    """How a payment is undone here, as a refusal words it."""
    same = f"cùng số chứng từ {reference}" if reference.strip() else "không ghi số chứng từ"
    return f"hủy lần giải ngân số {payment_id} (ghi một lần giải ngân âm cùng nguồn, cùng năm, {same})"


def recorded_payments(rows: Iterable[Disbursed]) -> list[RecordedPayment]:
    """The payments and returns the rows amount to, each payment with how much of it was reversed."""
    paid: dict[int, RecordedPayment] = {}
    by_voucher: dict[tuple[int, str, str, int], list[int]] = {}
    returns: list[RecordedPayment] = []
    for r in sorted(rows, key=lambda r: r.id):
        key = (r.project_id, r.source, voucher(r.reference), r.date.year)
        payment = RecordedPayment(r.id, account(r.project_id, r.source), r.reference, r.date, r.amount)
        if r.amount > 0:
            paid[r.id] = payment
            by_voucher.setdefault(key, []).append(r.id)
            continue
        size = -r.amount
        room = [i for i in by_voucher.get(key, []) if paid[i].amount - paid[i].reversed >= size]
        exact = [i for i in room if paid[i].amount - paid[i].reversed == size]
        undone = (exact or room or [None])[0]
        if undone is None:
            returns.append(payment)
        else:
            paid[undone] = replace(paid[undone], reversed=paid[undone].reversed + size)
    return sorted([*paid.values(), *returns], key=lambda p: p.id)
