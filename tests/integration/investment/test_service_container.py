"""The investment service in a running nameko container (RabbitMQ, its Database dependency on SQLite), called
through nameko's `entrypoint_hook`: a command, the reads that show it, and a refusal crossing as its kind. The
event the command queued carries the request's correlation id. tests/unit/investment/test_service_entrypoints.py
calls every entrypoint through `worker_factory`.

Nameko containers need eventlet's monkey patching, which this pytest process does not do: the container runs in a
child interpreter that patches first, as `ytcs serve` does (as in tests/integration/test_log_correlation.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from services.common.db import make_engine, transaction
from services.common.migrate import upgrade
from services.investment.models import Outbox
from services.investment.register_loader import sync_register
from tests.support.infra import ROOT, rabbit_vhost

CONTAINER_SCRIPT = r"""
import eventlet
eventlet.monkey_patch()
import json, sys
from nameko.containers import ServiceContainer
from nameko.testing.services import entrypoint_hook, replace_dependencies
from services.common.errors import DomainError
from services.investment.service import Service

amqp_uri, db_url = sys.argv[1:3]
container = ServiceContainer(Service, {"AMQP_URI": amqp_uri, "DB_URL": db_url})
# The relay publishes and the metrics export: replaced, so the answers are the handlers' and views' alone.
relay, _metrics, _business = replace_dependencies(container, "relay", "metrics", "business")
container.start()
seen = {}
try:
    body = {"attribute": "national_health_criteria", "value": True, "year": 2021}
    with entrypoint_hook(container, "record_station_status", context_data={"correlation_id": "corr-1"}) as record:
        seen["reached"] = record("30739", body, "officer")["criteria_reached"]
    seen["relay_calls"] = relay.call_count
    with entrypoint_hook(container, "get_station") as get_station:
        seen["criteria"] = get_station("30739")["national_health_criteria"]
    with entrypoint_hook(container, "health") as health:
        seen["health"] = health()
    project = {"station_code": "30733", "kind": "palace", "title": "x", "estimated_cost": 1, "plan_id": 1,
               "item_code": "II.5"}
    try:
        with entrypoint_hook(container, "register_project") as register:
            register(project)
    except DomainError as exc:
        seen["refused"] = [type(exc).__name__, [e["code"] for e in exc.errors]]
    seen["relay_calls_after_refusal"] = relay.call_count
finally:
    container.stop()
print(json.dumps(seen))
"""


def test_a_command_its_reads_and_a_refusal_through_a_running_container(tmp_path: Path) -> None:
    db_url = f"sqlite:///{tmp_path / 'investment.db'}"
    upgrade("investment", db_url)
    engine = make_engine(db_url)
    factory = sessionmaker(engine, expire_on_commit=False)
    with transaction(factory) as s:
        sync_register(s)
    script = tmp_path / "investment_container.py"
    script.write_text(CONTAINER_SCRIPT)
    with rabbit_vhost() as amqp_uri:  # its own vhost: no other test's investment service shares its RPC queue
        out = subprocess.run(
            [sys.executable, str(script), amqp_uri, db_url],
            capture_output=True,
            text=True,
            timeout=90,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    assert out.returncode == 0, out.stderr[-3000:]
    seen = json.loads(out.stdout.strip().splitlines()[-1])
    assert seen == {
        "reached": True,
        "relay_calls": 1,
        "criteria": True,
        "health": {"status": "ok", "stations": 194},
        "refused": ["DomainError", ["invalid_kind"]],
        "relay_calls_after_refusal": 1,
    }
    with transaction(factory) as s:
        [event] = s.scalars(select(Outbox).where(Outbox.event_type == "station_criteria_reached")).all()
        assert event.correlation_id == "corr-1"
    engine.dispose()
