"""`ytcs run`: start the three services, the claims intake workers and the gateway, restart whatever dies, stop
all on Ctrl-C.

Like `restart: always` under docker-compose: a process that exits is started again after a short,
growing pause. In-flight work survives a restart because it lives in the broker and the databases
(unacked messages are redelivered; claim files resume from their stored bytes).

Before that, in order: one run per data folder (a lock); the broker (AMQP_URI, else the default port, else a
private node under var/rabbitmq, services/common/broker_node.py); a refusal when another stack consumes our
queues on that vhost; the migrations, in a child that a Ctrl-C does not cut in half; the first admin's
one-time link when there is no user. A Ctrl-C at any of these moments stops what was started, in order.
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
from urllib.parse import urlsplit

from services.common import broker_node, config
from services.common.broker_node import BrokerNode


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
        # A session of its own: a Ctrl-C in the terminal reaches only us, and each child is told once, by us
        # (a service told twice, by the terminal and then by us, stopped its nameko runner twice and crashed).
        self.proc = subprocess.Popen(  # noqa: S603 - our own fixed argv
            self.argv, env={**env, **self.env}, start_new_session=True, preexec_fn=broker_node.die_with_parent
        )
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
    """`YTCS_CLAIMS_REPLICAS` (default 1): claims intake workers (services/claims/worker.py) consuming the same
    queues. Files are shared out by the broker (one `file_received` per file), each file and chunk is leased to
    one process (intake.py); the claims RPCs are answered by one process of their own beside them."""
    try:
        return config.whole_number("YTCS_CLAIMS_REPLICAS", 1, 1, 16)
    except ValueError as exc:
        raise SystemExit(f"ytcs: {exc}") from None


def children(replicas: int | None = None) -> list[Child]:
    py = sys.executable
    out = [Child(s, [py, "-m", "services.common.runner", s]) for s in config.SERVICES]
    # Intake worker k serves its metrics on CLAIMS_INTAKE_METRICS_PORT + 100·(k−1): 9104, 9204… by default.
    base = config.metrics_port(config.CLAIMS_INTAKE)
    for k in range(1, (replicas if replicas is not None else claims_replicas()) + 1):
        name = config.CLAIMS_INTAKE if k == 1 else f"{config.CLAIMS_INTAKE}#{k}"
        argv = [py, "-m", "services.common.runner", config.CLAIMS_INTAKE]
        out.append(Child(name, argv, {"CLAIMS_INTAKE_METRICS_PORT": str(base + 100 * (k - 1))}))
    out.append(
        Child("gateway", [py, "-m", "gunicorn", "-c", str(Path(__file__).parent / "gateway" / "gunicorn_conf.py")])
    )
    return out


def prepare_metrics_dir() -> str:
    path = config.var_dir() / "prometheus-multiproc"
    shutil.rmtree(path, ignore_errors=True)  # stale files from a previous run would add old counts
    path.mkdir(parents=True)
    return str(path)


DEFAULT_AMQP_HOST = "127.0.0.1"
RPC_QUEUES = tuple(f"rpc-{s}" for s in config.SERVICES)  # nameko's queue per service: consumed by its processes


def default_amqp_port() -> int:
    """The port where `ytcs run` looks for a broker when no AMQP_URI is set (a test points it at a closed one)."""
    return int(os.environ.get("YTCS_DEFAULT_AMQP_PORT", "5672"))


def foreign_consumers(uri: str) -> dict[str, int]:
    """Queues of ours that something already consumes on this vhost: {queue: consumers}. Asked before our own
    processes start, so any consumer belongs to another stack (or to orphans of a killed run)."""
    from amqp.exceptions import NotFound
    from kombu import Connection

    found: dict[str, int] = {}
    with Connection(uri, connect_timeout=5) as conn:
        for queue in RPC_QUEUES:
            channel = conn.channel()  # a passive declare of a missing queue closes its channel: one each
            try:
                ok = channel.queue_declare(queue, passive=True)
            except NotFound:
                continue
            if ok.consumer_count:
                found[queue] = ok.consumer_count
            channel.close()
    return found


def vhost_advice(uri: str, found: dict[str, int]) -> str:
    from kombu import Connection

    conn = Connection(uri)
    vhost = conn.virtual_host or "/"
    other = "ytcs-dev" if vhost != "ytcs-dev" else "ytcs-dev2"
    user = conn.userid or "guest"
    # The credentials as typed only when they are RabbitMQ's well-known default; a real password is never echoed.
    typed = urlsplit(uri).netloc.rpartition("@")[0]
    login = typed if typed == "guest:guest" else f"{user}:…"
    where = f"{conn.hostname}:{conn.port or 5672}"
    queues = ", ".join(f"{q} ({n})" for q, n in sorted(found.items()))
    return (
        f"ytcs: một hệ thống YTCS khác đang chạy trên virtual host {vhost!r} của RabbitMQ {where} "
        f"(hàng đợi {queues} đã có người nhận); hai hệ thống trên một vhost sẽ trả lời lẫn nhau. / "
        f"Another YTCS stack already consumes its queues on vhost {vhost!r} at {where}. "
        f"Give this one its own vhost: rabbitmqctl add_vhost {other} && "
        f"rabbitmqctl set_permissions -p {other} {user} '.*' '.*' '.*' && "
        f"AMQP_URI=amqp://{login}@{where}/{other} make run"
    )


class Stopping:
    """Set by SIGINT/SIGTERM: every phase of the start checks it, so a Ctrl-C at any moment stops cleanly."""

    def __init__(self) -> None:
        self.requested = False

    def __call__(self, signum: int, _frame: object) -> None:
        self.requested = True

    def __bool__(self) -> bool:
        return self.requested


def lock_var_dir() -> int | None:
    """One `ytcs run` per data folder (two would share SQLite files and the private node): the lock goes
    with the process, so a killed run leaves none behind. None when another run holds it."""
    import fcntl

    fd = os.open(config.var_dir() / "ytcs-run.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def choose_broker(stopping: Stopping) -> tuple[str | None, BrokerNode | None]:
    """The broker to run on: AMQP_URI when set; else the default port when it answers; else a private node
    started under var/rabbitmq. (None, None) when there is none (the reason is printed) or on Ctrl-C."""
    uri = os.environ.get("AMQP_URI")
    if not uri:
        port = default_amqp_port()
        uri = f"amqp://guest:guest@{DEFAULT_AMQP_HOST}:{port}/"
        if not broker_node.port_open(port, DEFAULT_AMQP_HOST):
            return private_broker(port, stopping)
    reason = broker_reachable(uri)
    if reason:
        print(
            f"ytcs: RabbitMQ is not reachable at {uri} ({reason}). "
            "Start one with `rabbitmq-server -detached` or `docker compose up -d rabbitmq`, or set AMQP_URI.",
            file=sys.stderr,
        )
        return None, None
    return uri, None


def private_broker(port: int, stopping: Stopping) -> tuple[str | None, BrokerNode | None]:
    try:
        node = BrokerNode(config.var_dir() / "rabbitmq")
    except broker_node.BrokerNodeError as exc:
        print(exc, file=sys.stderr)
        return None, None
    print(
        f"ytcs: không có RabbitMQ ở {DEFAULT_AMQP_HOST}:{port} — chạy nút RabbitMQ riêng {node.node} "
        f"(dữ liệu trong {node.base}) / no RabbitMQ at {DEFAULT_AMQP_HOST}:{port}: starting a private node",
        flush=True,
    )
    try:
        if not node.start(cancelled=lambda: bool(stopping)):
            return None, None
    except broker_node.BrokerNodeError as exc:
        print(exc, file=sys.stderr)
        return None, None
    print(f"ytcs: RabbitMQ riêng sẵn sàng / private RabbitMQ ready: {node.uri}", flush=True)
    return node.uri, node


def migrate(stopping: Stopping) -> int:
    """`ytcs migrate` in a child of its own session: a Ctrl-C in the terminal does not cut a migration in
    half (SQLite's DDL is not transactional under the sqlite3 module); we stop once it has finished."""
    proc = subprocess.Popen(  # noqa: S603 - our own fixed argv
        [sys.executable, "-m", "services.cli", "migrate"], start_new_session=True
    )
    told = False
    while proc.poll() is None:
        if stopping and not told:
            print("ytcs: chờ xong bước cập nhật cơ sở dữ liệu / waiting for the migration to finish", flush=True)
            told = True
        time.sleep(0.2)
    return proc.returncode


def setup_link() -> str | None:
    """The first admin's one-time link when nobody can log in yet (services/gateway/first_admin.py)."""
    from sqlalchemy.orm import Session

    from services.common.db import make_engine
    from services.gateway import first_admin

    engine = make_engine(config.db_url("gateway"))
    try:
        with Session(engine) as s:
            if first_admin.has_users(s):
                first_admin.revoke()
                return None
    finally:
        engine.dispose()
    return f"http://127.0.0.1:{config.http_port()}/setup?token={first_admin.issue()}"


def run() -> int:
    stopping = Stopping()
    signal.signal(signal.SIGINT, stopping)
    signal.signal(signal.SIGTERM, stopping)
    lock = lock_var_dir()
    if lock is None:
        print(
            f"ytcs: một `ytcs run` khác đang dùng thư mục dữ liệu {config.var_dir()} / another `ytcs run` already "
            "uses this data folder: stop it first, or give this one its own (YTCS_VAR=…)",
            file=sys.stderr,
        )
        return 2
    node: BrokerNode | None = None
    try:
        uri, node = choose_broker(stopping)
        if stopping:
            return 0
        if uri is None:
            return 2
        os.environ["AMQP_URI"] = uri  # the services and the gateway run on the broker chosen here
        found = foreign_consumers(uri)
        if found:
            print(vhost_advice(uri, found), file=sys.stderr)
            return 2
        code = migrate(stopping)
        if stopping:
            return 0
        if code != 0:
            print(f"ytcs: migrate failed (exit {code})", file=sys.stderr)
            return code
        link = setup_link()
        return supervise(stopping, link)
    finally:
        if node is not None:
            print("ytcs: dừng nút RabbitMQ riêng / stopping the private RabbitMQ node", flush=True)
            node.stop()
        os.close(lock)


def supervise(stopping: Stopping, link: str | None) -> int:
    env = dict(os.environ)
    env["YTCS_VAR"] = str(config.var_dir())
    gateway_env = dict(env, PROMETHEUS_MULTIPROC_DIR=prepare_metrics_dir())
    # Without YTCS_SECRET_KEY every gunicorn worker reads one session key kept under YTCS_VAR
    # (gateway/session_store.py), so a restart keeps people logged in.
    kids = children()
    for kid in kids:
        if stopping:
            break
        kid.start(gateway_env if kid.name == "gateway" else env)
    if not stopping:
        print(f"ytcs: serving http://127.0.0.1:{config.http_port()} — Ctrl-C to stop", flush=True)
        if link:
            print(
                "ytcs: chưa có tài khoản nào — mở liên kết dùng một lần này để tạo tài khoản quản trị / "
                f"no user yet — open this one-time link to create the first admin:\n    {link}\n"
                "ytcs: (hoặc / or: .venv/bin/ytcs user create --username admin --role admin)",
                flush=True,
            )
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
