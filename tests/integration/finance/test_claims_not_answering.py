"""Finance asks claims for a quarter's figures before it records the quarterly report. With claims stuck (its RPC
queue there, nobody taking from it), finance refuses in time with 503 `service_unavailable` naming claims, before
the gateway's own timeout; when claims answers after all, nothing is written: the 503 said so, and it stays true.
A claims service that answers in time gets the report written.

The finance service runs in a nameko container on RabbitMQ (a vhost of its own) and SQLite, in a child interpreter
that patches eventlet first, as `ytcs serve` does (see tests/integration/investment/test_service_container.py);
the claims side is played with kombu on the real broker.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import sessionmaker

from services.common.db import transaction
from services.finance.models import CapitationReport
from tests.support.infra import rabbit_vhost

pytestmark = [pytest.mark.rabbit]

RPC_TIMEOUT = 3.0  # the gateway's wait; finance waits half of it for claims

CONTAINER_SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import json, sys, time
from kombu import Connection, Exchange, Producer, Queue
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, replace_dependencies
from services.common.errors import DomainError
from services.finance.service import Service

amqp_uri, db_url = sys.argv[1:3]
FIGURES = {"claims": {"count": 3, "assessed": 3, "requested": "42500000.75", "approved": "41000000.40",
                      "rejected": "0.00", "pending": "0.00",
                      "by_payment_method": {"fee_for_service": "10000000.50", "capitation": "30000000.25",
                                            "drg": "2500000.00"}}}
exchange = Exchange("nameko-rpc", type="topic", durable=True)
stuck = Queue("rpc-claims", exchange, routing_key="claims.*", durable=True)
conn = Connection(amqp_uri)
stuck(conn.default_channel).declare()  # claims' queue is there; its process takes nothing from it

def answer_one(timeout):
    # Take one request from claims' queue and answer it as claims would.
    got = []
    with Connection(amqp_uri) as c:
        def take(body, message):
            got.append(message)
            Producer(c.default_channel).publish(
                {"result": FIGURES, "error": None}, exchange=exchange, routing_key=message.properties["reply_to"],
                correlation_id=message.properties["correlation_id"], serializer="json", retry=True)
            message.ack()
        with c.Consumer(Queue("rpc-claims", exchange, routing_key="claims.*", durable=True), callbacks=[take]):
            deadline = time.monotonic() + timeout
            while not got and time.monotonic() < deadline:
                try:
                    c.drain_events(timeout=0.2)
                except Exception:
                    pass
    return len(got)

container = ServiceContainer(Service, {"AMQP_URI": amqp_uri, "DB_URL": db_url})
replace_dependencies(container, "relay", "metrics", "business", "queues")
container.start()
seen = {}
body = {"facility_code": "91301", "period": "2024-Q2", "received_date": "2024-07-12"}
try:
    started = time.monotonic()
    try:
        with entrypoint_hook(container, "record_quarterly_report") as record:
            record(body, "bhxh.officer")
        seen["refused"] = None
    except DomainError as exc:
        seen["refused"] = [exc.status, exc.errors]
    seen["waited"] = time.monotonic() - started
    seen["late_answers"] = answer_one(5)  # claims wakes up and answers the abandoned call
    time.sleep(1.0)
    # Claims in time: the same command goes through.
    waiter = eventlet.spawn(answer_one, 10)
    with entrypoint_hook(container, "record_quarterly_report") as record:
        seen["recorded"] = record(body, "bhxh.officer")["advance"]["amount"]
    seen["answers"] = waiter.wait()
finally:
    container.stop()
    conn.release()
print(json.dumps(seen))
"""


def reports(factory: sessionmaker) -> int:
    with transaction(factory) as s:
        return s.scalar(select(func.count()).select_from(CapitationReport))


def test_finance_refuses_in_time_when_claims_does_not_answer_and_writes_nothing_later(
    finance_file_db: tuple[str, sessionmaker], run_child: Callable[..., Any]
) -> None:
    db_url, factory = finance_file_db
    with rabbit_vhost() as amqp_uri:
        seen = run_child(CONTAINER_SCRIPT, amqp_uri, db_url, timeout=60, env={"YTCS_RPC_TIMEOUT": str(RPC_TIMEOUT)})

    status, errors = seen["refused"]
    assert status == 503
    assert [(e["code"], e["service"]) for e in errors] == [("service_unavailable", "claims")]
    assert "hồ sơ BHYT" in errors[0]["message"] and "chưa ghi gì" in errors[0]["message"]
    # Half the gateway's wait, so the refusal reaches the person before the gateway gives up on finance.
    assert RPC_TIMEOUT / 2 <= seen["waited"] < RPC_TIMEOUT
    assert seen["late_answers"] == 1
    # The late answer wrote nothing; only the command sent again, answered in time, did.
    assert seen["answers"] == 1 and seen["recorded"] == 34_000_001
    assert reports(factory) == 1
