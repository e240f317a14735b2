"""A keyed command is recorded once (common/answers.py, common/unit_of_work.py `run`), on SQLite and PostgreSQL.

The gateway frees an Idempotency-Key when it answers 5xx; the command may have been recorded all the same. Sent again
under the same command key, it is answered with its first answer and records nothing more.
"""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace
from typing import Any

import pytest
from kombu.utils import json as wire
from nameko.rpc import Rpc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.common.messaging import rpc_command_key
from services.finance import handlers
from services.finance.models import Allocation, Answer, Disbursement
from services.finance.unit_of_work import FinanceUnitOfWork


def allocation(decision: str, amount: int = 1_000_000) -> dict[str, Any]:
    return {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024,
        "recipient_unit": "91", "amount": amount, "decision_no": decision, "decision_date": "2024-01-02",
    }


def payment(reference: str, amount: int = 100_000) -> dict[str, Any]:
    return {"amount": amount, "date": "2024-03-01", "reference": reference}


def count(factory: sessionmaker[Session], model: type) -> int:
    with transaction(factory) as s:
        return s.scalar(select(func.count()).select_from(model))


def run(factory: sessionmaker[Session], key: str | None, handler: Any, *args: Any) -> Any:
    return FinanceUnitOfWork(factory, "corr", command_key=key).run(handler, *args)


def test_the_same_key_is_answered_with_the_first_answer_and_records_nothing(finance_db: sessionmaker[Session]) -> None:
    a = run(finance_db, "k-alloc", handlers.create_allocation, allocation("1/QĐ"))
    first = run(finance_db, "k-pay", handlers.disburse, a["id"], payment("UNC 1"))
    again = run(finance_db, "k-pay", handlers.disburse, a["id"], payment("UNC 1"))
    assert again == wire.loads(wire.dumps(first))  # what the caller got the first time, as it went on the wire
    assert count(finance_db, Disbursement) == 1
    # Another key, or no key (an event, the command line), is another command.
    run(finance_db, "k-pay-2", handlers.disburse, a["id"], payment("UNC 1"))
    run(finance_db, None, handlers.disburse, a["id"], payment("UNC 1"))
    assert count(finance_db, Disbursement) == 3
    assert count(finance_db, Answer) == 3  # k-alloc, k-pay, k-pay-2


def test_a_refused_command_keeps_nothing_and_can_be_sent_again(finance_db: sessionmaker[Session]) -> None:
    a = run(finance_db, None, handlers.create_allocation, allocation("2/QĐ", amount=100_000))
    with pytest.raises(DomainError) as exc:
        run(finance_db, "k-over", handlers.disburse, a["id"], payment("UNC 2", amount=200_000))
    assert exc.value.errors[0]["code"] == "exceeds_allocation"
    assert count(finance_db, Answer) == 0
    # Refused again, for the same reason: a refusal is never replayed from a store, it is judged afresh.
    with pytest.raises(DomainError):
        run(finance_db, "k-over", handlers.disburse, a["id"], payment("UNC 2", amount=200_000))
    assert count(finance_db, Disbursement) == 0


def test_an_answer_older_than_the_keys_lifetime_is_forgotten(
    finance_db: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    run(finance_db, "k-old", handlers.create_allocation, allocation("3/QĐ"))
    monkeypatch.setenv("YTCS_IDEMPOTENCY_TTL_HOURS", "0")  # the gateway has forgotten the key too: a new request
    run(finance_db, "k-old", handlers.create_allocation, allocation("3/QĐ"))
    assert count(finance_db, Allocation) == 2
    assert count(finance_db, Answer) == 1  # the old answer made way for the new one


def test_two_deliveries_at_the_same_moment_record_one(finance_db: sessionmaker[Session]) -> None:
    """A command redelivered while its first delivery is still running (the gateway's retry after a timeout):
    the second waits on the key, then answers what the first recorded."""
    a = run(finance_db, None, handlers.create_allocation, allocation("4/QĐ"))

    def slow_disburse(uow: FinanceUnitOfWork, allocation_id: int, data: dict[str, Any]) -> dict[str, Any]:
        time.sleep(0.5)  # both deliveries are inside `run` before either commits
        return handlers.disburse(uow, allocation_id, data)

    start = threading.Barrier(2)
    answers: list[Any] = []

    def deliver() -> None:
        start.wait()
        answers.append(run(finance_db, "k-race", slow_disburse, a["id"], payment("UNC 4")))

    threads = [threading.Thread(target=deliver) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert len(answers) == 2 and answers[0] == answers[1]
    assert count(finance_db, Disbursement) == 1


def test_only_an_rpc_call_carries_a_command_key() -> None:
    assert rpc_command_key(SimpleNamespace(entrypoint=Rpc(), data={"command_key": "k:finance.disburse:1"})) == (
        "k:finance.disburse:1"
    )
    assert rpc_command_key(SimpleNamespace(entrypoint=Rpc(), data={})) is None
    assert rpc_command_key(SimpleNamespace(entrypoint=object(), data={"command_key": "k"})) is None  # an event
