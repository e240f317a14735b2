"""Real infrastructure for tests: PostgreSQL databases, RabbitMQ vhosts, the running stack."""

from __future__ import annotations

import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import requests

from services.common.broker_node import die_with_parent

PG_ADMIN = os.environ.get("YTCS_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
RABBIT_HOST = os.environ.get("YTCS_TEST_RABBIT_HOST", "127.0.0.1:5672")
ROOT = Path(__file__).resolve().parents[2]


def running(procs: list[psutil.Process]) -> list[int]:
    """The pids of those still running: gone, or a zombie nobody reaps (a container's first process may not), is
    stopped."""
    left = []
    for proc in procs:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                left.append(proc.pid)
        except psutil.NoSuchProcess:
            continue
    return left


# Ports for the stacks and servers tests start. Asking the kernel (bind to port 0, then close) is not enough: it
# may hand the same port to two calls in a row (seen: a stack's claims and investment metrics on one port, claims
# then never starting), or to another xdist worker before the first one's server binds it. So each worker takes
# ports from a range of its own below the kernel's ephemeral range (32768+ by default, where bind(0) and outgoing
# connections land), never the same one twice while the range lasts, each checked to be free when handed out.
PORT_BASE = 20000
PORT_SPAN = 1500  # per xdist worker: gw0 20000–21499, gw1 21500–22999 … gw7 up to 31999
# Every port handed out is a multiple of 4 from the base: a port the system derives from one it is given (the
# claims intake worker's metrics on the claims port + 2, its replica k + 100·(k−1) more: services/common/config.py,
# services/supervisor.py) is then never one handed out.
PORT_STEP = 4
_ports: Iterator[int] | None = None


def _worker_ports() -> Iterator[int]:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
    first = PORT_BASE + (int(worker) if worker.isdigit() else 0) % 8 * PORT_SPAN
    ports = range(first, first + PORT_SPAN, PORT_STEP)
    # From a random place in the range: two test runs on one machine at once (two checkouts, say) then rarely
    # walk the same ports at the same time.
    start = random.randrange(len(ports))  # noqa: S311 - not a secret
    while True:
        yield from ports[start:]
        yield from ports[:start]


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("0.0.0.0", port))  # noqa: S104 - a probe, closed at once: conflicts with a bind on any address
        except OSError:
            return False
    return True


