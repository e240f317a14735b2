"""`ytcs dlq` end to end: a poison event published to the running claims service's queue (the stack, on its own
vhost) is dead-lettered by the real handler, listed and shown by the command, fixed and replayed exactly once;
another is discarded with who and why in the audit log; a redelivery is counted as a duplicate."""

from __future__ import annotations

import json
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests
from kombu import Connection, Exchange
from prometheus_client.parser import text_string_to_metric_families

from services.common import dlq
from tests.support.facilities import fresh_facility
from tests.support.infra import ROOT, Stack

pytestmark = [pytest.mark.rabbit, pytest.mark.slow]

PERIOD = "2024-Q2"


def fund_event(event_id: str, fund_id: int, facility: str, fund: object) -> dict:
    return {
        "event_id": event_id,
        "event_type": "capitation_fund_set",
        "version": 1,
        "source": "finance",
        "occurred_at": "2024-04-01T00:00:00+00:00",
        "correlation_id": None,
        "data": {"fund_id": fund_id, "facility_code": facility, "period": PERIOD, "fund": fund},
    }


def publish(stack: Stack, envelope: dict) -> None:
    """As finance's relay does: to its events exchange, routed by event type."""
    exchange = Exchange("finance.events", type="topic", durable=True)
    with Connection(stack.env["AMQP_URI"]) as conn:
        conn.Producer().publish(
            envelope, exchange=exchange, routing_key=envelope["event_type"], serializer="json", declare=[exchange]
        )


def ytcs(stack: Stack, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ROOT / ".venv/bin/ytcs"), "dlq", *args],
        env=stack.env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def wait_for(check, timeout: float = 30.0):  # noqa: ANN001, ANN201
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.3)


def consumed(stack: Stack, outcome: str) -> float:
    """claims' ytcs_events_consumed_total for capitation_fund_set and `outcome`, read from its metrics port."""
    text = requests.get(f"http://127.0.0.1:{stack.env['CLAIMS_METRICS_PORT']}/metrics", timeout=10).text
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            if s.name == "ytcs_events_consumed_total" and s.labels == {
                "service": "claims",
                "event_type": "capitation_fund_set",
                "outcome": outcome,
            }:
                return s.value
    return 0.0


def test_a_poison_event_is_listed_fixed_and_replayed_once_and_another_discarded(stack: Stack, tmp_path: Path) -> None:
    facility = fresh_facility()
    fund_id = 900_000_000 + uuid.uuid4().int % 1_000_000
    poison, other = str(uuid.uuid4()), str(uuid.uuid4())
    dead_before = consumed(stack, "dead_lettered")
    publish(stack, fund_event(poison, fund_id, facility, "năm mươi triệu"))  # not an amount: the contract refuses
    publish(stack, fund_event(other, fund_id + 1, facility, None))

    def both_listed() -> str:
        out = ytcs(stack, "list").stdout
        return out if poison in out and other in out else ""

    listed = wait_for(both_listed)
    assert listed, ytcs(stack, "list").stdout
    line = next(row for row in listed.splitlines() if poison in row)
    assert "capitation_fund_set" in line and "reason=rejected" in line
    assert "from=evt-finance-capitation_fund_set--claims.on_capitation_fund_set " in line  # the real handler's queue
    assert consumed(stack, "dead_lettered") >= dead_before + 2  # the real handler parked both

    shown = ytcs(stack, "show", poison)
    assert shown.returncode == 0, shown.stderr
    view = json.loads(shown.stdout)
    assert view["event_id"] == poison and view["body"]["data"]["fund"] == "năm mươi triệu"
    assert view["headers"]["x-death"][0]["reason"] == "rejected"

    # Still wrong data is refused, and the letter stays.
    bad = ytcs(stack, "replay", "--event-id", poison, "--data", "-", "--reason", "x", stdin=json.dumps({"fund": 1}))
    assert bad.returncode == 1 and "capitation_fund_set" in bad.stderr
    assert poison in ytcs(stack, "list").stdout

    fixed = {"fund_id": fund_id, "facility_code": facility, "period": PERIOD, "fund": 50_000_000}
    (tmp_path / "fixed.json").write_text(json.dumps(fixed))
    done = ytcs(
        stack, "replay", "--event-id", poison, "--data", str(tmp_path / "fixed.json"), "--by", "kt.lan",
        "--reason", "finance published the fund as text (bug 123), amount from decision 45/QĐ",
    )  # fmt: skip
    assert done.returncode == 0 and poison in done.stdout, done.stderr

    bhxh = {"Authorization": f"Bearer {stack.token('bhxh')}"}

    def fund() -> str:
        params = {"facility": facility, "period": PERIOD}
        r = requests.get(stack.url + "/api/v1/reconciliation", params=params, headers=bhxh, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["capitation"]["fund"] if r.json()["capitation"]["fund_set"] else ""

    assert wait_for(fund) == "50000000.00"
    # Exactly once: it left the dead-letter queue, a second replay finds nothing, the fund is not doubled.
    assert poison not in ytcs(stack, "list").stdout
    again = ytcs(stack, "replay", "--event-id", poison)
    assert again.returncode == 1 and "trống" in again.stdout

    # The original published again (a redelivery) is absorbed by the inbox and counted as a duplicate.
    dup_before = consumed(stack, "duplicate")
    publish(stack, fund_event(poison, fund_id, facility, 50_000_000))
    assert wait_for(lambda: consumed(stack, "duplicate") >= dup_before + 1)
    time.sleep(0.5)
    assert fund() == "50000000.00"

    # Discard needs a reason; it records who, why and the whole message.
    refused = ytcs(stack, "discard", "--event-id", other)
    assert refused.returncode == 2 and "--reason" in refused.stderr
    gone = ytcs(stack, "discard", "--event-id", other, "--by", "kt.lan", "--reason", "a test fund, never real")
    assert gone.returncode == 0, gone.stderr
    assert other not in ytcs(stack, "list").stdout
    audit = dlq.audit_entries(Path(stack.env["YTCS_VAR"]) / "dead-letters.log")
    log = [e for e in audit if e["event_id"] in (poison, other)]
    assert [(e["action"], e["by"]) for e in log] == [("replay", "kt.lan"), ("discard", "kt.lan")]
    assert log[0]["fixed_data"]["fund"] == 50_000_000 and log[0]["body"]["data"]["fund"] == "năm mươi triệu"
    assert log[1]["reason"] == "a test fund, never real" and log[1]["body"]["data"]["fund"] is None
