"""Finance commands at the budget year end of an allocation: carry-over, close, and the reversal of either
(docs/finance.md "Budget year end")."""

from __future__ import annotations

from typing import Any

from services.common import clock, outbox
from services.common.commands import load_command
from services.common.contracts.finance import (
    YearEndCommandV1,
    YearEndReversalCommandV1,
)
from services.finance import domain, records
from services.finance.models import (
    Allocation,
    YearEndRecord,
)
from services.finance.unit_of_work import FinanceUnitOfWork


def _year_end(
    uow: FinanceUnitOfWork, kind: str, allocation_id: int, data: dict[str, Any], actor: str | None
) -> dict[str, Any]:
    """Chuyển nguồn or quyết toán of what a past year's allocation still holds: an append-only record."""
    cmd = load_command(YearEndCommandV1, data)
    uow.repo.serialize_writes()
    row = uow.repo.allocation(allocation_id, lock=True)
    today = clock.today()
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], today))
    domain.check_year_end(uow.repo.facts(row), kind, cmd["amount"], cmd["date"], today)
    event = "allocation_carried_over" if kind == domain.CARRY_OVER else "allocation_closed"
    return _year_end_recorded(uow, event, row, kind, cmd["amount"], cmd, actor)


def _year_end_recorded(
    uow: FinanceUnitOfWork,
    event: str,
    row: Allocation,
    kind: str,
    amount: int,
    cmd: dict[str, Any],
    actor: str | None,
    reverses_id: int | None = None,
) -> dict[str, Any]:
    """Insert a year-end record (or its reversal), announce it, answer it with its allocation's money."""
    record = uow.repo.add(
        YearEndRecord(
            allocation_id=row.id,
            kind=kind,
            amount=amount,
            date=cmd["date"],
            decision_no=cmd["decision_no"].strip(),
            decision_date=cmd["decision_date"],
            recorded_by=actor,
            note=cmd["note"],
            reverses_id=reverses_id,
            created_at=outbox.utcnow(),
        )
    )
    uow.publish(
        event,
        {
            "record_id": record.id,
            "allocation_id": row.id,
            "fiscal_year": row.fiscal_year,
            "to_year": row.fiscal_year + 1 if kind == domain.CARRY_OVER else None,
            "amount": record.amount,
            "date": record.date,
            "decision_no": record.decision_no,
            "decision_date": record.decision_date,
            "recorded_by": actor,
            "kind": kind,
            "reverses_id": reverses_id,
        },
    )
    return records.year_end_dict(record) | {"allocation": uow.repo.allocation_dict(row)}


def carry_over(uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any], actor: str | None = None) -> dict:
    """Chuyển nguồn: money the allocation held on 31/12 becomes payable in the next fiscal year."""
    return _year_end(uow, domain.CARRY_OVER, allocation_id, data, actor)


def close_allocation(
    uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """Quyết toán: money the allocation held on 31/12 lapses; it is never paid out."""
    return _year_end(uow, domain.CLOSE, allocation_id, data, actor)


def reverse_year_end(
    uow: FinanceUnitOfWork, record_id: int, data: dict[str, Any], actor: str | None = None
) -> dict[str, Any]:
    """Hủy (một phần) a carry-over or a close: a negative record naming the original; the money is the year's
    again. A carry-over is never undone below what the next year already paid out of it."""
    cmd = load_command(YearEndReversalCommandV1, data)
    uow.repo.serialize_writes()
    original = uow.repo.year_end_record(record_id)
    row = uow.repo.allocation(original.allocation_id, lock=True)
    domain.raise_if(domain.check_decision(cmd["decision_no"], cmd["decision_date"], clock.today()))
    already = uow.repo.year_end_reversed(original.id)
    amount = cmd["amount"] if cmd["amount"] is not None else int(original.amount) - already
    domain.check_year_end_reversal(
        uow.repo.facts(row), original.kind, int(original.amount), already, amount, original.id
    )
    return _year_end_recorded(
        uow, "allocation_year_end_reversed", row, original.kind, -amount, cmd, actor, reverses_id=original.id
    )
