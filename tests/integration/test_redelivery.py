"""A consumer's database away for several seconds: no event is dead-lettered and none is lost.

The real finance service (`python -m services.common.runner finance`) consumes claims' `capitation_spend_changed`
from a quorum queue with a small `x-delivery-limit`, on PostgreSQL. The test refuses its database connections
(ALLOW_CONNECTIONS false, its sessions terminated) while events arrive, then gives the database back. A plain
requeue counts as a delivery on a quorum queue, so the old handling dead-lettered these events after
`delivery_limit` half-second retries; now each retry is a fresh copy after a backoff."""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg2
import pytest
import requests
from kombu import Connection, Exchange
from prometheus_client.parser import text_string_to_metric_families

from services.common.messaging import DLQ_NAME
from services.common.migrate import upgrade
from tests.support.facilities import fresh_facility
from tests.support.infra import PG_ADMIN, ROOT, free_port, pg_database, rabbit_vhost

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

OUTAGE = 8.0  # seconds: longer than delivery_limit × the old 0.5 s requeue pause
EVENTS = 6


def admin(sql: str) -> None:
    conn = psycopg2.connect(PG_ADMIN)
    conn.autocommit = True
    try:
        conn.cursor().execute(sql)
    finally:
        conn.close()


def consumed(port: int) -> dict[str, float]:
    text = requests.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "ytcs_events_consumed_total" and s.labels["event_type"] == "capitation_spend_changed":
                out[s.labels["outcome"]] = s.value
    return out


def queue_depth(amqp_uri: str, name: str) -> int:
    with Connection(amqp_uri) as conn:
        return conn.default_channel.queue_declare(name, passive=True).message_count


def reports(db_url: str, facility: str) -> int:
    conn = psycopg2.connect(db_url)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM capitation_spend_reports WHERE facility_code = %s", (facility,))
        return cur.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture
def finance(tmp_path: Path, postgres_ok: bool) -> Iterator[tuple[str, str, int]]:
    """(amqp uri, database url, metrics port) of a running finance service with a delivery limit of 3."""
    if not postgres_ok:
        pytest.fail("PostgreSQL at 127.0.0.1:5432 is required (see README)")
    with rabbit_vhost() as amqp_uri, pg_database("ytcs_redelivery") as db_url:
        upgrade("finance", db_url)
        port = free_port()
        env = {
            "PATH": "/usr/bin:/bin",
            "AMQP_URI": amqp_uri,
            "FINANCE_DB_URL": db_url,
            "FINANCE_METRICS_PORT": str(port),
            "YTCS_VAR": str(tmp_path),
            "YTCS_QUORUM_QUEUES": "1",
            "YTCS_DELIVERY_LIMIT": "3",
        }
        log = open(tmp_path / "finance.log", "wb")  # noqa: SIM115 - closed below
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.common.runner", "finance"], env=env, cwd=ROOT, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert proc.poll() is None, (tmp_path / "finance.log").read_text()[-3000:]
                try:
                    if "ok" in consumed(port):
                        break
                except requests.RequestException:
                    pass
                assert time.monotonic() < deadline, "finance did not start"
                time.sleep(0.3)
            yield amqp_uri, db_url, port
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.close()
            admin(f'ALTER DATABASE "{db_url.rsplit("/", 1)[1]}" ALLOW_CONNECTIONS true')


def test_a_database_outage_dead_letters_nothing_and_loses_nothing(
    finance: tuple[str, str, int], tmp_path: Path
) -> None:
    amqp_uri, db_url, port = finance
    name = db_url.rsplit("/", 1)[1]
    facility = fresh_facility()
    queue = "evt-claims-capitation_spend_changed--finance.on_capitation_spend_changed"

    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
    admin(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'")
    exchange = Exchange("claims.events", type="topic", durable=True)
    with Connection(amqp_uri) as conn:
        producer = conn.Producer()
        for k in range(EVENTS):
            envelope = {
                "event_id": str(uuid.uuid4()),
                "event_type": "capitation_spend_changed",
                "version": 1,
                "source": "claims",
                "occurred_at": datetime.now(UTC).isoformat(),
                "correlation_id": None,
                "data": {"facility_code": facility, "period": "2024-Q3", "spend": f"{1000 + k}.00", "claims": 1},
            }
            producer.publish(
                envelope,
                exchange=exchange,
                routing_key="capitation_spend_changed",
                serializer="json",
                declare=[exchange],
            )
    time.sleep(OUTAGE)
    during = consumed(port)
    assert during.get("retry", 0) >= EVENTS, during  # the handler met the outage, more than once per event
    assert queue_depth(amqp_uri, DLQ_NAME) == 0 and during.get("dead_lettered", 0) == 0

    admin(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')
    deadline = time.monotonic() + 60
    while reports(db_url, facility) < EVENTS:
        assert time.monotonic() < deadline, (
            reports(db_url, facility),
            consumed(port),
            {"queue": queue_depth(amqp_uri, queue), "dead letters": queue_depth(amqp_uri, DLQ_NAME)},
            (tmp_path / "finance.log").read_text()[-6000:],
        )
        time.sleep(0.5)
    time.sleep(1.0)
    after = consumed(port)
    assert reports(db_url, facility) == EVENTS  # each once: no copy stored twice
    assert after.get("ok", 0) == EVENTS and after.get("dead_lettered", 0) == 0
    assert queue_depth(amqp_uri, DLQ_NAME) == 0 and queue_depth(amqp_uri, queue) == 0
