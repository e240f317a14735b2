"""The finance service in the running system: the claims event it consumes (real messages on RabbitMQ,
redelivered), the events it publishes through its outbox, and the funding RPCs the gateway calls."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from kombu import Connection, Exchange, Queue

from services.gateway.clients import ServiceClients
from tests.support.facilities import fresh_facility


def publish_spend(stack, event_id: str, facility: str, period: str, spend: str, at: datetime) -> None:
    envelope = {
        "event_id": event_id,
        "event_type": "capitation_spend_changed",
        "version": 1,
        "source": "claims",
        "occurred_at": at.isoformat(),
        "correlation_id": None,
        "data": {"facility_code": facility, "period": period, "spend": spend, "claims": 3},
    }
    exchange = Exchange("claims.events", type="topic", durable=True)
    with Connection(stack.env["AMQP_URI"]) as conn:
        conn.Producer().publish(
            envelope, exchange=exchange, routing_key="capitation_spend_changed", serializer="json", declare=[exchange]
        )


def get(stack, token, path, **params):
    r = requests.get(stack.url + path, headers={"Authorization": f"Bearer {token}"}, params=params, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def wait_for(check, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_capitation_spend_is_consumed_once_and_the_latest_level_wins(stack):
    token = stack.token("bhxh")
    facility = fresh_facility()
    now = datetime.now(UTC)
    first = str(uuid.uuid4())
    publish_spend(stack, first, facility, "2024-Q1", "1000000.50", now)
    publish_spend(stack, first, facility, "2024-Q1", "1000000.50", now)  # a redelivery: same event id
    status = wait_for(lambda: get(stack, token, "/api/v1/capitation", facility=facility, period="2024-Q1")["spend"])
    assert status == "1000000.50"
    # An older level arriving late does not replace the newer one; a newer one does.
    publish_spend(stack, str(uuid.uuid4()), facility, "2024-Q1", "5.00", now - timedelta(minutes=5))
    publish_spend(stack, str(uuid.uuid4()), facility, "2024-Q1", "1200000.40", now + timedelta(seconds=1))

    def reports():
        return get(stack, token, "/api/v1/capitation", facility=facility, period="2024-Q1")

    wait_for(lambda: reports()["spend_reports"] >= 3)
    time.sleep(1.0)  # room for a wrongly stored duplicate to show up
    view = reports()
    assert view["spend"] == "1200000.40" and view["spend_reports"] == 3  # the duplicate was not stored

    # The capitation spend alone gives no advance: the law takes 80% of the facility's quarterly report
    # (all payment methods), and none was received (tests/e2e/test_capitation_by_law.py has the report).
    suggestion = get(stack, token, "/api/v1/capitation/advances/suggestion", facility=facility, period="2024-Q2")
    assert (suggestion["previous_period"], suggestion["suggested"], suggestion["share"]) == ("2024-Q1", None, "0.80")
    assert suggestion["report"] is None and "2024-Q1" in suggestion["message"]

    finance = {"Authorization": f"Bearer {stack.token('finance')}"}
    bhxh = {"Authorization": f"Bearer {token}"}
    r = requests.post(
        stack.url + "/api/v1/capitation/funds",
        headers=finance,
        timeout=30,
        json={
            "facility_code": facility,
            "period": "2024-Q1",
            "cards": 100,
            "rate_per_card": 11_000,
            "coefficient": "1",
        },
    )
    assert r.status_code == 201 and r.json()["fund"] == 1_100_000
    r = requests.post(
        stack.url + "/api/v1/capitation/settlements",
        headers=bhxh,
        timeout=30,
        json={"facility_code": facility, "period": "2024"},
    )
    assert r.status_code == 201, r.text
    s = r.json()
    # The year (only Q1 has a fund and spend): spend 1 200 000,40 đ → 1 200 000 đ, a deficit of 100 000 đ the
    # facility bears; nothing for the stations, so no share or decision is asked for.
    assert s["provisional"] is False
    assert (s["spend"], s["spend_vnd"], s["balance"], s["deficit"], s["station_share"]) == (
        "1200000.40",
        1_200_000,
        -100_000,
        100_000,
        0,
    )


@pytest.fixture
def finance_events(stack):
    """A queue bound to everything finance publishes, declared before the test writes anything."""
    exchange = Exchange("finance.events", type="topic", durable=True)
    queue = Queue(f"test-finance-{uuid.uuid4().hex[:8]}", exchange=exchange, routing_key="#", auto_delete=True)
    with Connection(stack.env["AMQP_URI"]) as conn:
        bound = queue(conn.default_channel)
        bound.declare()
        yield conn, bound


def test_every_write_publishes_its_event_with_id_version_and_time(stack, finance_events):
    conn, queue = finance_events
    headers = {"Authorization": f"Bearer {stack.token('finance')}"}
    decision = {"decision_no": f"{uuid.uuid4().hex[:5]}/QĐ", "decision_date": "2023-01-02"}
    root = requests.post(
        stack.url + "/api/v1/allocations",
        headers=headers,
        timeout=30,
        json={
            "plan_id": 1,
            "item_code": "II.3",
            "source": "oda_aid",
            "fiscal_year": 2023,
            "recipient_unit": "91",
            "amount": 10_000,
            **decision,
        },
    ).json()
    sub = requests.post(
        stack.url + "/api/v1/allocations",
        headers=headers,
        timeout=30,
        json={"parent_allocation_id": root["id"], "recipient_unit": "910", "amount": 4_000, **decision},
    ).json()
    paid = requests.post(
        stack.url + f"/api/v1/allocations/{sub['id']}/disbursements",
        headers=headers,
        timeout=30,
        json={"amount": 1_000, "date": "2023-03-01"},
    ).json()
    requests.post(
        stack.url + f"/api/v1/disbursements/{paid['id']}/reversals",
        headers=headers,
        timeout=30,
        json={"date": "2023-03-02"},
    ).raise_for_status()
    requests.post(
        stack.url + f"/api/v1/allocations/{root['id']}/adjustments",
        headers=headers,
        timeout=30,
        json={"amount": -1_000, **decision},
    ).raise_for_status()

    mine: dict[str, list[dict]] = {}
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and sum(len(v) for v in mine.values()) < 5:
        message = queue.get(no_ack=True)
        if message is None:
            time.sleep(0.1)
            continue
        body = message.payload
        data = body["data"]
        if data.get("allocation_id") in (root["id"], sub["id"]):
            mine.setdefault(body["event_type"], []).append(body)
    assert {k: len(v) for k, v in mine.items()} == {
        "allocation_made": 1,
        "sub_allocation_made": 1,
        "disbursed": 2,
        "adjusted": 1,
    }
    for bodies in mine.values():
        for body in bodies:
            assert body["version"] == 1 and body["source"] == "finance"
            uuid.UUID(body["event_id"])
            assert datetime.fromisoformat(body["occurred_at"]).tzinfo is not None
    assert mine["sub_allocation_made"][0]["data"]["parent_allocation_id"] == root["id"]
    assert sorted(d["data"]["amount"] for d in mine["disbursed"]) == [-1_000, 1_000]
    conn.release()


def test_funding_rpcs_answer_the_gateway_shape(stack):
    headers = {"Authorization": f"Bearer {stack.token('finance')}"}
    decision = {"decision_no": "1/QĐ", "decision_date": "2019-05-02"}
    # 2019, item IV.7 (UBND huyện's task): a corner of the books no other test writes to.
    root = requests.post(
        stack.url + "/api/v1/allocations",
        headers=headers,
        timeout=30,
        json={
            "plan_id": 1,
            "item_code": "IV.7",
            "source": "socialization",
            "fiscal_year": 2019,
            "recipient_unit": "91",
            "amount": 3_000,
            **decision,
        },
    ).json()
    sub = requests.post(
        stack.url + "/api/v1/allocations",
        headers=headers,
        timeout=30,
        json={"parent_allocation_id": root["id"], "recipient_unit": "910", "amount": 2_000, **decision},
    ).json()
    requests.post(
        stack.url + f"/api/v1/allocations/{sub['id']}/disbursements",
        headers=headers,
        timeout=30,
        json={"amount": 1_000, "date": "2019-06-01"},
    ).raise_for_status()
    clients = ServiceClients(stack.env["AMQP_URI"])
    status = clients.call("finance", "funding_status", 1, "IV.7", 2019)
    assert {k: status[k] for k in ("plan_id", "code", "year", "allocated", "disbursed", "execution_rate")} == {
        "plan_id": 1,
        "code": "IV.7",
        "year": 2019,
        "allocated": 3_000,
        "disbursed": 1_000,
        "execution_rate": "0.3333",
    }
    assert status["by_source"] == {"socialization": {"allocated": 3_000, "disbursed": 1_000}}
    assert status["by_year"] == {"2019": {"allocated": 3_000, "disbursed": 1_000}}
    district = clients.call("finance", "funding_status", 2, "IV.7", 2019)
    assert (district["allocated"], district["disbursed"]) == (2_000, 1_000)
    tree = clients.call("finance", "funding_tree", 1, 2019, "910")
    assert tree["items"]["IV.7"]["allocated"] == 2_000 and tree["items"]["IV"]["allocated"] == 2_000
    assert set(tree["items"]) >= {"I", "II.5", "IV.8", "V"}
    empty = clients.call("finance", "funding_status", 1, "V", 2019)
    assert (empty["allocated"], empty["execution_rate"], empty["by_source"]) == (0, None, {})
