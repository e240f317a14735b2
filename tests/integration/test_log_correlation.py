"""The correlation id travels: gateway → RPC context → worker logs → outbox rows → event headers → consumer logs."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import uuid
from pathlib import Path

from marshmallow import Schema, fields
from sqlalchemy import select
from sqlalchemy.orm import Session

from services.common import contracts, logs, outbox
from services.common.db import make_engine
from services.finance.models import Outbox
from tests.support.infra import ROOT


class PingedV1(Schema):
    n = fields.Integer(required=True)


def test_record_event_takes_the_correlation_id_of_the_log_context(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setitem(contracts.EVENTS, "test_pinged", ("finance", 1, PingedV1))
    engine = make_engine(f"sqlite:///{tmp_path / 'o.db'}")
    Outbox.__table__.create(engine)
    token = logs.bind("req-42")
    try:
        with Session(engine) as s:
            outbox.record_event(s, Outbox, "test_pinged", {"n": 1})
            outbox.record_event(s, Outbox, "test_pinged", {"n": 2}, correlation_id="explicit")
            s.commit()
            rows = s.scalars(select(Outbox).order_by(Outbox.id)).all()
    finally:
        logs.unbind(token)
    assert [r.correlation_id for r in rows] == ["req-42", "explicit"]
    assert outbox.envelope(rows[0], "finance")["correlation_id"] == "req-42"
    engine.dispose()


def test_json_log_lines_carry_the_correlation_id() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter("finance"))
    logger = logging.getLogger("ytcs.test.corr")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        token = logs.bind("abc123")
        logger.info("với id")
        logs.unbind(token)
        logger.info("không id")
    finally:
        logger.removeHandler(handler)
    first, second = (json.loads(line) for line in stream.getvalue().splitlines())
    assert first["correlation_id"] == "abc123" and first["message"] == "với id" and first["process"] == "finance"
    assert "correlation_id" not in second


# Nameko containers need eventlet's monkey patching, which this pytest process does not do: the service
# runs in a child interpreter that patches first, exactly as `ytcs serve` does.
WORKER_SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import json, logging, sys, time, uuid
from kombu import Connection, Exchange
from nameko.containers import ServiceContainer
from nameko.rpc import rpc
from nameko.standalone.rpc import ClusterRpcProxy
from services.common import logs
from services.common.messaging import Database, reliable_event_handler

amqp_uri, db_url, name, source = sys.argv[1:5]
logs.configure(name)  # JSON lines on stderr, as every service process logs
seen = {}

class Service:
    db = Database()

    @rpc
    def whoami(self):
        logging.getLogger("ytcs.test").warning("rpc worker")
        return logs.correlation_id.get()

    @reliable_event_handler(source, "pinged")
    def on_pinged(self, body):
        logging.getLogger("ytcs.test").warning("event worker")
        seen["event"] = logs.correlation_id.get()

Service.name = name
container = ServiceContainer(Service, {"AMQP_URI": amqp_uri, "DB_URL": db_url, "serializer": "json"})
container.start()
try:
    cfg = {"AMQP_URI": amqp_uri, "serializer": "json"}
    with ClusterRpcProxy(cfg, context_data={"correlation_id": "req-rpc-1"}, timeout=10) as proxy:
        seen["rpc"] = getattr(proxy, name).whoami()
    with Connection(amqp_uri) as conn:
        exchange = Exchange(source + ".events", type="topic", durable=True)
        conn.Producer(serializer="json").publish(
            {"event_id": str(uuid.uuid4()), "data": {}}, exchange=exchange, routing_key="pinged",
            declare=[exchange], headers={"nameko.correlation_id": "req-evt-1"},  # as OutboxRelay sets it
        )
    deadline = time.monotonic() + 10
    while "event" not in seen and time.monotonic() < deadline:
        eventlet.sleep(0.05)
finally:
    container.stop()
print(json.dumps(seen))
"""


def test_rpc_and_event_workers_log_with_the_callers_correlation_id(amqp_uri: str, tmp_path: Path) -> None:
    script = tmp_path / "corr_worker.py"
    script.write_text(WORKER_SCRIPT)
    name, source = f"corr_{uuid.uuid4().hex[:8]}", f"corrsrc_{uuid.uuid4().hex[:8]}"
    out = subprocess.run(
        [sys.executable, str(script), amqp_uri, f"sqlite:///{tmp_path / 'c.db'}", name, source],
        capture_output=True,
        text=True,
        timeout=90,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {"rpc": "req-rpc-1", "event": "req-evt-1"}
    lines = {}
    for raw in out.stderr.splitlines():
        if raw.startswith("{"):
            entry = json.loads(raw)
            lines[entry["message"]] = entry
    assert lines["rpc worker"]["correlation_id"] == "req-rpc-1"
    assert lines["event worker"]["correlation_id"] == "req-evt-1"
    assert lines["rpc worker"]["process"] == name