def free_port() -> int:
    """A port nothing listens on, from this test worker's own range, not handed out again until the range comes
    round (375 ports later)."""
    global _ports
    if _ports is None:
        _ports = _worker_ports()
    for _ in range(PORT_SPAN // PORT_STEP):
        port = next(_ports)
        if _bindable(port):
            return port
    raise RuntimeError(f"no free port left in this worker's range from {PORT_BASE} (every one is in use)")


def pg_available() -> bool:
    try:
        import psycopg2

        psycopg2.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:
        return False


@contextlib.contextmanager
def pg_database(prefix: str = "ytcs_test") -> Iterator[str]:
    """A fresh PostgreSQL database, dropped afterwards."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN.rsplit("/", 1)[0] + "/" + name
    finally:
        with contextlib.suppress(Exception):
            _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _admin(sql: str) -> None:
    """One statement on the server's admin database, on a connection of its own: none is held while a test runs
    (the parallel suite's databases and stacks share the server's max_connections)."""
    import psycopg2

    conn = psycopg2.connect(PG_ADMIN)
    try:
        conn.autocommit = True
        conn.cursor().execute(sql)
    finally:
        conn.close()


def get_message(bound_queue: Any, no_ack: bool = False, within: float = 5.0) -> Any:
    """basic.get until a message arrives (a publish is asynchronous: it may not be there at once), or None."""
    deadline = time.monotonic() + within
    while (message := bound_queue.get(no_ack=no_ack)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return message


@contextlib.contextmanager
def rabbit_vhost() -> Iterator[str]:
    """An AMQP URI on a vhost of its own, so tests never meet a running `make run`'s queues."""
    vhost = f"ytcs-test-{uuid.uuid4().hex[:8]}"
    ctl = shutil.which("rabbitmqctl")
    made = False
    if ctl:
        made = subprocess.run([ctl, "add_vhost", vhost], capture_output=True).returncode == 0
        if made:
            subprocess.run(
                [ctl, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"], capture_output=True, check=True
            )
    try:
        yield f"amqp://guest:guest@{RABBIT_HOST}/{vhost}" if made else f"amqp://guest:guest@{RABBIT_HOST}/"
    finally:
        if made:
            subprocess.run([ctl, "delete_vhost", vhost], capture_output=True)


class Stack:
    """`ytcs run` in a temporary data folder, on free ports, on its own vhost."""

    def __init__(self, var: Path, amqp_uri: str, db_urls: dict[str, str] | None = None) -> None:
        self.var = var
        self.port = free_port()
        self.env = dict(os.environ)
        self.env.update(
            YTCS_VAR=str(var),
            YTCS_PORT=str(self.port),
            AMQP_URI=amqp_uri,
            FINANCE_METRICS_PORT=str(free_port()),
            CLAIMS_METRICS_PORT=str(free_port()),
            INVESTMENT_METRICS_PORT=str(free_port()),
            YTCS_WEB_WORKERS="2",
            YTCS_RPC_TIMEOUT="10",
            # Two idle connections an engine (peaks still open up to 10 more): with the default 10, one stack on
            # PostgreSQL held 72 after the security suite, and the tests running side by side share the server's 100.
            YTCS_DB_POOL_SIZE="2",
            PYTHONUNBUFFERED="1",
        )
        for service, url in (db_urls or {}).items():
            self.env[f"{service.upper()}_DB_URL"] = url
        self.proc: subprocess.Popen | None = None
        self.log = var / "stack.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ytcs(self, *args: str, stdin: str | None = None) -> str:
        out = subprocess.run(
            [str(ROOT / ".venv/bin/ytcs"), *args],
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if out.returncode != 0:
            raise RuntimeError(f"ytcs {' '.join(args)} failed: {out.stderr}")
        return out.stdout

    def token(self, role: str, unit: str | None = None) -> str:
        """An API token, made in this stack's gateway database by what `ytcs token create` calls, in this process:
        the command itself would spend 0.8 s importing for each of the suite's tokens (it is tested as a command
        in tests/e2e/test_foundation.py and tests/security/test_sessions.py)."""
        from sqlalchemy.orm import sessionmaker

        from services.common.db import make_engine
        from services.common.migrate import upgrade
        from services.gateway import accounts

        url = self.env.get("GATEWAY_DB_URL") or f"sqlite:///{self.var.resolve() / 'gateway.db'}"
        upgrade("gateway", url)
        engine = make_engine(url)
        try:
            with sessionmaker(engine)() as session:
                token = accounts.create_token(session, f"test-{role}-{unit or 'all'}", role, unit)
                session.commit()
        finally:
            engine.dispose()
        return token

    def start(self, timeout: float = 90) -> None:
        self.var.mkdir(parents=True, exist_ok=True)
        logf = open(self.log, "ab")  # noqa: SIM115 - lives as long as the process
        # A test process killed outright (a timeout's SIGKILL, a worker lost) never reaches stop(): the kernel then
        # sends `ytcs run` the SIGTERM it stops cleanly on, so no stack is left holding ports, a vhost and memory.
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "services.cli", "run"],
            env=self.env,
            stdout=logf,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
            preexec_fn=die_with_parent,  # noqa: PLW1509 - tests run on the main thread (xdist too)
        )
        self.wait_healthy(timeout)

    def wait_healthy(self, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"stack exited: {self.log.read_text()[-3000:]}")
            try:
                r = requests.get(self.url + "/healthz", timeout=5)
                last = r.text
                if r.status_code == 200:
                    return r.json()
            except requests.RequestException as exc:
                last = str(exc)
            time.sleep(0.5)
        raise RuntimeError(f"stack not healthy after {timeout}s: {last}\n{self.log.read_text()[-3000:]}")

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGINT)
        try:
            return self.proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait()
