"""`ytcs run`: start the three services and the gateway, restart whatever dies, stop all on Ctrl-C.

Like `restart: always` under docker-compose: a process that exits is started again after a short,
growing pause. In-flight work survives a restart because it lives in the broker and the databases
(unacked messages are redelivered; claim files resume from their stored bytes).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from services.common import config


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)  # on top of the shared environment (a replica's port)
    proc: subprocess.Popen | None = None
    restarts: int = 0
    started_at: float = 0.0
    next_start: float = field(default=0.0)

    def start(self, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(self.argv, env={**env, **self.env})  # noqa: S603 - our own fixed argv
        self.started_at = time.monotonic()
        print(f"ytcs: started {self.name} (pid {self.proc.pid})", flush=True)


def broker_reachable(uri: str, timeout: float = 3.0) -> str | None:
    """None if RabbitMQ answers, else the reason."""
    from kombu import Connection

    try:
        with Connection(uri, connect_timeout=timeout) as conn:
            conn.ensure_connection(max_retries=1)
        return None
    except Exception as exc:  # noqa: BLE001 - any failure means: not reachable
        return str(exc) or exc.__class__.__name__


def claims_replicas() -> int:
    """`YTCS_CLAIMS_REPLICAS` (default 1): claims processes consuming the same queues. Files are shared out
    by the broker (one `file_received` per file) and each file is leased to one process (intake.py)."""
    raw = os.environ.get("YTCS_CLAIMS_REPLICAS", "1").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 16:
        raise SystemExit(f"ytcs: YTCS_CLAIMS_REPLICAS must be a whole number from 1 to 16, not {raw!r}")
    return int(raw)


def children(replicas: int | None = None) -> list[Child]:
    py = sys.executable
    out = [Child(s, [py, "-m", "services.common.runner", s]) for s in config.SERVICES]
    # Replica k (from 2) serves its metrics on CLAIMS_METRICS_PORT + 100·(k−1): 9202, 9302… by default.
    base = config.metrics_port("claims")
    for k in range(2, (replicas if replicas is not None else claims_replicas()) + 1):
        port = str(base + 100 * (k - 1))
        out.append(Child(f"claims#{k}", [py, "-m", "services.common.runner", "claims"], {"CLAIMS_METRICS_PORT": port}))
    out.append(
        Child("gateway", [py, "-m", "gunicorn", "-c", str(Path(__file__).parent / "gateway" / "gunicorn_conf.py")])
    )
    return out


def prepare_metrics_dir() -> str:
    path = config.var_dir() / "prometheus-multiproc"
    shutil.rmtree(path, ignore_errors=True)  # stale files from a previous run would add old counts
    path.mkdir(parents=True)
    return str(path)


def run() -> int:
    reason = broker_reachable(config.amqp_uri())
    if reason:
        print(
            f"ytcs: RabbitMQ is not reachable at {config.amqp_uri()} ({reason}). "
            "Start one with `rabbitmq-server -detached` or `docker compose up -d rabbitmq`, or set AMQP_URI.",
            file=sys.stderr,
        )
        return 2
    from services.cli import migrate_all

    migrate_all(verbose=True)
    env = dict(os.environ)
    env["YTCS_VAR"] = str(config.var_dir())
    gateway_env = dict(env, PROMETHEUS_MULTIPROC_DIR=prepare_metrics_dir())
    if "YTCS_SECRET_KEY" not in env:
        # One key for every gunicorn worker, so a session cookie is valid whichever worker answers.
        import secrets

        gateway_env["YTCS_SECRET_KEY"] = secrets.token_hex(32)
    kids = children()
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for kid in kids:
        kid.start(gateway_env if kid.name == "gateway" else env)
    print(f"ytcs: serving http://127.0.0.1:{config.http_port()} — Ctrl-C to stop", flush=True)
    while not stopping:
        time.sleep(0.5)
        now = time.monotonic()
        for kid in kids:
            if kid.proc is not None and kid.proc.poll() is not None:
                code = kid.proc.returncode
                kid.proc = None
                # Back off when it keeps dying young; start at once after a long healthy run.
                quick = now - kid.started_at < 30
                kid.restarts = kid.restarts + 1 if quick else 0
                kid.next_start = now + min(30.0, 0.5 * 2**kid.restarts) if quick else now
                print(f"ytcs: {kid.name} exited with {code}; restarting", file=sys.stderr, flush=True)
            if kid.proc is None and now >= kid.next_start and not stopping:
                kid.start(gateway_env if kid.name == "gateway" else env)
    print("ytcs: stopping…", flush=True)
    for kid in kids:
        if kid.proc is not None and kid.proc.poll() is None:
            kid.proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + 25
    for kid in kids:
        if kid.proc is None:
            continue
        try:
            kid.proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            kid.proc.kill()
            kid.proc.wait()
    print("ytcs: stopped", flush=True)
    return 0
