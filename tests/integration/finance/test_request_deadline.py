"""A command past its caller's deadline is never recorded (common/unit_of_work.py, gateway/clients.py).

The gateway answers 503 once its wait is over and the person sends the command again; a command that was still
queued (its service restarting, say) must then not be recorded too, or the money would be counted twice. The
gateway sends its deadline with every call; a unit of work of an RPC command commits nothing past it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest
from kombu import Connection, Exchange, Queue
from nameko.rpc import Rpc
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from services.common.db import transaction
from services.common.errors import DomainError
from services.common.messaging import rpc_deadline
from services.finance import handlers
from services.finance.models import Allocation
from services.finance.unit_of_work import FinanceUnitOfWork
from services.gateway.clients import ServiceClients
from services.gateway.errors import Unavailable
from tests.integration.gateway.fake_services import FakeService, running
from tests.support.infra import rabbit_vhost


def allocation(decision: str) -> dict:
    return {
        "plan_id": 1, "item_code": "II.5", "source": "provincial_budget", "fiscal_year": 2024,
        "recipient_unit": "91", "amount": 1_000, "decision_no": decision, "decision_date": "2024-01-02",
    }


def allocations(factory: sessionmaker[Session]) -> int:
    with transaction(factory) as s:
        return s.scalar(select(func.count()).select_from(Allocation))


def test_a_unit_of_work_past_its_deadline_commits_nothing(finance_db: sessionmaker[Session]) -> None:
    with pytest.raises(DomainError) as exc, FinanceUnitOfWork(finance_db, "corr", deadline=time.time() - 0.01) as uow:
        handlers.create_allocation(uow, allocation("late"))
    assert exc.value.status == 503 and [e["code"] for e in exc.value.errors] == ["request_expired"]
    assert allocations(finance_db) == 0
    with FinanceUnitOfWork(finance_db, "corr", deadline=time.time() + 60) as uow:
        handlers.create_allocation(uow, allocation("in time"))
    with FinanceUnitOfWork(finance_db, "corr") as uow:  # no caller waiting (an event, a command line)
        handlers.create_allocation(uow, allocation("no deadline"))
    assert allocations(finance_db) == 2


def test_only_an_rpc_call_carries_a_deadline() -> None:
    assert rpc_deadline(SimpleNamespace(entrypoint=Rpc(), data={"deadline": "1700000000.250"})) == 1700000000.25
    assert rpc_deadline(SimpleNamespace(entrypoint=Rpc(), data={})) is None
    assert rpc_deadline(SimpleNamespace(entrypoint=Rpc(), data={"deadline": "soon"})) is None
    assert rpc_deadline(SimpleNamespace(entrypoint=object(), data={"deadline": "1700000000"})) is None  # an event


@pytest.mark.rabbit
def test_every_gateway_call_carries_a_deadline_before_its_own() -> None:
    with rabbit_vhost() as amqp_uri:
        echo = FakeService(amqp_uri, "finance", {"ping": lambda: "pong"})
        clients = ServiceClients(amqp_uri=amqp_uri, timeout=5)
        with running(echo):
            before = time.time()
            assert clients.call("finance", "ping") == "pong"
            assert clients.fan_out({"a": ("finance", "ping", (), {})}, timeout=20)["a"] == "pong"
            after = time.time()
    first, second = (float(h["nameko.deadline"]) for h in echo.headers)
    # One second before the gateway's own wait ends, so a reply committed in time is back before it gives up.
    assert before + 5 - 1 - 0.001 <= first <= after + 5 - 1  # (sent to the millisecond)
    assert before + 20 - 1 - 0.001 <= second <= after + 20 - 1


FINANCE_SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import json, sys
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, replace_dependencies
from services.finance.service import Service

amqp_uri, db_url, body = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
container = ServiceContainer(Service, {"AMQP_URI": amqp_uri, "DB_URL": db_url})
replace_dependencies(container, "relay", "metrics", "business", "queues")
container.start()
try:
    eventlet.sleep(3)  # the call that waited in the queue is taken and refused
    with entrypoint_hook(container, "create_allocation", context_data={"deadline": "9999999999"}) as create:
        print(json.dumps({"fresh": create(body)["decision_no"]}))
finally:
    container.stop()
"""


@pytest.mark.rabbit
def test_a_command_queued_while_finance_was_down_is_not_recorded_when_it_comes_back(
    finance_file_db: tuple[str, sessionmaker[Session]], run_child: Callable[..., Any]
) -> None:
    db_url, factory = finance_file_db
    with rabbit_vhost() as amqp_uri:
        # Finance's queue is there (it ran before), its process is down: the gateway's call waits, then gives up.
        with Connection(amqp_uri) as conn:
            Queue("rpc-finance", Exchange("nameko-rpc", type="topic", durable=True), routing_key="finance.*",
                  durable=True)(conn.default_channel).declare()  # fmt: skip
        clients = ServiceClients(amqp_uri=amqp_uri, timeout=2)
        with pytest.raises(Unavailable) as exc:
            clients.call("finance", "create_allocation", allocation("sent while down"))
        assert exc.value.kind == "timeout"
        # Finance comes back and takes the queued call: the person was told 503; it must not be recorded.
        fresh = run_child(FINANCE_SCRIPT, amqp_uri, db_url, json.dumps(allocation("sent again")), timeout=90)
    assert fresh == {"fresh": "sent again"}
    with transaction(factory) as s:
        assert s.scalars(select(Allocation.decision_no)).all() == ["sent again"]
