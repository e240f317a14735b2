"""Issue 13, finding 8: two stacks on one RabbitMQ virtual host answer each other's calls and write into each
other's databases. `ytcs run` now refuses to start when something already consumes its services' RPC queues on
its vhost, and says which vhost to use instead; with a vhost of its own it starts as before."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import requests
from kombu import Connection, Exchange, Queue

from services.supervisor import RPC_QUEUES, foreign_consumers
from tests.support.infra import ROOT, Stack, rabbit_vhost


def _second_run(var: Path, uri: str) -> tuple[subprocess.CompletedProcess, float]:
    """`ytcs run` on `uri` as a second stack would start it (its own data folder and ports)."""
    env = Stack(var, uri).env
    began = time.monotonic()
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "run"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return out, time.monotonic() - began


def test_consumers_on_our_queues_are_found_per_vhost() -> None:
    with rabbit_vhost() as uri, rabbit_vhost() as other, Connection(uri) as conn:
        assert foreign_consumers(uri) == {}  # no queue yet: nobody there
        queue = Queue("rpc-claims", Exchange("nameko-rpc", type="topic"), routing_key="claims.*", durable=True)
        queue(conn.channel()).declare()
        assert foreign_consumers(uri) == {}  # a queue left by a stopped stack is not a running one
        consumer = conn.Consumer(queue, callbacks=[lambda body, message: None])
        consumer.consume()
        assert foreign_consumers(uri) == {"rpc-claims": 1}
        assert foreign_consumers(other) == {}  # another vhost is another world
        consumer.cancel()
        assert foreign_consumers(uri) == {}


def test_a_second_stack_on_the_same_vhost_refuses_to_start_and_names_another(tmp_path: Path) -> None:
    with rabbit_vhost() as uri:
        vhost = uri.rsplit("/", 1)[1]
        first = Stack(tmp_path / "first", uri)
        first.start()
        try:
            out, took = _second_run(tmp_path / "second", uri)
            text = out.stdout + out.stderr
            assert out.returncode == 2, text
            assert took < 60, took  # refused before migrating or starting anything
            assert f"'{vhost}'" in text and "rpc-finance" in text
            assert "rabbitmqctl add_vhost ytcs-dev" in text and "/ytcs-dev make run" in text
            assert "vhost" in text and "hệ thống YTCS khác" in text  # English and Vietnamese
            assert "started" not in text and "Traceback" not in text
            assert not list((tmp_path / "second").glob("*.db"))  # it wrote into no database
            # The first stack goes on serving, its consumers untouched.
            assert requests.get(first.url + "/healthz", timeout=10).json()["status"] == "ok"
            assert set(foreign_consumers(uri)) == set(RPC_QUEUES)
        finally:
            first.stop()
        # Once the first has stopped, the vhost is free again.
        assert foreign_consumers(uri) == {}
