"""`ytcs run` starts the claims RPC process once and N claims intake workers (YTCS_CLAIMS_REPLICAS / --replicas),
each on a metrics port of its own."""

from __future__ import annotations

import pytest

from services import supervisor
from services.common import config


def test_one_claims_process_and_one_intake_worker_by_default(monkeypatch) -> None:
    monkeypatch.delenv("YTCS_CLAIMS_REPLICAS", raising=False)
    names = [c.name for c in supervisor.children()]
    assert names.count("claims") == 1 and not any(n.startswith("claims#") for n in names)
    assert names.count("claims-intake") == 1 and not any(n.startswith("claims-intake#") for n in names)


def test_the_claims_rpc_process_is_started_once_whatever_the_replicas(monkeypatch) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "4")
    kids = supervisor.children()
    rpc = [c for c in kids if c.argv[-1] == "claims"]
    assert [c.name for c in rpc] == ["claims"] and rpc[0].argv[-2:] == ["services.common.runner", "claims"]
    assert len([c for c in kids if c.argv[-1] == "claims-intake"]) == 4


def test_replicas_compete_on_the_same_service_with_their_own_metrics_port(monkeypatch) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "3")
    monkeypatch.setenv("CLAIMS_METRICS_PORT", "9102")
    monkeypatch.delenv("CLAIMS_INTAKE_METRICS_PORT", raising=False)
    kids = {c.name: c for c in supervisor.children()}
    workers = ("claims-intake", "claims-intake#2", "claims-intake#3")
    assert {"claims", *workers, "finance", "investment", "gateway"} == set(kids)
    # The same worker: nameko's queues are shared (the worker is the claims service to the broker).
    assert kids["claims-intake#2"].argv == kids["claims-intake"].argv == kids["claims-intake#3"].argv
    assert kids["claims-intake"].argv[-2:] == ["services.common.runner", "claims-intake"]
    assert "CLAIMS_METRICS_PORT" not in kids["claims"].env  # the RPC process keeps the claims port, 9102
    assert [kids[n].env["CLAIMS_INTAKE_METRICS_PORT"] for n in workers] == ["9104", "9204", "9304"]


def test_the_intake_port_follows_the_claims_port_unless_set(monkeypatch) -> None:
    # A stack given its own ports (tests, a second checkout) moves its workers with them: no clash at 9104.
    monkeypatch.delenv("CLAIMS_INTAKE_METRICS_PORT", raising=False)
    monkeypatch.setenv("CLAIMS_METRICS_PORT", "9202")
    assert config.metrics_port("claims-intake") == 9204
    monkeypatch.setenv("CLAIMS_INTAKE_METRICS_PORT", "9500")
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "2")
    ports = [c.env.get("CLAIMS_INTAKE_METRICS_PORT") for c in supervisor.children() if c.argv[-1] == "claims-intake"]
    assert ports == ["9500", "9600"]


@pytest.mark.parametrize("bad", ["0", "x", "17"])
def test_a_bad_replica_count_is_refused(monkeypatch, bad) -> None:
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", bad)
    with pytest.raises(SystemExit):
        supervisor.children()


def test_cli_option_sets_the_variable(monkeypatch) -> None:
    import services.supervisor as sup
    from services import cli

    seen = {}
    monkeypatch.setenv("YTCS_CLAIMS_REPLICAS", "1")  # restored after the test, whatever the CLI writes
    monkeypatch.setattr(sup, "run", lambda: seen.setdefault("n", supervisor.claims_replicas()) and 0)
    cli.main(["run", "--replicas", "2"])
    assert seen["n"] == 2


def test_serve_and_the_runner_know_the_intake_worker(tmp_path) -> None:
    import os
    import socket
    import subprocess
    import sys

    assert "claims-intake" in config.PROCESSES and config.service_of("claims-intake") == "claims"
    # The runner monkey-patches the standard library when imported: asked in a child, never in this process.
    ask = "from services.common import runner; print(runner.service_class('claims-intake').__module__)"
    out = subprocess.run([sys.executable, "-c", ask], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.split() == ["services.claims.worker"]
    with socket.socket() as held:  # it gets as far as its own metrics port, and names the setting that moves it
        held.bind(("0.0.0.0", 0))
        held.listen()
        port = held.getsockname()[1]
        env = dict(os.environ, YTCS_VAR=str(tmp_path), CLAIMS_INTAKE_METRICS_PORT=str(port))
        run = subprocess.run(
            [sys.executable, "-m", "services.common.runner", "claims-intake"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert f"cannot serve metrics on port {port}" in run.stderr and "CLAIMS_INTAKE_METRICS_PORT" in run.stderr


def test_an_intake_worker_holds_no_more_chunks_than_it_loads_at_once(monkeypatch) -> None:
    # nameko's prefetch per queue is the pool size: a worker given the pool of the RPC services would hoard ten
    # chunk messages while loading two, and a replica started later (one killed, restarted) would find none.
    monkeypatch.delenv("YTCS_CLAIMS_CHUNK_SLOTS", raising=False)
    monkeypatch.setenv("YTCS_MAX_WORKERS", "10")
    assert config.nameko_config(config.CLAIMS_INTAKE)["max_workers"] == 2
    assert config.nameko_config(config.CLAIMS_INTAKE)["SERVICE_NAME"] == "claims"
    assert config.nameko_config("claims")["max_workers"] == 10
    monkeypatch.setenv("YTCS_CLAIMS_CHUNK_SLOTS", "1")
    assert config.nameko_config(config.CLAIMS_INTAKE)["max_workers"] == 1
    monkeypatch.setenv("YTCS_CLAIMS_CHUNK_SLOTS", "0")
    with pytest.raises(ValueError, match="YTCS_CLAIMS_CHUNK_SLOTS"):
        config.nameko_config(config.CLAIMS_INTAKE)
